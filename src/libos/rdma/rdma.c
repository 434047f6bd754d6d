/* libos/rdma/rdma.c — the rdma libOS (alias catmint): lifetime, the device and its
 * resources, configuration, socket objects and the calls that do not move data.
 *
 * Start-up opens one device and builds everything the datapath needs once: the
 * protection domain, the registered arena (so sgaalloc'd buffers are pushed without a
 * copy), the one completion queue all connections share (sized for max_conns
 * connections, so it can never overflow: a connection is refused rather than
 * over-committing it) and the connection table that names work requests. */
#include "libos/rdma/rdma.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"

#define LOG_MODULE "rdma"

/* ---- parameters ---- */

static int env_u32(const char *name, uint32_t min, uint32_t max, uint32_t *out, char *err, size_t errlen) {
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < min || n > max) {
        snprintf(err, errlen, "%s=%s: expected a whole number from %u to %u", name, v, min, max);
        return -EINVAL;
    }
    *out = (uint32_t)n;
    return 0;
}

int mg_rdma_params_load(struct mg_rdma_params *p, char *err, size_t errlen) {
    memset(p, 0, sizeof(*p));
    uint32_t memory_mb = MG_RDMA_DEFAULT_MEMORY_MB;
    p->recv_depth = MG_RDMA_DEFAULT_RECV_DEPTH;
    p->recv_buf_size = MG_RDMA_DEFAULT_RECV_BUF;
    p->send_depth = MG_RDMA_DEFAULT_SEND_DEPTH;
    uint32_t window = MG_RDMA_DEFAULT_RECV_WINDOW;
    p->max_conns = MG_RDMA_DEFAULT_MAX_CONNS;
    p->timeout_ms = MG_RDMA_DEFAULT_TIMEOUT_MS;
    const char *dev = getenv("DEMI_RDMA_DEVICE");
    if (dev) {
        if (strlen(dev) >= sizeof(p->device)) {
            snprintf(err, errlen, "DEMI_RDMA_DEVICE=%s: a device name is at most %zu characters", dev,
                     sizeof(p->device) - 1);
            return -EINVAL;
        }
        strcpy(p->device, dev);
    }
    int rc;
    if ((rc = env_u32("DEMI_RDMA_MEMORY_MB", 1, 1u << 20, &memory_mb, err, errlen)) ||
        (rc = env_u32("DEMI_RDMA_RECV_DEPTH", 2, MG_RDMA_MAX_CREDITS, &p->recv_depth, err, errlen)) ||
        (rc = env_u32("DEMI_RDMA_RECV_BUF", 1u << MG_RDMA_MEM_MIN_SHIFT, 1u << 24, &p->recv_buf_size, err,
                      errlen)) ||
        (rc = env_u32("DEMI_RDMA_RECV_WINDOW", 1, 1u << 30, &window, err, errlen)) ||
        (rc = env_u32("DEMI_RDMA_SEND_DEPTH", 2, 1u << 16, &p->send_depth, err, errlen)) ||
        (rc = env_u32("DEMI_RDMA_MAX_CONNECTIONS", 1, 1u << 20, &p->max_conns, err, errlen)) ||
        (rc = env_u32("DEMI_RDMA_TIMEOUT_MS", 1, 600000, &p->timeout_ms, err, errlen)))
        return rc;
    p->memory_bytes = (size_t)memory_mb << 20;
    p->recv_window = window;
    /* Receive buffers are whole arena blocks: round up to the class they come from. */
    uint32_t rb = 1u << MG_RDMA_MEM_MIN_SHIFT;
    while (rb < p->recv_buf_size)
        rb <<= 1;
    p->recv_buf_size = rb;
    return 0;
}

/* ---- op lists and the dirty list ---- */

void mg_rdma_oplist_append(struct mg_rdma_oplist *l, struct mg_op *op) {
    op->libos_next = NULL;
    op->libos_prev = l->tail;
    if (l->tail)
        l->tail->libos_next = op;
    else
        l->head = op;
    l->tail = op;
}

