/* core/pdpix_args.h — argument checks shared by the PDPIX calls, so every call refuses
 * the same bad input with the same errno before the libOS sees it. */
#ifndef MARGAY_CORE_PDPIX_ARGS_H
#define MARGAY_CORE_PDPIX_ARGS_H

#include <demi/types.h>
#include <sys/socket.h>

/* 0 or EINVAL: NULL, a length too short for the family it names, or longer than any
 * socket address. An unsupported family with a plausible length passes: the libOS
 * answers EAFNOSUPPORT. */
int mg_pdpix_check_sockaddr(const struct sockaddr *addr, socklen_t len);
/* 0 or EINVAL: NULL, sga_numsegs != 1, a NULL segment or an empty one. */
int mg_pdpix_check_push_sga(const demi_sgarray_t *sga);

#endif /* MARGAY_CORE_PDPIX_ARGS_H */
