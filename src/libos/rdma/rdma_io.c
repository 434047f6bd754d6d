/* libos/rdma/rdma_io.c — the data path of the rdma libOS: push (split into messages
 * within the peer's receive size, posted as credits allow), pop (served from received
 * buffers, each reposted with a fresh one as the application takes it), the shared
 * completion queue, and poll, which blocks on the completion channel and the rdma_cm
 * channel together when nothing is ready.
 *
 * Progress happens only inside poll, for connections on the dirty list (new
 * operations, completions, credits, an earlier shortage of registered memory). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>

#include "core/log.h"
#include "libos/rdma/rdma.h"

#define LOG_MODULE "rdma"
#define WC_BATCH 32
/* mg_op.libos_u64 of a push: sends in flight, and this bit once every byte is posted. */
#define PUSH_POSTED (1ull << 63)
/* ... and this one when the bytes are a private copy (in the buffer at libos_data). */
#define PUSH_COPIED (1ull << 62)
#define PUSH_INFLIGHT(u) ((u) & ~(PUSH_POSTED | PUSH_COPIED))

int mg_rdma_wc_errno(enum ibv_wc_status status) {
    switch (status) {
    case IBV_WC_SUCCESS:
        return 0;
    case IBV_WC_WR_FLUSH_ERR:
        return ECONNRESET;
    case IBV_WC_RETRY_EXC_ERR:
    case IBV_WC_RESP_TIMEOUT_ERR:
        return ETIMEDOUT;
    case IBV_WC_RNR_RETRY_EXC_ERR:
    case IBV_WC_REM_ABORT_ERR:
    case IBV_WC_REM_ACCESS_ERR:
    case IBV_WC_REM_INV_REQ_ERR:
    case IBV_WC_REM_OP_ERR:
        return ECONNRESET;
    case IBV_WC_LOC_LEN_ERR:
        return EPROTO; /* the peer sent more than a receive holds */
    default:
        return EIO;
    }
}

/* ---- posting ---- */

int mg_rdma_post_recv(struct mg_rdma_state *st, struct mg_rdma_sock *s, struct mg_buf *reuse) {
    struct mg_buf *b = reuse ? reuse : mg_rdma_mem_alloc(st->mem, st->params.recv_buf_size);
    if (!b)
        return -ENOMEM;
    b->data = b->base;
    b->len = 0;
    uint32_t idx = (s->recv_head + s->recv_posted) % st->params.recv_depth;
    struct ibv_sge sge = {.addr = (uintptr_t)b->base, .length = st->params.recv_buf_size, .lkey = st->mr->lkey};
    struct ibv_recv_wr wr = {.wr_id = mg_rdma_wrid(s->slot, s->gen, true, idx), .sg_list = &sge, .num_sge = 1};
    struct ibv_recv_wr *bad = NULL;
    int rc = ibv_post_recv(s->qp, &wr, &bad);
    if (rc) {
        mg_buf_free(b);
        return -rc;
    }
    s->recv_ring[idx] = b;
    s->recv_posted++;
    return 0;
}

static int post_send(struct mg_rdma_state *st, struct mg_rdma_sock *s, enum mg_rdma_msg_type type, struct mg_op *op,
                     const uint8_t *ptr, uint32_t len, struct mg_buf *copy) {
    struct mg_rdma_hdr h;
    mg_rdma_flow_take(&s->flow, type, &h);
    uint32_t idx = (s->send_head + s->send_inflight) % st->params.send_depth;
    struct ibv_sge sge = {.addr = (uintptr_t)ptr, .length = len, .lkey = st->mr->lkey};
    struct ibv_send_wr wr = {
        .wr_id = mg_rdma_wrid(s->slot, s->gen, false, idx),
        .sg_list = len ? &sge : NULL,
        .num_sge = len ? 1 : 0,
        .opcode = IBV_WR_SEND_WITH_IMM,
        .send_flags = IBV_SEND_SIGNALED,
        .imm_data = htonl(mg_rdma_imm_encode(&h)),
    };
    struct ibv_send_wr *bad = NULL;
    int rc = ibv_post_send(s->qp, &wr, &bad);
    if (rc)
        return -rc;
    s->send_ring[idx].op = op;
    s->send_ring[idx].copy = copy;
    s->send_inflight++;
    st->stats.tx_msgs++;
    st->stats.tx_bytes += len;
    if (type == MG_RDMA_MSG_CREDIT)
        st->stats.credit_msgs++;
    return 0;
}

/* ---- push ---- */

