/* libos/inet/proto.h — how the inet libOS is put together from per-protocol parts.
 *
 * The libOS (libos_inet.c) owns the stack instance and the PDPIX plumbing; each
 * transport (UDP in udp_ops.c, TCP in tcp_ops.c) supplies a table of socket
 * operations with the same shapes as struct mg_libos_ops. Every socket object the
 * libOS hands to the core starts with struct mg_inet_sock_hdr, so calls on a qd
 * dispatch to the protocol that created it. */
#ifndef MARGAY_LIBOS_INET_PROTO_H
#define MARGAY_LIBOS_INET_PROTO_H

#include <stdbool.h>

#include "core/runtime.h"
#include "inet/inet.h"

/* The inet libOS's state (the `state` argument of every op). */
struct mg_inet_libos {
    struct mg_rt *rt;
    struct mg_inet *inet;
    struct mg_netdev *dev;
    bool owns_dev;
    /* A poll-mode device (DPDK: nothing to sleep on, real time) is busy-polled, and
     * its stack reads call_clock: the runtime's clock read once when each libOS call
     * begins (libos_inet.c: call_begins), instead of at every timestamp, timer and
     * RTT sample the call takes. */
    bool poll_mode;
    struct mg_clock call_clock;
};

struct mg_inet_proto_ops {
    const char *name;
    /* Adds the transport layer to lib->inet (e.g. mg_tcp_layer_create). */
    int (*attach)(struct mg_inet_libos *lib);
    void (*detach)(struct mg_inet_libos *lib);
    int (*socket)(struct mg_inet_libos *lib, int domain, int type, int protocol, void **sock_out);
    int (*bind)(struct mg_inet_libos *lib, void *sock, const struct sockaddr *addr, socklen_t len);
    int (*listen)(struct mg_inet_libos *lib, void *sock, int backlog);
    int (*accept)(struct mg_inet_libos *lib, void *sock, struct mg_op *op);
    int (*connect)(struct mg_inet_libos *lib, void *sock, const struct sockaddr *addr, socklen_t len,
                   struct mg_op *op);
    int (*push)(struct mg_inet_libos *lib, void *sock, const demi_sgarray_t *sga, const struct sockaddr *addr,
                socklen_t len, struct mg_op *op);
    int (*pop)(struct mg_inet_libos *lib, void *sock, struct mg_op *op);
    int (*close)(struct mg_inet_libos *lib, void *sock);
    int (*setsockopt)(struct mg_inet_libos *lib, void *sock, int level, int name, const void *val, socklen_t len);
    int (*getsockopt)(struct mg_inet_libos *lib, void *sock, int level, int name, void *val, socklen_t *len);
    int (*getpeername)(struct mg_inet_libos *lib, void *sock, struct sockaddr *addr, socklen_t *len);
};

/* First member of every inet libOS socket object. */
struct mg_inet_sock_hdr {
    const struct mg_inet_proto_ops *proto;
};

extern const struct mg_inet_proto_ops mg_inet_udp_proto;                         /* udp_ops.c */
extern const struct mg_inet_proto_ops mg_inet_tcp_proto;                         /* tcp_ops.c */

/* IPv4 socket addresses to and from host-order (addr, port): what both transports need.
 * mg_inet_addr_of gives -EINVAL for NULL or short addresses, -EAFNOSUPPORT for others. */
struct sockaddr_in mg_inet_sockaddr(uint32_t addr, uint16_t port);
int mg_inet_addr_of(const struct sockaddr *sa, socklen_t len, uint32_t *addr, uint16_t *port);

/* Arguments for mg_rt_params.libos_arg when the caller supplies the device (tests,
 * the simulator); NULL means: open the device the configuration names. */
struct mg_inet_libos_args {
    struct mg_netdev *dev;
    bool owns_dev;
};

/* The inet libOS's table (libos_inet.c), for mg_rt_params.libos. */
extern const struct mg_libos_ops mg_libos_inet_ops;

#endif /* MARGAY_LIBOS_INET_PROTO_H */
