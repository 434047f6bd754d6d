/* libos/inet/libos_inet.c — the inet libOS: margay's own TCP/IP stack behind PDPIX.
 *
 * This file owns the stack instance and the device, and routes every PDPIX call on
 * a socket to the protocol that created it (struct mg_inet_sock_hdr): UDP
 * (udp_ops.c) or TCP (tcp_ops.c).
 * Polling runs the stack; when nothing is ready and the device has a file
 * descriptor it sleeps on it, bounded by the caller's timeout and the next timer.
 * A device that only knows how to be polled (DPDK) is spun on here, cheaply (see
 * spin_on_device), its stack reads the time once per libOS call (stack_clock), and
 * pushes leave at once (inet_push). A device on virtual time (the simulated link, a
 * capture replay) returns at once: whoever drives the virtual clock decides when
 * time passes. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "drivers/capture.h"
#include "drivers/netdev_open.h"
#include "libos/inet/proto.h"

/* Room kept in front of arrays too large for a device buffer. */
#define LARGE_ARRAY_HEADROOM 128

/* The transports this libOS offers, attached in this order and detached in reverse. */
static const struct mg_inet_proto_ops *const protocols[] = {&mg_inet_udp_proto, &mg_inet_tcp_proto};
#define PROTOCOL_COUNT (sizeof(protocols) / sizeof(protocols[0]))

static void detach_protocols(struct mg_inet_libos *lib, size_t attached) {
    while (attached > 0) {
        const struct mg_inet_proto_ops *p = protocols[--attached];
        if (p->detach)
            p->detach(lib);
    }
}

static void lib_free(struct mg_inet_libos *lib, size_t attached) {
    if (lib->inet) {
        detach_protocols(lib, attached);
        mg_inet_destroy(lib->inet, lib->owns_dev);
    } else if (lib->owns_dev) {
        mg_netdev_destroy(lib->dev);
    }
    free(lib);
}

/* Attaches every transport; on failure detaches those already attached. */
static int attach_protocols(struct mg_inet_libos *lib, size_t *attached) {
    for (*attached = 0; *attached < PROTOCOL_COUNT; (*attached)++) {
        int rc = protocols[*attached]->attach(lib);
        if (rc)
            return rc;
    }
    return 0;
}

/* Opens the device the configuration names (margay.netdev; see drivers/netdev_open.h). */
static int open_configured_device(const struct mg_config *cfg, struct mg_netdev **dev) {
    char err[320];
    int rc = mg_netdev_open(cfg, dev, err, sizeof(err));
    if (rc)
        MG_ERROR("inet", "%s", err);
    return rc;
}

/* With margay.fault set, the fault model stands between the device and the stack
 * (drivers/netdev_open.h); the capture tap, if any, goes outside it, so a capture
 * shows what the stack itself sent and received. */
static int wrap_faults(struct mg_inet_libos *lib, struct mg_rt *rt) {
    const struct mg_config *cfg = mg_rt_config(rt);
    if (!mg_config_fault_enabled(cfg))
        return 0;
    char err[320];
    int rc = mg_netdev_wrap_faults(cfg, mg_rt_clock(rt), mg_rand_u64(mg_rt_rand(rt)), !lib->owns_dev, &lib->dev, err,
                                   sizeof(err));
    if (rc) {
        MG_ERROR("inet", "%s", err);
        return rc;
    }
    lib->owns_dev = true; /* the wrapper is ours; it leaves a borrowed device alone */
    return 0;
}

/* With margay.capture (or DEMI_CAPTURE) set, every frame in and out of the device is
 * recorded to that pcapng file; otherwise the device is used bare, at no cost. */
static int wrap_capture(struct mg_inet_libos *lib, const struct mg_config *cfg, struct mg_clock *clock) {
    if (!cfg->capture_path[0])
        return 0;
    struct mg_capture_opts opts = {.path = cfg->capture_path, .borrow_inner = !lib->owns_dev};
    struct mg_netdev *wrapped = NULL;
    int rc = mg_capture_wrap(lib->dev, clock, &opts, &wrapped);
    if (rc) {
        MG_ERROR("inet", "cannot capture to %s: %s", cfg->capture_path, strerror(-rc));
        return rc;
    }
    lib->dev = wrapped;
    lib->owns_dev = true; /* the wrapper is ours; it leaves a borrowed device alone */
    return 0;
}