/* The buffer behind a pushed array: the runtime's own (zero copy when it is in the
 * arena), or, for an array whose segment points elsewhere, a copy made now. */
static struct mg_buf *push_buffer(struct mg_rdma_state *st, const demi_sgarray_t *sga, bool *copied) {
    struct mg_buf *buf = mg_rt_sga_to_buf(st->rt, sga);
    *copied = false;
    if (buf) {
        if (buf->magic != MG_BUF_MAGIC)
            return NULL;
        mg_buf_ref(buf); /* the application may free its array before the sends complete */
        return buf;
    }
    const uint8_t *seg = sga->sga_segs[0].sgaseg_buf;
    uint32_t len = sga->sga_segs[0].sgaseg_len;
    if (sga->sga_numsegs != 1 || !seg || len == 0)
        return NULL;
    if (!(buf = mg_rdma_mem_alloc(st->mem, len)) && !(buf = mg_buf_alloc_heap(len, 0)))
        return NULL;
    memcpy(buf->data, seg, len);
    buf->len = len;
    st->stats.tx_copies++;
    *copied = true;
    return buf;
}

int mg_rdma_push(void *state, void *sock, const demi_sgarray_t *sga, const struct sockaddr *addr, socklen_t len,
                 struct mg_op *op) {
    (void)addr; /* a connection has one peer: pushto's address is ignored, as on TCP */
    (void)len;
    struct mg_rdma_state *st = state;
    struct mg_rdma_sock *s = sock;
    if (s->state == MG_RDMA_SOCK_DEAD)
        return -(s->err ? s->err : EPIPE);
    if (s->state != MG_RDMA_SOCK_CONNECTED)
        return -ENOTCONN;
    bool copied;
    struct mg_buf *buf = push_buffer(st, sga, &copied);
    if (!buf)
        return -EINVAL;
    op->libos_data = buf;
    op->libos_u64 = copied ? PUSH_COPIED : 0;
    mg_rdma_oplist_append(&s->pushes, op);
    mg_rdma_mark_dirty(st, s);
    return 0;
}

static void finish_push(struct mg_rdma_state *st, struct mg_op *op, int err) {
    mg_buf_free(op->libos_data);
    op->libos_data = NULL;
    if (err)
        mg_op_fail(st->rt, op, err);
    else
        mg_op_complete_push(st->rt, op);
}

/* Posts as much of the queued pushes as credits and send slots allow. Returns the
 * pushes completed (only empty ones complete here) or a negative errno. */
static int progress_tx(struct mg_rdma_state *st, struct mg_rdma_sock *s, bool *starved) {
    int done = 0;
    struct mg_op *op;
    while ((op = s->pushes.head)) {
        struct mg_buf *buf = op->libos_data;
        bool copied = (op->libos_u64 & PUSH_COPIED) != 0;
        const uint8_t *seg = copied ? buf->data : op->sga.sga_segs[0].sgaseg_buf;
        uint32_t total = copied ? buf->len : op->sga.sga_segs[0].sgaseg_len;
        bool registered = mg_rdma_mem_owns(st->mem, buf);
        while (s->tx_offset < total) {
            if (s->send_inflight == st->params.send_depth || !mg_rdma_flow_can_send_data(&s->flow))
                return done;
            uint32_t chunk = mg_rdma_chunk_len(total - s->tx_offset, s->max_msg);
            const uint8_t *ptr = seg + s->tx_offset;
            struct mg_buf *copy = NULL;
            if (!registered) {
                if (!(copy = mg_rdma_mem_alloc(st->mem, chunk))) {
                    *starved = true;
                    return done;
                }
                memcpy(copy->base, ptr, chunk);
                ptr = copy->base;
                st->stats.tx_copies++;
            }
            int rc = post_send(st, s, MG_RDMA_MSG_DATA, op, ptr, chunk, copy);
            if (rc) {
                mg_buf_free(copy);
                return rc;
            }
            op->libos_u64++;
            s->tx_offset += chunk;
        }
        mg_rdma_oplist_take(&s->pushes);
        s->tx_offset = 0;
        op->libos_u64 |= PUSH_POSTED;
        if (PUSH_INFLIGHT(op->libos_u64) == 0) {
            finish_push(st, op, 0); /* an empty push */
            done++;
        }
    }
    return done;
}

static int maybe_send_credit(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    if (!mg_rdma_flow_want_credit_msg(&s->flow) || s->send_inflight == st->params.send_depth)
        return 0;
    return post_send(st, s, MG_RDMA_MSG_CREDIT, NULL, NULL, 0, NULL);
}

