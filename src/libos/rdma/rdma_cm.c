/* libos/rdma/rdma_cm.c — connection management: the rdma_cm events behind demi_connect
 * (address resolved, route resolved, connect sent, established) and demi_accept
 * (connect request, accept sent, established), and the ends of connections
 * (disconnect, reject, unreachable). The event channel is non-blocking; poll drains
 * it. Every event is acknowledged before its id can be destroyed (rdma_destroy_id
 * waits for acknowledgements). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "libos/rdma/rdma.h"

#define LOG_MODULE "rdma"

/* Retries of the transport (lost packets); RNR retries are never needed: credits
 * guarantee a posted receive for every send, so an RNR NAK is a bug and fails loudly. */
#define TRANSPORT_RETRIES 7
#define RNR_RETRIES 0

static void fill_conn_param(struct mg_rdma_state *st, struct rdma_conn_param *cp, uint8_t *hello_buf) {
    struct mg_rdma_hello h = {.recv_depth = (uint16_t)st->params.recv_depth,
                              .recv_buf_size = st->params.recv_buf_size};
    mg_rdma_hello_encode(&h, hello_buf);
    memset(cp, 0, sizeof(*cp));
    cp->private_data = hello_buf;
    cp->private_data_len = MG_RDMA_HELLO_LEN;
    cp->retry_count = TRANSPORT_RETRIES;
    cp->rnr_retry_count = RNR_RETRIES;
}

int mg_rdma_conn_setup(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    const struct mg_rdma_params *p = &st->params;
    if (st->conn_count >= p->max_conns) {
        MG_WARN(LOG_MODULE, "connection refused: %u connections open (DEMI_RDMA_MAX_CONNECTIONS)", st->conn_count);
        return -ENOBUFS;
    }
    uint32_t slot = 0;
    while (st->conns[slot].sock)
        slot++;
    s->recv_ring = calloc(p->recv_depth, sizeof(*s->recv_ring));
    s->send_ring = calloc(p->send_depth, sizeof(*s->send_ring));
    if (!s->recv_ring || !s->send_ring)
        return -ENOMEM;
    struct ibv_qp_init_attr qa = {
        .send_cq = st->cq,
        .recv_cq = st->cq,
        .cap = {.max_send_wr = p->send_depth, .max_recv_wr = p->recv_depth, .max_send_sge = 1, .max_recv_sge = 1},
        .qp_type = IBV_QPT_RC,
        .sq_sig_all = 1,
    };
    if (rdma_create_qp(s->id, st->pd, &qa) != 0)
        return -errno;
    s->qp = s->id->qp;
    s->slot = slot;
    s->gen = st->conns[slot].gen;
    st->conns[slot].sock = s;
    st->conn_count++;
    mg_rdma_flow_init(&s->flow, p->recv_depth, 0);
    /* Every receive is posted before the peer can send: its initial credits. */
    for (uint32_t i = 0; i < p->recv_depth; i++) {
        int rc = mg_rdma_post_recv(st, s, NULL);
        if (rc) {
            MG_WARN(LOG_MODULE, "cannot post the receives of a new connection (%s): registered memory is short "
                    "(DEMI_RDMA_MEMORY_MB)", strerror(-rc));
            return rc == -ENOMEM ? -ENOBUFS : rc;
        }
    }
    return 0;
}

static int op_errno(const struct mg_rdma_sock *s) { return s->err ? s->err : ECONNRESET; }

void mg_rdma_conn_fail(struct mg_rdma_state *st, struct mg_rdma_sock *s, int err) {
    if (s->state == MG_RDMA_SOCK_DEAD) {
        if (!s->err && err)
            s->err = err; /* an error after an orderly end still fails later operations */
        return;
    }
    bool was_up = s->state == MG_RDMA_SOCK_CONNECTED || s->state == MG_RDMA_SOCK_ACCEPTING;
    s->state = MG_RDMA_SOCK_DEAD;
    if (err)
        s->err = err;
    else
        s->peer_closed = true;
    if (s->connect_op) {
        mg_op_fail(st->rt, s->connect_op, op_errno(s));
        s->connect_op = NULL;
    }
    /* Completes our half of the disconnect (or starts it, on an error). */
    if (was_up)
        rdma_disconnect(s->id);
    mg_rdma_mark_dirty(st, s);
}