void mg_rdma_oplist_remove(struct mg_rdma_oplist *l, struct mg_op *op) {
    if (op->libos_prev)
        op->libos_prev->libos_next = op->libos_next;
    else
        l->head = op->libos_next;
    if (op->libos_next)
        op->libos_next->libos_prev = op->libos_prev;
    else
        l->tail = op->libos_prev;
    op->libos_next = op->libos_prev = NULL;
}

struct mg_op *mg_rdma_oplist_take(struct mg_rdma_oplist *l) {
    struct mg_op *op = l->head;
    if (op)
        mg_rdma_oplist_remove(l, op);
    return op;
}

void mg_rdma_mark_dirty(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    if (s->dirty)
        return;
    s->dirty = true;
    s->dirty_next = NULL;
    if (st->dirty_tail)
        st->dirty_tail->dirty_next = s;
    else
        st->dirty_head = s;
    st->dirty_tail = s;
}

static void undirty(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    if (!s->dirty)
        return;
    struct mg_rdma_sock *prev = NULL;
    for (struct mg_rdma_sock *it = st->dirty_head; it; prev = it, it = it->dirty_next) {
        if (it != s)
            continue;
        if (prev)
            prev->dirty_next = s->dirty_next;
        else
            st->dirty_head = s->dirty_next;
        if (st->dirty_tail == s)
            st->dirty_tail = prev;
        break;
    }
    s->dirty = false;
    s->dirty_next = NULL;
}

/* ---- sockets ---- */

struct mg_rdma_sock *mg_rdma_sock_new(struct mg_rdma_state *st, struct rdma_cm_id *id) {
    struct mg_rdma_sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->id = id;
    s->slot = UINT32_MAX;
    s->all_next = st->all_head;
    if (st->all_head)
        st->all_head->all_prev = s;
    st->all_head = s;
    return s;
}

static void free_conn_resources(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    if (s->recv_ring) {
        for (uint32_t i = 0; i < s->recv_posted; i++)
            mg_buf_free(s->recv_ring[(s->recv_head + i) % st->params.recv_depth]);
        free(s->recv_ring);
        s->recv_ring = NULL;
        s->recv_posted = 0;
    }
    if (s->send_ring) {
        for (uint32_t i = 0; i < s->send_inflight; i++)
            mg_buf_free(s->send_ring[(s->send_head + i) % st->params.send_depth].copy);
        free(s->send_ring);
        s->send_ring = NULL;
        s->send_inflight = 0;
    }
    mg_rdma_rxq_clear(&s->rxq);
    if (s->slot != UINT32_MAX) {
        /* A new generation: completions still queued for this connection are dropped. */
        st->conns[s->slot].sock = NULL;
        st->conns[s->slot].gen = (st->conns[s->slot].gen + 1) & 0xffffffu;
        st->conn_count--;
        s->slot = UINT32_MAX;
    }
}

void mg_rdma_sock_destroy(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    undirty(st, s);
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else
        st->all_head = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    if (s->id) {
        if (s->qp)
            rdma_destroy_qp(s->id);
        rdma_destroy_id(s->id);
    }
    s->qp = NULL;
    free_conn_resources(st, s);
    free(s);
}

int mg_rdma_check_socket_args(int domain, int type, int protocol) {
    if (domain != AF_INET)
        return -EAFNOSUPPORT;
    if (type != SOCK_STREAM)
        return -ESOCKTNOSUPPORT;
    if (protocol != 0 && protocol != IPPROTO_TCP)
        return -EPROTONOSUPPORT;
    return 0;
}

int mg_rdma_check_addr(const struct sockaddr *addr, socklen_t len) {
    if (!addr || len < (socklen_t)sizeof(struct sockaddr_in))
        return -EINVAL;
    if (addr->sa_family != AF_INET)
        return -EAFNOSUPPORT;
    return 0;
}