/* Fails every unfinished push of s with err: those with sends in flight (forgotten in
 * every slot, so their later completions find nothing) and those still queued. */
static int fail_pushes(struct mg_rdma_state *st, struct mg_rdma_sock *s, int err) {
    int n = 0;
    for (uint32_t i = 0; s->send_ring && i < s->send_inflight; i++) {
        struct mg_op *op = s->send_ring[(s->send_head + i) % st->params.send_depth].op;
        if (!op)
            continue;
        for (uint32_t j = i; j < s->send_inflight; j++) {
            struct mg_rdma_send_slot *slot = &s->send_ring[(s->send_head + j) % st->params.send_depth];
            if (slot->op == op)
                slot->op = NULL;
        }
        if (!(op->libos_u64 & PUSH_POSTED))
            mg_rdma_oplist_remove(&s->pushes, op);
        finish_push(st, op, err);
        n++;
    }
    struct mg_op *op;
    while ((op = mg_rdma_oplist_take(&s->pushes))) {
        finish_push(st, op, err);
        n++;
    }
    s->tx_offset = 0;
    return n;
}

void mg_rdma_fail_data_ops(struct mg_rdma_state *st, struct mg_rdma_sock *s, int err) {
    fail_pushes(st, s, err);
    struct mg_op *op;
    while ((op = mg_rdma_oplist_take(&s->pops)))
        mg_op_fail(st->rt, op, err);
}

/* ---- pop ---- */

int mg_rdma_pop(void *state, void *sock, struct mg_op *op) {
    struct mg_rdma_state *st = state;
    struct mg_rdma_sock *s = sock;
    if (s->state == MG_RDMA_SOCK_NEW || s->state == MG_RDMA_SOCK_LISTENING)
        return -ENOTCONN;
    mg_rdma_oplist_append(&s->pops, op);
    mg_rdma_mark_dirty(st, s);
    return 0;
}

/* Keeps the receive queue full: a consumed receive is replaced by a fresh arena buffer
 * at once, as long as the bytes waiting for pops stay under the receive window (the
 * counterpart of a TCP receive buffer; beyond it, credits return only as the
 * application pops) and the arena has buffers. */
static void refill_receives(struct mg_rdma_state *st, struct mg_rdma_sock *s, bool *starved) {
    uint64_t held = (uint64_t)s->rxq.count * st->params.recv_buf_size;
    while (s->recv_posted < st->params.recv_depth && held < st->params.recv_window) {
        int rc = mg_rdma_post_recv(st, s, NULL);
        if (rc == -ENOMEM) {
            st->stats.recv_starved++;
            *starved = true;
            return;
        }
        if (rc) {
            mg_rdma_conn_fail(st, s, -rc);
            return;
        }
        mg_rdma_flow_on_repost(&s->flow, 1);
    }
}

static int progress_rx(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    int done = 0;
    while (s->pops.head) {
        struct mg_buf *b = mg_rdma_rxq_pop(&s->rxq);
        if (b) {
            /* taken: refill_receives may now repost below the window */
        } else if (s->state != MG_RDMA_SOCK_DEAD) {
            break;
        } else if (s->err) {
            mg_op_fail(st->rt, mg_rdma_oplist_take(&s->pops), s->err);
            done++;
            continue;
        } else if (!(b = mg_buf_alloc_heap(0, 0))) { /* end of stream: an empty array */
            mg_op_fail(st->rt, mg_rdma_oplist_take(&s->pops), ENOMEM);
            done++;
            continue;
        }
        mg_op_complete_pop(st->rt, mg_rdma_oplist_take(&s->pops), b, &s->peer);
        done++;
    }
    return done;
}

/* ---- listeners ---- */

static int progress_accepts(struct mg_rdma_state *st, struct mg_rdma_sock *l) {
    int done = 0;
    while (l->accepts.head && l->ready_head) {
        struct mg_rdma_sock *s = l->ready_head;
        l->ready_head = s->ready_next;
        if (!l->ready_head)
            l->ready_tail = NULL;
        l->ready_count--;
        s->ready_next = NULL;
        s->listener = NULL;
        struct mg_op *op = mg_rdma_oplist_take(&l->accepts);
        int qd = mg_rt_qd_alloc(st->rt, s);
        if (qd < 0) {
            if (s->state == MG_RDMA_SOCK_CONNECTED)
                rdma_disconnect(s->id);
            mg_rdma_sock_destroy(st, s);
            mg_op_fail(st->rt, op, -qd);
        } else {
            mg_op_complete_accept(st->rt, op, qd, &s->peer);
        }
        done++;
    }
    return done;
}