/* A device that can only be polled: nothing to sleep on, no virtual timeline. The
 * libOS busy-polls it (spin_on_device) and gives its stack per-call time. */
static bool poll_mode_device(const struct mg_netdev *dev) {
    return !dev->ops->wait_fd && !dev->ops->next_rx_ns;
}

/* The clock the stack reads. A clock read costs about 80 ns on a virtual machine
 * (kvm-clock), and one received segment and its answer used to read it a dozen
 * times (timestamps, RTT samples, timer deadlines, ARP ages). On a poll-mode device
 * every call into the libOS is short, so the stack gets the time the call began. */
static struct mg_clock *stack_clock(struct mg_inet_libos *lib) {
    struct mg_clock *rt_clock = mg_rt_clock(lib->rt);
    if (!lib->poll_mode)
        return rt_clock;
    mg_clock_init_manual(&lib->call_clock, mg_clock_now(rt_clock));
    return &lib->call_clock;
}

/* Every libOS call begins here: the stack's time moves to now (it never goes back). */
static inline void call_begins(struct mg_inet_libos *lib) {
    if (lib->poll_mode)
        mg_clock_set(&lib->call_clock, mg_clock_now(mg_rt_clock(lib->rt)));
}

static int inet_init(struct mg_rt *rt, void *arg, void **state_out) {
    const struct mg_inet_libos_args *args = arg;
    struct mg_inet_libos *lib = calloc(1, sizeof(*lib));
    if (!lib)
        return -ENOMEM;
    lib->rt = rt;
    int rc;
    if (args && args->dev) {
        lib->dev = args->dev;
        lib->owns_dev = args->owns_dev;
    } else {
        rc = open_configured_device(mg_rt_config(rt), &lib->dev);
        if (rc) {
            free(lib);
            return rc;
        }
        lib->owns_dev = true;
    }
    rc = wrap_faults(lib, rt);
    if (rc == 0)
        rc = wrap_capture(lib, mg_rt_config(rt), mg_rt_clock(rt));
    if (rc) {
        lib_free(lib, 0);
        return rc;
    }
    size_t attached = 0;
    lib->poll_mode = poll_mode_device(lib->dev);
    rc = mg_inet_create(mg_rt_config(rt), lib->dev, stack_clock(lib), mg_rand_u64(mg_rt_rand(rt)), &lib->inet);
    if (rc == 0)
        rc = attach_protocols(lib, &attached);
    if (rc) {
        lib_free(lib, attached);
        return rc;
    }
    *state_out = lib;
    return 0;
}

static void inet_fini(void *state) {
    if (state)
        lib_free(state, PROTOCOL_COUNT);
}

/* ---- addresses (shared by the transports) ---- */

struct sockaddr_in mg_inet_sockaddr(uint32_t addr, uint16_t port) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    sin.sin_port = htons(port);
    return sin;
}

int mg_inet_addr_of(const struct sockaddr *sa, socklen_t len, uint32_t *addr, uint16_t *port) {
    if (!sa || len < (socklen_t)sizeof(struct sockaddr_in))
        return -EINVAL;
    if (sa->sa_family != AF_INET)
        return -EAFNOSUPPORT;
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof(sin));
    *addr = ntohl(sin.sin_addr.s_addr);
    *port = ntohs(sin.sin_port);
    return 0;
}

/* ---- sockets: dispatch to the protocol ---- */

static const struct mg_inet_proto_ops *proto_of(void *sock) {
    return ((const struct mg_inet_sock_hdr *)sock)->proto;
}

static int inet_socket(void *state, int domain, int type, int protocol, void **sock_out) {
    struct mg_inet_libos *lib = state;
    call_begins(lib);
    if (domain != AF_INET)
        return -EAFNOSUPPORT;
    const struct mg_inet_proto_ops *p;
    switch (type) {
    case SOCK_DGRAM:
        if (protocol != 0 && protocol != IPPROTO_UDP)
            return -EPROTONOSUPPORT;
        p = &mg_inet_udp_proto;
        break;
    case SOCK_STREAM:
        if (protocol != 0 && protocol != IPPROTO_TCP)
            return -EPROTONOSUPPORT;
        p = &mg_inet_tcp_proto;
        break;
    default:
        return -EPROTONOSUPPORT;
    }
    return p->socket(lib, domain, type, protocol, sock_out);
}