static int rdma_socket(void *state, int domain, int type, int protocol, void **sock_out) {
    struct mg_rdma_state *st = state;
    int rc = mg_rdma_check_socket_args(domain, type, protocol);
    if (rc)
        return rc;
    struct rdma_cm_id *id = NULL;
    if (rdma_create_id(st->ec, &id, NULL, RDMA_PS_TCP) != 0)
        return -errno;
    struct mg_rdma_sock *s = mg_rdma_sock_new(st, id);
    if (!s) {
        rdma_destroy_id(id);
        return -ENOMEM;
    }
    id->context = s;
    *sock_out = s;
    return 0;
}

/* An id bound to another device than ours cannot use our PD, CQ or arena. */
static int check_id_device(struct mg_rdma_state *st, struct rdma_cm_id *id, const char *what) {
    if (!id->verbs || id->verbs == st->ctx)
        return 0;
    MG_WARN(LOG_MODULE, "%s is on RDMA device %s, but margay opened %s (set DEMI_RDMA_DEVICE or the local address)",
            what, ibv_get_device_name(id->verbs->device), ibv_get_device_name(st->ctx->device));
    return -EADDRNOTAVAIL;
}

static int rdma_bind(void *state, void *sock, const struct sockaddr *addr, socklen_t len) {
    struct mg_rdma_state *st = state;
    struct mg_rdma_sock *s = sock;
    int rc = mg_rdma_check_addr(addr, len);
    if (rc)
        return rc;
    if (s->bound || s->state != MG_RDMA_SOCK_NEW)
        return -EINVAL;
    struct sockaddr_in sin;
    memcpy(&sin, addr, sizeof(sin));
    if (rdma_bind_addr(s->id, (struct sockaddr *)&sin) != 0) {
        int err = errno;
        /* rdma_cm says ENODEV for an address no RDMA device has. */
        return err == ENODEV ? -EADDRNOTAVAIL : -err;
    }
    if ((rc = check_id_device(st, s->id, "the bound address")))
        return rc;
    s->bound = true;
    memcpy(&s->local, rdma_get_local_addr(s->id), sizeof(s->local));
    return 0;
}

static int rdma_listen_op(void *state, void *sock, int backlog) {
    struct mg_rdma_state *st = state;
    struct mg_rdma_sock *s = sock;
    if (s->state != MG_RDMA_SOCK_NEW || !s->bound)
        return s->state == MG_RDMA_SOCK_LISTENING ? 0 : -EDESTADDRREQ;
    /* Connection requests beyond the backlog are refused (an RDMA connect is not
     * retried like a TCP SYN), so the backlog is at least the connection limit. */
    if (backlog <= 0 || (uint32_t)backlog < st->params.max_conns)
        backlog = (int)st->params.max_conns;
    if (rdma_listen(s->id, backlog) != 0)
        return -errno;
    s->backlog = (uint32_t)backlog;
    s->state = MG_RDMA_SOCK_LISTENING;
    return 0;
}

static int rdma_accept_op(void *state, void *sock, struct mg_op *op) {
    struct mg_rdma_state *st = state;
    struct mg_rdma_sock *s = sock;
    if (s->state != MG_RDMA_SOCK_LISTENING)
        return -EINVAL;
    mg_rdma_oplist_append(&s->accepts, op);
    mg_rdma_mark_dirty(st, s);
    return 0;
}