/* ---- progress of one connection ---- */

static int progress_sock(struct mg_rdma_state *st, struct mg_rdma_sock *s) {
    if (s->state == MG_RDMA_SOCK_LISTENING)
        return progress_accepts(st, s);
    bool starved = false;
    int done = 0;
    if (s->state != MG_RDMA_SOCK_DEAD) {
        int rc = progress_tx(st, s, &starved);
        if (rc >= 0) {
            done += rc;
            rc = maybe_send_credit(st, s);
        }
        if (rc < 0)
            mg_rdma_conn_fail(st, s, -rc);
    }
    done += progress_rx(st, s);
    if (s->state != MG_RDMA_SOCK_DEAD && s->slot != UINT32_MAX) {
        refill_receives(st, s, &starved);
        /* Reposts may have made credits worth returning now. */
        int rc = maybe_send_credit(st, s);
        if (rc < 0)
            mg_rdma_conn_fail(st, s, -rc);
    }
    /* A dead connection sends nothing more: its pushes end with its error. */
    if (s->state == MG_RDMA_SOCK_DEAD)
        done += fail_pushes(st, s, s->err ? s->err : EPIPE);
    if (starved)
        mg_rdma_mark_dirty(st, s);
    return done;
}

/* ---- completions ---- */

static void on_send_wc(struct mg_rdma_state *st, struct mg_rdma_sock *s, const struct ibv_wc *wc) {
    if (s->send_inflight == 0 || mg_rdma_wrid_index(wc->wr_id) != s->send_head) {
        st->stats.proto_errors++;
        MG_ERROR(LOG_MODULE, "send completion out of order on slot %u", s->slot);
        mg_rdma_conn_fail(st, s, EIO);
        return;
    }
    struct mg_rdma_send_slot slot = s->send_ring[s->send_head];
    s->send_ring[s->send_head] = (struct mg_rdma_send_slot){0};
    s->send_head = (s->send_head + 1) % st->params.send_depth;
    s->send_inflight--;
    mg_buf_free(slot.copy);
    if (wc->status != IBV_WC_SUCCESS) {
        if (wc->status != IBV_WC_WR_FLUSH_ERR) {
            st->stats.wc_errors++;
            MG_INFO(LOG_MODULE, "send failed on slot %u: %s", s->slot, ibv_wc_status_str(wc->status));
        } else if (s->state == MG_RDMA_SOCK_DEAD) {
            return; /* the flush that follows a disconnect, not a new error */
        }
        mg_rdma_conn_fail(st, s, mg_rdma_wc_errno(wc->status));
        return; /* the push (if any) fails with the connection */
    }
    struct mg_op *op = slot.op;
    if (op) {
        op->libos_u64--;
        if (PUSH_INFLIGHT(op->libos_u64) == 0 && (op->libos_u64 & PUSH_POSTED))
            finish_push(st, op, 0);
    }
    mg_rdma_mark_dirty(st, s); /* a send slot is free */
}

static int receive_message(struct mg_rdma_state *st, struct mg_rdma_sock *s, const struct ibv_wc *wc,
                           struct mg_buf *b) {
    struct mg_rdma_hdr h;
    if (!(wc->wc_flags & IBV_WC_WITH_IMM) || mg_rdma_imm_decode(ntohl(wc->imm_data), &h) != 0)
        return -EPROTO;
    if (mg_rdma_flow_on_receive(&s->flow, &h) != 0)
        return -EPROTO;
    st->stats.rx_msgs++;
    if (h.type == MG_RDMA_MSG_CREDIT) {
        if (wc->byte_len != 0)
            return -EPROTO;
        /* The buffer goes straight back: the peer may count on it again. */
        if (mg_rdma_post_recv(st, s, b) == 0) /* on failure refill_receives tries again */
            mg_rdma_flow_on_repost(&s->flow, 1);
        return 0;
    }
    if (wc->byte_len == 0 || wc->byte_len > st->params.recv_buf_size)
        return -EPROTO;
    b->len = wc->byte_len;
    st->stats.rx_bytes += b->len;
    mg_rdma_rxq_push(&s->rxq, b);
    return 0;
}

