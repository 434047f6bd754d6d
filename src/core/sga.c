/* core/sga.c — scatter-gather arrays: demi_sgaalloc, demi_sgafree, and the two
 * conversions a libOS uses between an application's array and a struct mg_buf.
 *
 * An array's sga_buf is the mg_buf behind it. Every array handed to the application
 * is registered in the runtime (sga_registry.c), so the conversion back never trusts
 * a pointer the application could have forged or freed. */
#include <demi/sga.h>

#include "core/log.h"
#include "core/pdpix_internal.h"
#include "core/rt_internal.h"

#include <errno.h>
#include <string.h>

/* Room in front of a heap array for the headers a stack prepends (Ethernet + IPv6 +
 * TCP with options fit well within it). */
#define SGA_HEADROOM 128u

static void fill_sga(struct mg_buf *buf, demi_sgarray_t *sga) {
    memset(sga, 0, sizeof(*sga));
    sga->sga_buf = buf;
    sga->sga_numsegs = 1;
    sga->sga_segs[0].sgaseg_buf = buf->data;
    sga->sga_segs[0].sgaseg_len = buf->len;
}

void mg_rt_sga_from_buf(struct mg_rt *rt, struct mg_buf *buf, demi_sgarray_t *sga) {
    fill_sga(buf, sga);
    if (mg_sga_registry_add(&rt->sgas, buf) < 0) {
        /* Without a registration the application could never free it: the array is
         * still delivered, and the failure is loud. */
        MG_ERROR("core", "cannot register a %u-byte array (out of memory); demi_sgafree will refuse it", buf->len);
    }
}

struct mg_buf *mg_rt_sga_to_buf(struct mg_rt *rt, const demi_sgarray_t *sga) {
    if (!rt || !sga || !mg_sga_registry_contains(&rt->sgas, sga->sga_buf))
        return NULL;
    struct mg_buf *buf = sga->sga_buf;
    /* The segment must still lie inside the buffer; an application that pointed it
     * elsewhere gets its data copied by the libOS instead. */
    const uint8_t *seg = sga->sga_segs[0].sgaseg_buf;
    uint64_t len = sga->sga_segs[0].sgaseg_len;
    if (sga->sga_numsegs != 1 || seg < buf->base || seg > buf->base + buf->cap ||
        len > (uint64_t)(buf->base + buf->cap - seg))
        return NULL;
    return buf;
}

static demi_sgarray_t failed_sga(int err) {
    demi_sgarray_t sga;
    memset(&sga, 0, sizeof(sga));
    errno = err;
    return sga;
}

static struct mg_buf *alloc_array_buf(struct mg_rt *rt, size_t size) {
    if (rt->libos->buf_alloc) {
        struct mg_buf *buf = rt->libos->buf_alloc(rt->libos_state, size);
        if (buf && mg_buf_tailroom(buf) + buf->len < size) {
            MG_ERROR("core", "libOS %s returned a buffer too small for %zu bytes (libOS bug)", rt->libos->name, size);
            mg_buf_free(buf);
            return NULL;
        }
        return buf;
    }
    return mg_buf_alloc_heap(size, SGA_HEADROOM);
}

demi_sgarray_t demi_sgaalloc(size_t size) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_sgaalloc");
    if (!rt)
        return failed_sga(EPERM);
    if (size == 0 || size > MG_SGA_MAX_SIZE)
        return failed_sga(EINVAL);
    struct mg_buf *buf = alloc_array_buf(rt, size);
    if (!buf)
        return failed_sga(ENOMEM);
    buf->len = (uint32_t)size;
    if (mg_sga_registry_add(&rt->sgas, buf) < 0) {
        mg_buf_free(buf);
        return failed_sga(ENOMEM);
    }
    demi_sgarray_t sga;
    fill_sga(buf, &sga);
    return sga;
}

int demi_sgafree(demi_sgarray_t *sga) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_sgafree");
    if (!rt)
        return EPERM;
    if (!sga)
        return EINVAL;
    void *buf = sga->sga_buf;
    if (mg_sga_registry_remove(&rt->sgas, buf) < 0)
        return EINVAL;
    mg_buf_free(buf);
    /* A second free of this same array now fails on the NULL, before any lookup. */
    memset(sga, 0, sizeof(*sga));
    return 0;
}
