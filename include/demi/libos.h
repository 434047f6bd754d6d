/* demi/libos.h — the PDPIX control and data calls.
 * The same calls run over every libOS (posix, inet, rdma); demi_init picks one from
 * configuration. Each returns 0 or a positive errno, as Demikernel's do. */
#ifndef DEMI_LIBOS_H_IS_INCLUDED
#define DEMI_LIBOS_H_IS_INCLUDED

#include <demi/cc.h>
#include <demi/types.h>
#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Starts margay: reads configuration and brings up the selected libOS. */
ATTR_NONNULL(1)
extern int demi_init(_In_ const struct demi_args *args);

/** Creates a socket queue (AF_INET/AF_INET6, SOCK_STREAM/SOCK_DGRAM). */
ATTR_NONNULL(1)
extern int demi_socket(_Out_ int *sockqd_out, _In_ int domain, _In_ int type, _In_ int protocol);

/** Marks a bound socket queue as accepting connections. */
extern int demi_listen(_In_ int sockqd, _In_ int backlog);

/** Gives a socket queue a local address. */
ATTR_NONNULL(2)
extern int demi_bind(_In_ int sockqd, _In_reads_bytes_(size) const struct sockaddr *addr, _In_ socklen_t size);

/** Starts accepting one connection; its result carries the new queue. */
ATTR_NONNULL(1)
extern int demi_accept(_Out_ demi_qtoken_t *qt_out, _In_ int sockqd);

/** Starts connecting a socket queue to a remote address. */
ATTR_NONNULL(1, 3)
extern int demi_connect(_Out_ demi_qtoken_t *qt_out, _In_ int sockqd,
                        _In_reads_bytes_(size) const struct sockaddr *addr, _In_ socklen_t size);

/** Closes a queue; its pending operations complete with DEMI_OPC_FAILED/ECANCELED. */
extern int demi_close(_In_ int qd);

/** Starts sending a scatter-gather array on a connected queue. */
ATTR_NONNULL(1, 3)
extern int demi_push(_Out_ demi_qtoken_t *qt_out, _In_ int qd, _In_ const demi_sgarray_t *sga);

/** Starts sending a scatter-gather array to an address (datagram sockets). */
ATTR_NONNULL(1, 3, 4)
extern int demi_pushto(_Out_ demi_qtoken_t *qt_out, _In_ int sockqd, _In_ const demi_sgarray_t *sga,
                       _In_reads_bytes_(size) const struct sockaddr *dest_addr, _In_ socklen_t size);

/** Starts receiving: completes with the data available (a zero-length array at end of stream). */
ATTR_NONNULL(1)
extern int demi_pop(_Out_ demi_qtoken_t *qt_out, _In_ int qd);

/** Sets a socket option, with setsockopt's arguments. */
ATTR_NONNULL(4)
extern int demi_setsockopt(_In_ int qd, _In_ int level, _In_ int optname,
                           _In_reads_bytes_(optlen) const void *optval, _In_ socklen_t optlen);

/** Reads a socket option, with getsockopt's arguments. */
ATTR_NONNULL(4, 5)
extern int demi_getsockopt(_In_ int qd, _In_ int level, _In_ int optname,
                           _Out_writes_to_(*optlen, *optlen) void *optval, _Inout_ socklen_t *optlen);

/** Returns the address of the connected peer. */
ATTR_NONNULL(2, 3)
extern int demi_getpeername(_In_ int qd, _Out_writes_to_(*addrlen, *addrlen) struct sockaddr *addr,
                            _Inout_ socklen_t *addrlen);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_LIBOS_H_IS_INCLUDED */