static void unlink_ready(struct mg_rdma_sock *l, struct mg_rdma_sock *s) {
    struct mg_rdma_sock *prev = NULL;
    for (struct mg_rdma_sock *it = l->ready_head; it; prev = it, it = it->ready_next) {
        if (it != s)
            continue;
        if (prev)
            prev->ready_next = s->ready_next;
        else
            l->ready_head = s->ready_next;
        if (l->ready_tail == s)
            l->ready_tail = prev;
        l->ready_count--;
        return;
    }
}

/* A connection request on listener l. Returns true when the new id must be destroyed
 * (after the event is acknowledged) because the request was refused. */
static bool on_connect_request(struct mg_rdma_state *st, struct mg_rdma_sock *l, struct rdma_cm_id *id,
                               const void *pdata, size_t plen) {
    struct mg_rdma_hello hello;
    const char *why = NULL;
    if (!l || l->state != MG_RDMA_SOCK_LISTENING)
        why = "no listener";
    else if (l->ready_count + l->pending_count >= l->backlog)
        why = "backlog full";
    else if (mg_rdma_hello_decode(pdata, plen, &hello) != 0)
        why = "not a margay peer (bad handshake data)";
    else if (id->verbs != st->ctx)
        why = "request arrived on another device";
    struct mg_rdma_sock *s = NULL;
    if (!why && !(s = mg_rdma_sock_new(st, id)))
        why = "out of memory";
    if (s) {
        id->context = s;
        s->listener = l;
        s->state = MG_RDMA_SOCK_ACCEPTING;
        memcpy(&s->peer, rdma_get_peer_addr(id), sizeof(s->peer));
        memcpy(&s->local, rdma_get_local_addr(id), sizeof(s->local));
        int rc = mg_rdma_conn_setup(st, s);
        if (!rc) {
            mg_rdma_flow_set_peer(&s->flow, hello.recv_depth);
            s->max_msg = hello.recv_buf_size;
            uint8_t hb[MG_RDMA_HELLO_LEN];
            struct rdma_conn_param cp;
            fill_conn_param(st, &cp, hb);
            if (rdma_accept(id, &cp) != 0)
                rc = -errno;
        }
        if (!rc) {
            l->pending_count++;
            return false;
        }
        why = strerror(-rc);
        if (s->qp)
            rdma_destroy_qp(id);
        s->qp = NULL;
        s->id = NULL; /* destroyed by the caller after the ack */
        mg_rdma_sock_destroy(st, s);
    }
    st->stats.rejected++;
    MG_INFO(LOG_MODULE, "connection request refused: %s", why);
    rdma_reject(id, NULL, 0);
    return true;
}

static void on_established(struct mg_rdma_state *st, struct mg_rdma_sock *s, const void *pdata, size_t plen) {
    if (s->state == MG_RDMA_SOCK_RESOLVING) {
        struct mg_rdma_hello hello;
        if (mg_rdma_hello_decode(pdata, plen, &hello) != 0) {
            st->stats.proto_errors++;
            MG_WARN(LOG_MODULE, "the peer's accept carried no margay handshake: closing");
            s->state = MG_RDMA_SOCK_CONNECTED;
            mg_rdma_conn_fail(st, s, EPROTO);
            return;
        }
        mg_rdma_flow_set_peer(&s->flow, hello.recv_depth);
        s->max_msg = hello.recv_buf_size;
        memcpy(&s->local, rdma_get_local_addr(s->id), sizeof(s->local));
        s->state = MG_RDMA_SOCK_CONNECTED;
        if (s->connect_op) {
            mg_op_complete_connect(st->rt, s->connect_op);
            s->connect_op = NULL;
        }
        mg_rdma_mark_dirty(st, s);
    } else if (s->state == MG_RDMA_SOCK_ACCEPTING && s->listener) {
        struct mg_rdma_sock *l = s->listener;
        s->state = MG_RDMA_SOCK_CONNECTED;
        l->pending_count--;
        s->ready_next = NULL;
        if (l->ready_tail)
            l->ready_tail->ready_next = s;
        else
            l->ready_head = s;
        l->ready_tail = s;
        l->ready_count++;
        mg_rdma_mark_dirty(st, l);
    }
}