static int rdma_connect_op(void *state, void *sock, const struct sockaddr *addr, socklen_t len, struct mg_op *op) {
    struct mg_rdma_state *st = state;
    struct mg_rdma_sock *s = sock;
    int rc = mg_rdma_check_addr(addr, len);
    if (rc)
        return rc;
    if (s->state == MG_RDMA_SOCK_RESOLVING)
        return -EALREADY;
    if (s->state != MG_RDMA_SOCK_NEW)
        return s->state == MG_RDMA_SOCK_LISTENING ? -EOPNOTSUPP : -EISCONN;
    memcpy(&s->peer, addr, sizeof(s->peer));
    struct sockaddr *src = s->bound ? (struct sockaddr *)&s->local : NULL;
    if (!src && st->rt && mg_rt_config(st->rt)->local_ipv4_addr) {
        /* Resolve from the configured local address, so the route uses our device. */
        memset(&s->local, 0, sizeof(s->local));
        s->local.sin_family = AF_INET;
        s->local.sin_addr.s_addr = htonl(mg_rt_config(st->rt)->local_ipv4_addr);
        src = (struct sockaddr *)&s->local;
    }
    if (rdma_resolve_addr(s->id, src, (struct sockaddr *)&s->peer, (int)st->params.timeout_ms) != 0)
        return -errno;
    s->state = MG_RDMA_SOCK_RESOLVING;
    s->connect_op = op;
    return 0;
}

static int rdma_close(void *state, void *sock) {
    struct mg_rdma_state *st = state;
    struct mg_rdma_sock *s = sock;
    struct mg_op *op;
    while ((op = mg_rdma_oplist_take(&s->accepts)))
        mg_op_fail(st->rt, op, ECANCELED);
    if (s->connect_op) {
        mg_op_fail(st->rt, s->connect_op, ECANCELED);
        s->connect_op = NULL;
    }
    mg_rdma_fail_data_ops(st, s, ECANCELED);
    if (s->state == MG_RDMA_SOCK_LISTENING) {
        /* Connections the application never accepted go with their listener. */
        struct mg_rdma_sock *it = st->all_head;
        while (it) {
            struct mg_rdma_sock *next = it->all_next;
            if (it->listener == s) {
                if (it->state == MG_RDMA_SOCK_CONNECTED)
                    rdma_disconnect(it->id);
                mg_rdma_sock_destroy(st, it);
            }
            it = next;
        }
    } else if (s->state == MG_RDMA_SOCK_CONNECTED || s->state == MG_RDMA_SOCK_ACCEPTING ||
               (s->state == MG_RDMA_SOCK_DEAD && s->qp)) {
        /* Tells the peer now (DREQ); the QP's unfinished work is flushed and dropped. */
        rdma_disconnect(s->id);
    }
    mg_rdma_sock_destroy(st, s);
    return 0;
}

static int rdma_setsockopt(void *state, void *sock, int level, int name, const void *val, socklen_t len) {
    (void)state;
    (void)sock;
    (void)val;
    if (len < (socklen_t)sizeof(int))
        return -EINVAL;
    /* Accepted for source compatibility with TCP programs; RDMA has nothing to tune. */
    if ((level == SOL_SOCKET && (name == SO_REUSEADDR || name == SO_KEEPALIVE || name == SO_REUSEPORT)) ||
        (level == IPPROTO_TCP && name == 1 /* TCP_NODELAY */))
        return 0;
    return -ENOPROTOOPT;
}

static int rdma_getsockopt(void *state, void *sock, int level, int name, void *val, socklen_t *len) {
    (void)state;
    (void)sock;
    (void)level;
    (void)name;
    (void)val;
    (void)len;
    return -ENOPROTOOPT;
}

static int rdma_getpeername(void *state, void *sock, struct sockaddr *addr, socklen_t *len) {
    (void)state;
    struct mg_rdma_sock *s = sock;
    if (s->state != MG_RDMA_SOCK_CONNECTED && !(s->state == MG_RDMA_SOCK_DEAD && s->peer.sin_family))
        return -ENOTCONN;
    socklen_t n = *len < (socklen_t)sizeof(s->peer) ? *len : (socklen_t)sizeof(s->peer);
    memcpy(addr, &s->peer, n);
    *len = sizeof(s->peer);
    return 0;
}

static struct mg_buf *rdma_buf_alloc(void *state, size_t size) {
    struct mg_rdma_state *st = state;
    struct mg_buf *b = mg_rdma_mem_alloc(st->mem, size);
    if (b)
        return b;
    /* The arena is full (or the size beyond its classes): an unregistered buffer still
     * works, at the price of a copy when it is pushed (counted in tx_copies). */
    return size <= MG_SGA_MAX_SIZE ? mg_buf_alloc_heap(size, 0) : NULL;
}

