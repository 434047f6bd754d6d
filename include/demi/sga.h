/* demi/sga.h — allocating and freeing scatter-gather arrays.
 * Buffers from demi_sgaalloc come from the active libOS's memory (on the inet libOS,
 * the device's buffer pool with room for headers in front), so a push of them can
 * reach the device without a copy. */
#ifndef DEMI_SGA_H_IS_INCLUDED
#define DEMI_SGA_H_IS_INCLUDED

#include <demi/cc.h>
#include <demi/types.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Allocates a scatter-gather array of one segment of `size` bytes. On failure the
 * result has sga_numsegs == 0 and sga_buf == NULL, and errno says why. */
extern demi_sgarray_t demi_sgaalloc(_In_ size_t size);

/** Frees an array from demi_sgaalloc or from a completed pop. Returns 0, or EINVAL
 * for NULL, a forged array or one already freed. */
ATTR_NONNULL(1)
extern int demi_sgafree(_In_ demi_sgarray_t *sga);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_SGA_H_IS_INCLUDED */