static int inet_bind(void *state, void *sock, const struct sockaddr *addr, socklen_t len) {
    call_begins(state);
    const struct mg_inet_proto_ops *p = proto_of(sock);
    return p->bind ? p->bind(state, sock, addr, len) : -EOPNOTSUPP;
}

static int inet_listen(void *state, void *sock, int backlog) {
    call_begins(state);
    const struct mg_inet_proto_ops *p = proto_of(sock);
    return p->listen ? p->listen(state, sock, backlog) : -EOPNOTSUPP;
}

static int inet_accept(void *state, void *sock, struct mg_op *op) {
    call_begins(state);
    const struct mg_inet_proto_ops *p = proto_of(sock);
    return p->accept ? p->accept(state, sock, op) : -EOPNOTSUPP;
}

static int inet_connect(void *state, void *sock, const struct sockaddr *addr, socklen_t len, struct mg_op *op) {
    call_begins(state);
    const struct mg_inet_proto_ops *p = proto_of(sock);
    return p->connect ? p->connect(state, sock, addr, len, op) : -EOPNOTSUPP;
}

static int inet_push(void *state, void *sock, const demi_sgarray_t *sga, const struct sockaddr *addr, socklen_t len,
                     struct mg_op *op) {
    struct mg_inet_libos *lib = state;
    call_begins(lib);
    const struct mg_inet_proto_ops *p = proto_of(sock);
    int rc = p->push ? p->push(state, sock, sga, addr, len, op) : -EOPNOTSUPP;
    /* A push usually completes at once, so the caller's wait returns without polling
     * and the segments would sit in the transmit queue until the next poll. On a
     * poll-mode device they leave now: a request/response exchange saves a trip
     * through the caller's loop on every message; a large push is still one burst. */
    if (lib->poll_mode)
        mg_inet_flush(lib->inet);
    return rc;
}

static int inet_pop(void *state, void *sock, struct mg_op *op) {
    call_begins(state);
    const struct mg_inet_proto_ops *p = proto_of(sock);
    return p->pop ? p->pop(state, sock, op) : -EOPNOTSUPP;
}

static int inet_close(void *state, void *sock) {
    struct mg_inet_libos *lib = state;
    call_begins(lib);
    int rc = proto_of(sock)->close(state, sock);
    /* The FIN or RST that close queued leaves now: a program often exits right after
     * its last close, and a frame still queued for the next poll would die with it. */
    mg_inet_flush(lib->inet);
    return rc;
}

static int inet_setsockopt(void *state, void *sock, int level, int name, const void *val, socklen_t len) {
    call_begins(state);
    const struct mg_inet_proto_ops *p = proto_of(sock);
    return p->setsockopt ? p->setsockopt(state, sock, level, name, val, len) : -ENOPROTOOPT;
}

static int inet_getsockopt(void *state, void *sock, int level, int name, void *val, socklen_t *len) {
    const struct mg_inet_proto_ops *p = proto_of(sock);
    return p->getsockopt ? p->getsockopt(state, sock, level, name, val, len) : -ENOPROTOOPT;
}

static int inet_getpeername(void *state, void *sock, struct sockaddr *addr, socklen_t *len) {
    const struct mg_inet_proto_ops *p = proto_of(sock);
    return p->getpeername ? p->getpeername(state, sock, addr, len) : -ENOTCONN;
}

/* ---- polling and buffers ---- */

/* Sleeps on the device's descriptor until frames arrive, the next timer is due or
 * the caller's timeout passes, whichever is first. */
static void wait_for_device(struct mg_inet_libos *lib, int fd, uint64_t timeout_ns) {
    uint64_t now = mg_inet_now(lib->inet);
    uint64_t next = mg_inet_next_wakeup(lib->inet);
    uint64_t span = timeout_ns;
    if (next != UINT64_MAX)
        span = next > now ? (next - now < span ? next - now : span) : 0;
    if (span == 0)
        return;
    /* Sleep at most a minute at a time; the caller's wait loop comes back. */
    uint64_t ms = span == UINT64_MAX ? 60000 : (span + MG_NS_PER_MS - 1) / MG_NS_PER_MS;
    if (ms > 60000)
        ms = 60000;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    (void)poll(&pfd, 1, (int)ms);
}

