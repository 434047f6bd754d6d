/* demi/wait.h — waiting for asynchronous operations to complete.
 * Waiting is where the libOS does its work (polls the device, runs timers), so an
 * application that waits is also an application that drives its stack. */
#ifndef DEMI_WAIT_H_IS_INCLUDED
#define DEMI_WAIT_H_IS_INCLUDED

#include <demi/cc.h>
#include <demi/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Declared here too so the prototypes below stay valid under strict -std=c99, where
 * <time.h> does not define struct timespec without a POSIX feature macro. */
struct timespec;

/** Waits for the operation named by `qt`. A NULL timeout waits forever; a zero
 * timeout polls once. Returns 0 and fills `qr_out` (the token is then consumed),
 * ETIMEDOUT, or EINVAL for a stale, consumed or forged token. */
ATTR_NONNULL(1)
extern int demi_wait(_Out_ demi_qresult_t *qr_out, _In_ demi_qtoken_t qt, _In_opt_ const struct timespec *timeout);

/** Waits for the first of `num_qts` operations; `ready_offset` receives its index. */
ATTR_NONNULL(1, 2, 3)
extern int demi_wait_any(_Out_ demi_qresult_t *qr_out, _Out_ int *ready_offset,
                         _In_reads_(num_qts) const demi_qtoken_t qts[], _In_ int num_qts,
                         _In_opt_ const struct timespec *timeout);

/** Collects up to `num_qrs` completed operations, in completion order, waiting until at
 * least one is ready or the timeout expires. `num_qrs_out` receives how many. */
ATTR_NONNULL(1, 3)
extern int demi_wait_next_n(_Out_writes_to_(num_qrs, *num_qrs_out) demi_qresult_t *qr_out, _In_ int num_qrs,
                            _Out_ int *num_qrs_out, _In_opt_ const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_WAIT_H_IS_INCLUDED */
