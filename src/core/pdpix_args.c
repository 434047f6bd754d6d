/* core/pdpix_args.c — argument checks shared by the PDPIX calls (see pdpix_args.h). */
#include "core/pdpix_args.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>

int mg_pdpix_check_sockaddr(const struct sockaddr *addr, socklen_t len) {
    if (!addr)
        return EINVAL;
    if (len < (socklen_t)(offsetof(struct sockaddr, sa_family) + sizeof(sa_family_t)) ||
        len > (socklen_t)sizeof(struct sockaddr_storage))
        return EINVAL;
    switch (addr->sa_family) {
    case AF_INET:
        return len >= (socklen_t)sizeof(struct sockaddr_in) ? 0 : EINVAL;
    case AF_INET6:
        return len >= (socklen_t)sizeof(struct sockaddr_in6) ? 0 : EINVAL;
    case AF_UNSPEC:
        return EINVAL;
    default:
        return 0;
    }
}

int mg_pdpix_check_push_sga(const demi_sgarray_t *sga) {
    if (!sga || sga->sga_numsegs != 1)
        return EINVAL;
    if (!sga->sga_segs[0].sgaseg_buf || sga->sga_segs[0].sgaseg_len == 0)
        return EINVAL;
    return 0;
}