/* Empty receive polls between two clock reads while spinning. An empty poll of a DPDK
 * queue costs a few tens of nanoseconds; a clock read costs more than that on a
 * virtual machine (about 80 ns with kvm-clock), and reading it on every round of the
 * caller's wait loop made it most of the time between a frame's arrival and its
 * processing. */
#define SPIN_POLLS_PER_CLOCK_READ 64
/* Longest spin before handing control back to the caller's wait loop: a time, and
 * a number of clock reads for a clock that does not move (a test's manual clock). */
#define SPIN_MAX_NS (1ull * MG_NS_PER_MS)
#define SPIN_MAX_CLOCK_READS 4096
#define SPIN_RX_BURST 32

/* The earliest of now + timeout, now + SPIN_MAX_NS and the next timer. */
static uint64_t spin_deadline(struct mg_inet_libos *lib, uint64_t now, uint64_t timeout_ns) {
    uint64_t span = timeout_ns < SPIN_MAX_NS ? timeout_ns : SPIN_MAX_NS;
    uint64_t until = now + span;
    uint64_t next = mg_inet_next_wakeup(lib->inet);
    return next < until ? next : until;
}

/* Busy-polls a poll-mode device (no descriptor to sleep on, real time) until frames
 * arrive, a timer is due or the caller's timeout passes: the device is looked at in
 * a tight loop and the clock only every SPIN_POLLS_PER_CLOCK_READ empty looks.
 * Frames the device could not take yet (its transmit ring was full) are offered
 * again on every look. Frames that arrive go through the stack at once, then a full
 * poll runs the timers and sends what the frames caused. */
static int spin_on_device(struct mg_inet_libos *lib, uint64_t timeout_ns) {
    uint64_t until = spin_deadline(lib, mg_inet_now(lib->inet), timeout_ns);
    struct mg_clock *rt_clock = mg_rt_clock(lib->rt);
    for (unsigned reads = 1;; reads++) {
        for (unsigned i = 0; i < SPIN_POLLS_PER_CLOCK_READ; i++) {
            if (lib->inet->txq_len)
                mg_inet_flush(lib->inet);
            struct mg_buf *rx[SPIN_RX_BURST];
            uint16_t n = mg_netdev_rx(lib->dev, rx, SPIN_RX_BURST);
            if (n == 0)
                continue;
            for (uint16_t k = 0; k < n; k++)
                mg_inet_input(lib->inet, rx[k]);
            return n + mg_inet_poll(lib->inet);
        }
        uint64_t now = mg_clock_now(rt_clock);
        mg_clock_set(&lib->call_clock, now); /* what arrives next is handled at this time */
        if (now >= until || reads == SPIN_MAX_CLOCK_READS)
            return mg_inet_poll(lib->inet);
    }
}

static int inet_poll(void *state, uint64_t timeout_ns) {
    struct mg_inet_libos *lib = state;
    call_begins(lib);
    int n = mg_inet_poll(lib->inet);
    if (n > 0 || timeout_ns == 0)
        return n;
    if (lib->poll_mode)
        return spin_on_device(lib, timeout_ns);
    const struct mg_netdev_ops *ops = lib->dev->ops;
    if (!ops->wait_fd)
        return n;
    int fd = ops->wait_fd(lib->dev);
    if (fd < 0)
        return n;
    wait_for_device(lib, fd, timeout_ns);
    return mg_inet_poll(lib->inet);
}

static struct mg_buf *inet_buf_alloc(void *state, size_t size) {
    struct mg_inet_libos *lib = state;
    struct mg_pool *pool = lib->dev->pool;
    /* Device buffers keep pushes zero copy; larger arrays come from the heap. */
    if (pool && size <= (size_t)(pool->data_room - pool->headroom)) {
        struct mg_buf *b = mg_buf_alloc(pool);
        if (b)
            return b;
    }
    return mg_buf_alloc_heap(size, LARGE_ARRAY_HEADROOM);
}

const struct mg_libos_ops mg_libos_inet_ops = {
    .name = "inet",
    .init = inet_init,
    .fini = inet_fini,
    .socket = inet_socket,
    .bind = inet_bind,
    .listen = inet_listen,
    .accept = inet_accept,
    .connect = inet_connect,
    .push = inet_push,
    .pop = inet_pop,
    .close = inet_close,
    .setsockopt = inet_setsockopt,
    .getsockopt = inet_getsockopt,
    .getpeername = inet_getpeername,
    .poll = inet_poll,
    .buf_alloc = inet_buf_alloc,
};
