/* libos/posix/posix.c — the posix libOS (alias catnap): PDPIX over kernel sockets.
 *
 * This file holds the libOS's lifetime (init/fini), the socket objects and the calls
 * that pass straight through to the kernel (bind, listen, socket options, peer name).
 * The asynchronous operations and the epoll-driven progress engine live in posix_io.c.
 *
 * Addresses in results: PDPIX results carry a struct sockaddr_in (accept's ares.addr,
 * pop's sga_addr). For an IPv4 peer it is exact. For an IPv6 peer it holds
 * sin_family = AF_INET6, the port, and in sin_addr the low 32 bits of the address when
 * it is IPv4-mapped (::ffff:a.b.c.d), zero otherwise; demi_getpeername returns the full
 * IPv6 address of a connected socket. */
#include "libos/posix/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

#define LOG_MODULE "posix"

int mg_posix_timeout_ms(uint64_t timeout_ns) {
    if (timeout_ns == UINT64_MAX)
        return -1;
    uint64_t ms = timeout_ns / MG_NS_PER_MS + (timeout_ns % MG_NS_PER_MS != 0);
    return ms > (uint64_t)INT_MAX ? INT_MAX : (int)ms;
}

void mg_posix_addr_to_in(const struct sockaddr_storage *ss, struct sockaddr_in *out) {
    memset(out, 0, sizeof(*out));
    if (ss->ss_family == AF_INET) {
        memcpy(out, ss, sizeof(*out));
        return;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        out->sin_family = AF_INET6;
        out->sin_port = in6->sin6_port;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            memcpy(&out->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
    }
}

struct mg_posix_sock *mg_posix_sock_new(struct mg_posix_state *st, int fd, int domain, int type) {
    struct mg_posix_sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fd = fd;
    s->domain = domain;
    s->type = type;
    /* Registered once for everything; edge-triggered, so no epoll_ctl per operation. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
    if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int err = errno;
        free(s);
        errno = err;
        return NULL;
    }
    s->all_next = st->all_head;
    if (st->all_head)
        st->all_head->all_prev = s;
    st->all_head = s;
    return s;
}

void mg_posix_sock_destroy(struct mg_posix_state *st, struct mg_posix_sock *s) {
    mg_posix_undirty(st, s);
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else
        st->all_head = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    (void)epoll_ctl(st->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    (void)close(s->fd);
    free(s);
}

static int posix_init(struct mg_rt *rt, void *arg, void **state_out) {
    (void)arg;
    struct mg_posix_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->rt = rt;
    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (st->epfd < 0) {
        int err = errno;
        MG_ERROR(LOG_MODULE, "epoll_create1 failed: %s", strerror(err));
        free(st);
        return -err;
    }
    *state_out = st;
    return 0;
}

static void posix_fini(void *state) {
    struct mg_posix_state *st = state;
    if (!st)
        return;
    while (st->all_head) {
        struct mg_posix_sock *s = st->all_head;
        mg_posix_cancel_all(st, s, ECANCELED);
        mg_posix_sock_destroy(st, s);
    }
    (void)close(st->epfd);
    free(st);
}

/* Checks domain/type/protocol against what this libOS supports; 0 or a negative errno. */
static int check_socket_args(int domain, int type, int protocol) {
    if (domain != AF_INET && domain != AF_INET6)
        return -EAFNOSUPPORT;
    if (type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP))
        return 0;
    if (type == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP))
        return 0;
    return -EPROTONOSUPPORT;
}

static int posix_socket(void *state, int domain, int type, int protocol, void **sock_out) {
    struct mg_posix_state *st = state;
    /* Flags the kernel accepts in type are ours to set; ignore the application's. */
    int base_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    int ret = check_socket_args(domain, base_type, protocol);
    if (ret != 0)
        return ret;
    int fd = socket(domain, base_type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return -errno;
    struct mg_posix_sock *s = mg_posix_sock_new(st, fd, domain, base_type);
    if (!s) {
        int err = errno ? errno : ENOMEM;
        close(fd);
        return -err;
    }
    *sock_out = s;
    return 0;
}

static int posix_bind(void *state, void *sock, const struct sockaddr *addr, socklen_t len) {
    (void)state;
    struct mg_posix_sock *s = sock;
    if (s->type == SOCK_STREAM) {
        /* Servers restart quickly; do not make them wait out TIME-WAIT. */
        int one = 1;
        (void)setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    return bind(s->fd, addr, len) == 0 ? 0 : -errno;
}

static int posix_listen(void *state, void *sock, int backlog) {
    (void)state;
    struct mg_posix_sock *s = sock;
    if (s->type != SOCK_STREAM)
        return -EOPNOTSUPP;
    if (listen(s->fd, backlog) != 0)
        return -errno;
    s->listening = true;
    return 0;
}

static int posix_close(void *state, void *sock) {
    struct mg_posix_state *st = state;
    struct mg_posix_sock *s = sock;
    mg_posix_cancel_all(st, s, ECANCELED);
    mg_posix_sock_destroy(st, s);
    return 0;
}

static int posix_setsockopt(void *state, void *sock, int level, int name, const void *val, socklen_t len) {
    (void)state;
    struct mg_posix_sock *s = sock;
    return setsockopt(s->fd, level, name, val, len) == 0 ? 0 : -errno;
}

static int posix_getsockopt(void *state, void *sock, int level, int name, void *val, socklen_t *len) {
    (void)state;
    struct mg_posix_sock *s = sock;
    return getsockopt(s->fd, level, name, val, len) == 0 ? 0 : -errno;
}

static int posix_getpeername(void *state, void *sock, struct sockaddr *addr, socklen_t *len) {
    (void)state;
    struct mg_posix_sock *s = sock;
    return getpeername(s->fd, addr, len) == 0 ? 0 : -errno;
}

const struct mg_posix_stats *mg_posix_stats(void *state) {
    struct mg_posix_state *st = state;
    return &st->stats;
}

const struct mg_libos_ops mg_libos_posix_ops = {
    .name = "posix",
    .init = posix_init,
    .fini = posix_fini,
    .socket = posix_socket,
    .bind = posix_bind,
    .listen = posix_listen,
    .accept = mg_posix_accept,
    .connect = mg_posix_connect,
    .push = mg_posix_push,
    .pop = mg_posix_pop,
    .close = posix_close,
    .setsockopt = posix_setsockopt,
    .getsockopt = posix_getsockopt,
    .getpeername = posix_getpeername,
    .poll = mg_posix_poll,
    .buf_alloc = NULL,
};