/* ---- the device ---- */

static int set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -errno;
    return 0;
}

static void list_devices(struct ibv_context **list, int n, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", ibv_get_device_name(list[i]->device));
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Picks the device: by name, else the one holding the configured local address, else
 * the first one rdma_cm knows. */
static int open_device(struct mg_rdma_state *st) {
    int n = 0;
    struct ibv_context **list = rdma_get_devices(&n);
    if (!list || n == 0) {
        if (list)
            rdma_free_devices(list);
        MG_ERROR(LOG_MODULE, "no RDMA device found; load a driver (for soft-RoCE: modprobe rdma_rxe && "
                             "rdma link add rxe0 type rxe netdev <interface>); see doc/rdma.md");
        return -ENODEV;
    }
    char names[256];
    list_devices(list, n, names, sizeof(names));
    int rc = 0;
    uint32_t local = st->rt ? mg_rt_config(st->rt)->local_ipv4_addr : 0;
    if (st->params.device[0]) {
        for (int i = 0; i < n && !st->ctx; i++)
            if (strcmp(ibv_get_device_name(list[i]->device), st->params.device) == 0)
                st->ctx = list[i];
        if (!st->ctx) {
            MG_ERROR(LOG_MODULE, "DEMI_RDMA_DEVICE=%s: no such RDMA device (found: %s)", st->params.device, names);
            rc = -ENODEV;
        }
    } else if (local) {
        struct rdma_cm_id *id = NULL;
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(local)};
        if (rdma_create_id(st->ec, &id, NULL, RDMA_PS_TCP) != 0) {
            rc = -errno;
        } else {
            if (rdma_bind_addr(id, (struct sockaddr *)&sin) == 0 && id->verbs)
                st->ctx = id->verbs;
            rdma_destroy_id(id);
        }
        if (!st->ctx && !rc) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
            MG_ERROR(LOG_MODULE, "local address %s (demikernel.local_ipv4_addr) is on no RDMA device (found: %s)", a,
                     names);
            rc = -EADDRNOTAVAIL;
        }
    } else {
        st->ctx = list[0];
    }
    rdma_free_devices(list);
    if (!rc)
        MG_INFO(LOG_MODULE, "using RDMA device %s", ibv_get_device_name(st->ctx->device));
    return rc;
}

/* PD, completion channel, CQ, arena and its registration, connection table. */
static int open_resources(struct mg_rdma_state *st) {
    struct mg_rdma_params *p = &st->params;
    struct ibv_device_attr attr;
    if (ibv_query_device(st->ctx, &attr) != 0)
        return -errno;
    if (p->recv_depth > (uint32_t)attr.max_qp_wr || p->send_depth > (uint32_t)attr.max_qp_wr) {
        MG_ERROR(LOG_MODULE, "receive depth %u / send depth %u exceed the device's %d work requests per queue",
                 p->recv_depth, p->send_depth, attr.max_qp_wr);
        return -EINVAL;
    }
    uint64_t per_conn = (uint64_t)p->recv_depth + p->send_depth;
    uint64_t want = per_conn * p->max_conns;
    if (want > (uint64_t)attr.max_cqe) {
        p->max_conns = (uint32_t)((uint64_t)attr.max_cqe / per_conn);
        if (p->max_conns == 0)
            return -EINVAL;
        MG_INFO(LOG_MODULE, "the device's CQ holds %d entries: at most %u connections", attr.max_cqe, p->max_conns);
        want = per_conn * p->max_conns;
    }
    if (!(st->pd = ibv_alloc_pd(st->ctx)))
        return -(errno ? errno : ENOMEM);
    if (!(st->comp = ibv_create_comp_channel(st->ctx)))
        return -(errno ? errno : ENOMEM);
    int rc = set_nonblock(st->comp->fd);
    if (rc)
        return rc;
    if (!(st->cq = ibv_create_cq(st->ctx, (int)want, st, st->comp, 0)))
        return -(errno ? errno : ENOMEM);
    if (!(st->mem = mg_rdma_mem_create(p->memory_bytes)))
        return -ENOMEM;
    st->mr = ibv_reg_mr(st->pd, mg_rdma_mem_base(st->mem), mg_rdma_mem_size(st->mem), IBV_ACCESS_LOCAL_WRITE);
    if (!st->mr) {
        int err = errno ? errno : ENOMEM;
        MG_ERROR(LOG_MODULE, "registering %zu MiB failed (%s): raise the locked-memory limit (ulimit -l) or lower "
                 "DEMI_RDMA_MEMORY_MB", p->memory_bytes >> 20, strerror(err));
        return -err;
    }
    if (!(st->conns = calloc(p->max_conns, sizeof(*st->conns))))
        return -ENOMEM;
    return 0;
}

