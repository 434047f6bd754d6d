/* core/pdpix_internal.h — helpers shared by the files that implement the PDPIX calls. */
#ifndef MARGAY_CORE_PDPIX_INTERNAL_H
#define MARGAY_CORE_PDPIX_INTERNAL_H

#include "core/rt_internal.h"

/* The current runtime, or NULL after logging "<fn> called before demi_init". */
struct mg_rt *mg_pdpix_runtime(const char *fn);

/* Internal results are 0 or -errno; PDPIX results are 0 or +errno. */
static inline int mg_pdpix_errno(int rc) {
    return rc < 0 ? -rc : rc;
}

#endif /* MARGAY_CORE_PDPIX_INTERNAL_H */