static void on_recv_wc(struct mg_rdma_state *st, struct mg_rdma_sock *s, const struct ibv_wc *wc) {
    if (s->recv_posted == 0 || mg_rdma_wrid_index(wc->wr_id) != s->recv_head) {
        st->stats.proto_errors++;
        MG_ERROR(LOG_MODULE, "receive completion out of order on slot %u", s->slot);
        mg_rdma_conn_fail(st, s, EIO);
        return;
    }
    struct mg_buf *b = s->recv_ring[s->recv_head];
    s->recv_ring[s->recv_head] = NULL;
    s->recv_head = (s->recv_head + 1) % st->params.recv_depth;
    s->recv_posted--;
    if (wc->status != IBV_WC_SUCCESS) {
        mg_buf_free(b);
        if (wc->status != IBV_WC_WR_FLUSH_ERR) {
            st->stats.wc_errors++;
            MG_INFO(LOG_MODULE, "receive failed on slot %u: %s", s->slot, ibv_wc_status_str(wc->status));
        } else if (s->state == MG_RDMA_SOCK_DEAD) {
            return; /* the flush that follows a disconnect, not a new error */
        }
        mg_rdma_conn_fail(st, s, mg_rdma_wc_errno(wc->status));
        return;
    }
    int rc = receive_message(st, s, wc, b);
    if (rc) {
        mg_buf_free(b); /* errors are found before the buffer is queued or reposted */
        st->stats.proto_errors++;
        MG_WARN(LOG_MODULE, "protocol violation from the peer on slot %u: closing", s->slot);
        mg_rdma_conn_fail(st, s, -rc);
        return;
    }
    mg_rdma_mark_dirty(st, s);
}

static int drain_cq(struct mg_rdma_state *st) {
    struct ibv_wc wcs[WC_BATCH];
    int total = 0;
    for (;;) {
        int k = ibv_poll_cq(st->cq, WC_BATCH, wcs);
        if (k < 0) {
            MG_ERROR(LOG_MODULE, "ibv_poll_cq failed (%d)", k);
            return total;
        }
        for (int i = 0; i < k; i++) {
            const struct ibv_wc *wc = &wcs[i];
            uint32_t slot = mg_rdma_wrid_slot(wc->wr_id);
            struct mg_rdma_sock *s = slot < st->params.max_conns ? st->conns[slot].sock : NULL;
            if (!s || st->conns[slot].gen != mg_rdma_wrid_gen(wc->wr_id)) {
                st->stats.stale_wcs++; /* its connection is closed and its buffers freed */
                continue;
            }
            if (mg_rdma_wrid_is_recv(wc->wr_id))
                on_recv_wc(st, s, wc);
            else
                on_send_wc(st, s, wc);
        }
        total += k;
        if (k < WC_BATCH)
            return total;
    }
}

static int progress_dirty(struct mg_rdma_state *st) {
    /* Only what is dirty now: a connection that re-marks itself waits for the next poll. */
    struct mg_rdma_sock *s = st->dirty_head;
    st->dirty_head = st->dirty_tail = NULL;
    int done = 0;
    while (s) {
        struct mg_rdma_sock *next = s->dirty_next;
        s->dirty = false;
        s->dirty_next = NULL;
        done += progress_sock(st, s);
        s = next;
    }
    return done;
}

static int work_once(struct mg_rdma_state *st) {
    int n = drain_cq(st);
    n += mg_rdma_cm_drain(st);
    n += progress_dirty(st);
    return n;
}

static int timeout_ms(uint64_t timeout_ns) {
    if (timeout_ns == UINT64_MAX)
        return -1;
    uint64_t ms = timeout_ns / 1000000u + (timeout_ns % 1000000u != 0);
    return ms > (uint64_t)INT_MAX ? INT_MAX : (int)ms;
}

int mg_rdma_poll(void *state, uint64_t timeout_ns) {
    struct mg_rdma_state *st = state;
    int n = work_once(st);
    if (n || timeout_ns == 0 || st->dirty_head)
        return n;
    /* Arm before the last look, so a completion landing in between still wakes us. */
    if (!st->cq_armed) {
        if (ibv_req_notify_cq(st->cq, 0) != 0)
            return 0;
        st->cq_armed = true;
    }
    if ((n = work_once(st)))
        return n;
    struct pollfd fds[2] = {{.fd = st->comp->fd, .events = POLLIN}, {.fd = st->ec->fd, .events = POLLIN}};
    if (poll(fds, 2, timeout_ms(timeout_ns)) > 0 && (fds[0].revents & POLLIN)) {
        struct ibv_cq *cq;
        void *ctx;
        if (ibv_get_cq_event(st->comp, &cq, &ctx) == 0) {
            ibv_ack_cq_events(cq, 1);
            st->cq_armed = false;
        }
    }
    return work_once(st);
}