static void close_resources(struct mg_rdma_state *st) {
    free(st->conns);
    if (st->mr)
        ibv_dereg_mr(st->mr);
    mg_rdma_mem_destroy(st->mem);
    if (st->cq)
        ibv_destroy_cq(st->cq);
    if (st->comp)
        ibv_destroy_comp_channel(st->comp);
    if (st->pd)
        ibv_dealloc_pd(st->pd);
    if (st->ec)
        rdma_destroy_event_channel(st->ec);
}

static void rdma_fini(void *state) {
    struct mg_rdma_state *st = state;
    if (!st)
        return;
    while (st->all_head) {
        struct mg_rdma_sock *s = st->all_head;
        struct mg_op *op;
        while ((op = mg_rdma_oplist_take(&s->accepts)))
            mg_op_fail(st->rt, op, ECANCELED);
        if (s->connect_op)
            mg_op_fail(st->rt, s->connect_op, ECANCELED);
        s->connect_op = NULL;
        mg_rdma_fail_data_ops(st, s, ECANCELED);
        if (s->state == MG_RDMA_SOCK_CONNECTED)
            rdma_disconnect(s->id);
        mg_rdma_sock_destroy(st, s);
    }
    close_resources(st);
    free(st);
}

static int rdma_init(struct mg_rt *rt, void *arg, void **state_out) {
    (void)arg;
    struct mg_rdma_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->rt = rt;
    char err[256];
    int rc = mg_rdma_params_load(&st->params, err, sizeof(err));
    if (rc) {
        MG_ERROR(LOG_MODULE, "%s", err);
        free(st);
        return rc;
    }
    st->ec = rdma_create_event_channel();
    if (!st->ec) {
        rc = -(errno ? errno : ENODEV);
        MG_ERROR(LOG_MODULE, "cannot open the rdma_cm event channel (%s): is rdma_ucm loaded and "
                 "/dev/infiniband/rdma_cm present? See doc/rdma.md", strerror(-rc));
        free(st);
        return rc == -ENOENT ? -ENODEV : rc;
    }
    if ((rc = set_nonblock(st->ec->fd)) || (rc = open_device(st)) || (rc = open_resources(st))) {
        close_resources(st);
        free(st);
        return rc;
    }
    *state_out = st;
    return 0;
}

const struct mg_rdma_stats *mg_rdma_stats(void *state) { return &((struct mg_rdma_state *)state)->stats; }

const struct mg_libos_ops mg_libos_rdma_ops = {
    .name = "rdma",
    .init = rdma_init,
    .fini = rdma_fini,
    .socket = rdma_socket,
    .bind = rdma_bind,
    .listen = rdma_listen_op,
    .accept = rdma_accept_op,
    .connect = rdma_connect_op,
    .push = mg_rdma_push,
    .pop = mg_rdma_pop,
    .close = rdma_close,
    .setsockopt = rdma_setsockopt,
    .getsockopt = rdma_getsockopt,
    .getpeername = rdma_getpeername,
    .poll = mg_rdma_poll,
    .buf_alloc = rdma_buf_alloc,
};