/* The active side's steps before ESTABLISHED. */
static void on_addr_resolved(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    if (s->id->verbs != st->ctx) {
        MG_WARN(LOG_MODULE, "the route to the peer leaves through RDMA device %s, not %s",
                s->id->verbs ? ibv_get_device_name(s->id->verbs->device) : "(none)",
                ibv_get_device_name(st->ctx->device));
        mg_rdma_conn_fail(st, s, EADDRNOTAVAIL);
        return;
    }
    if (rdma_resolve_route(s->id, (int)st->params.timeout_ms) != 0)
        mg_rdma_conn_fail(st, s, errno);
}

static void on_route_resolved(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    int rc = mg_rdma_conn_setup(st, s);
    if (!rc) {
        uint8_t hb[MG_RDMA_HELLO_LEN];
        struct rdma_conn_param cp;
        fill_conn_param(st, &cp, hb);
        if (rdma_connect(s->id, &cp) != 0)
            rc = -errno;
    }
    if (rc)
        mg_rdma_conn_fail(st, s, -rc);
}

/* A passive connection that failed before the application accepted it goes away. */
static bool drop_unaccepted(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    struct mg_rdma_sock *l = s->listener;
    if (!l)
        return false;
    if (s->state == MG_RDMA_SOCK_ACCEPTING)
        l->pending_count--;
    else
        unlink_ready(l, s);
    mg_rdma_sock_destroy(st, s);
    return true;
}

static int event_errno(enum rdma_cm_event_type type) {
    switch (type) {
    case RDMA_CM_EVENT_ADDR_ERROR:
        return EHOSTUNREACH;
    case RDMA_CM_EVENT_ROUTE_ERROR:
        return ENETUNREACH;
    case RDMA_CM_EVENT_UNREACHABLE:
        return ETIMEDOUT;
    case RDMA_CM_EVENT_REJECTED:
    case RDMA_CM_EVENT_CONNECT_ERROR:
        return ECONNREFUSED;
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
        return ENODEV;
    default:
        return ECONNRESET;
    }
}

static void handle_event(struct mg_rdma_state *st, struct rdma_cm_event *ev) {
    enum rdma_cm_event_type type = ev->event;
    struct rdma_cm_id *id = ev->id;
    int status = ev->status;
    uint8_t pdata[MG_RDMA_HELLO_LEN];
    size_t plen = 0;
    if (ev->param.conn.private_data && ev->param.conn.private_data_len >= MG_RDMA_HELLO_LEN) {
        plen = MG_RDMA_HELLO_LEN;
        memcpy(pdata, ev->param.conn.private_data, plen);
    }
    if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
        bool refuse = on_connect_request(st, ev->listen_id ? ev->listen_id->context : NULL, id, pdata, plen);
        rdma_ack_cm_event(ev);
        if (refuse)
            rdma_destroy_id(id);
        return;
    }
    rdma_ack_cm_event(ev);
    struct mg_rdma_sock *s = id->context;
    if (!s)
        return;
    MG_DEBUG(LOG_MODULE, "cm event %s on slot %u", rdma_event_str(type), s->slot);
    switch (type) {
    case RDMA_CM_EVENT_ADDR_RESOLVED:
        on_addr_resolved(st, s);
        break;
    case RDMA_CM_EVENT_ROUTE_RESOLVED:
        on_route_resolved(st, s);
        break;
    case RDMA_CM_EVENT_ESTABLISHED:
        on_established(st, s, pdata, plen);
        break;
    case RDMA_CM_EVENT_DISCONNECTED:
        if (s->state == MG_RDMA_SOCK_ACCEPTING && drop_unaccepted(st, s))
            break;
        mg_rdma_conn_fail(st, s, 0);
        break;
    case RDMA_CM_EVENT_ADDR_ERROR:
    case RDMA_CM_EVENT_ROUTE_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_REJECTED:
    case RDMA_CM_EVENT_CONNECT_ERROR:
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
        MG_INFO(LOG_MODULE, "%s (status %d)", rdma_event_str(type), status);
        if (s->state == MG_RDMA_SOCK_ACCEPTING && drop_unaccepted(st, s))
            break;
        mg_rdma_conn_fail(st, s, event_errno(type));
        break;
    default:
        break; /* TIMEWAIT_EXIT, ADDR_CHANGE, multicast: nothing to do */
    }
}

int mg_rdma_cm_drain(struct mg_rdma_state *st) {
    int n = 0;
    struct rdma_cm_event *ev;
    while (rdma_get_cm_event(st->ec, &ev) == 0) {
        handle_event(st, ev);
        n++;
    }
    return n;
}
