/* fuzz/tcp_sm.c — fuzz target: TCP's state machine, driven with structure.
 *
 * Random bytes rarely get a TCP connection past its handshake, so this target reads
 * its input as a program: each step is one application call (connect, accept, send,
 * receive, close, abort, a socket option) or one peer segment crafted relative to a
 * connection as the stack last described it (its ACK and highest sequence sent, seen
 * by the harness on the wire): in window, old, future or anywhere, with any flags,
 * window and options (MSS, window scale, SACK-permitted, timestamps, SACK blocks
 * around data in flight), and with any payload length; or an ICMP error quoting the
 * connection; or duplicate ACKs with SACK blocks (fast retransmit and recovery); or
 * the rest of the socket API, in the wrong states too (options, bind conflicts, listen
 * or connect again, closing the listener with connections pending); or time passing
 * (timers: retransmission, persist, keepalive, delayed ACK, TIME-WAIT). After every step TCP's invariants and the
 * memory bounds are checked; at the end every buffer must be back in the pool.
 *
 * Byte layout: op = byte % OP__COUNT, then the op's own bytes (see each case); a
 * missing byte reads as 0, so every input is a valid program. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz/fuzz_common.h"
#include "fuzz/stack_harness.h"

#define LISTEN_PORT 80
#define SLOTS 6
#define MAX_STEPS 1024

enum {
    OP_CONNECT,
    OP_PEER_SYN,
    OP_ACCEPT,
    OP_SEGMENT,
    OP_SEND,
    OP_RECV,
    OP_CLOSE,
    OP_ABORT,
    OP_ADVANCE,
    OP_SOCKOPT,
    OP_ICMP,
    OP_PEER_ACK,
    OP_DUPACKS,
    OP_API,
    OP__COUNT
};

struct slot {
    bool used;
    struct mg_tcp_sock *s; /* NULL once the application let go (or before accept) */
    uint16_t lport, rport;
    uint32_t peer_isn;
    uint32_t peer_ack; /* the last ACK the peer sent (for duplicates) */
    bool peer_ack_valid;
};

struct prog {
    const uint8_t *p;
    size_t left;
};

static uint8_t next8(struct prog *g) {
    if (g->left == 0)
        return 0;
    g->left--;
    return *g->p++;
}
static uint16_t next16(struct prog *g) {
    return (uint16_t)(next8(g) << 8 | next8(g));
}
static uint32_t next32(struct prog *g) {
    return (uint32_t)next16(g) << 16 | next16(g);
}

static uint8_t payload[1500];
static bool trace; /* FUZZ_TRACE=1: print each step (to read a reproducer) */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 13 + 5);
    fh_global_init();
    trace = getenv("FUZZ_TRACE") != NULL;
    return 0;
}

struct sm {
    struct fh h;
    struct mg_tcp_sock *listener;
    struct slot slots[SLOTS];
    uint16_t next_peer_port;
};

static struct slot *free_slot(struct sm *m) {
    for (unsigned i = 0; i < SLOTS; i++)
        if (!m->slots[i].used || m->slots[i].s == NULL) {
            memset(&m->slots[i], 0, sizeof(m->slots[i]));
            return &m->slots[i];
        }
    return NULL;
}

static void op_connect(struct sm *m, struct prog *g) {
    uint8_t port = next8(g);
    struct slot *sl = free_slot(m);
    if (sl == NULL)
        return;
    struct mg_tcp_sock *s = mg_tcp_open(m->h.tcp, NULL, NULL);
    if (s == NULL)
        return;
    if (mg_tcp_connect(s, FH_PEER_IP, (uint16_t)(5000 + port % 4)) != 0) {
        mg_tcp_abort(s);
        return;
    }
    sl->used = true;
    sl->s = s;
    mg_tcp_local(s, NULL, &sl->lport);
    sl->rport = (uint16_t)(5000 + port % 4);
    sl->peer_isn = 7000000u * (1u + port % 4);
}

/* Options for a peer segment, from one selector byte and more bytes as needed. */
static void read_opts(struct sm *m, struct prog *g, const struct fh_view *v, struct mg_tcp_opts *o) {
    uint8_t sel = next8(g);
    memset(o, 0, sizeof(*o));
    if (sel & 1) {
        o->has_mss = true;
        o->mss = (uint16_t)(next8(g) * 8);
    }
    if (sel & 2) {
        o->has_wscale = true;
        o->wscale = next8(g) % 16;
    }
    o->sack_permitted = (sel & 4) != 0;
    if (sel & 8) {
        o->has_timestamp = true;
        uint8_t t = next8(g);
        m->h.peer_ts += (t & 0x80) ? 0 : t;                                 /* moves on, or repeats */
        o->ts_val = (t & 0x40) ? m->h.peer_ts - 0x80000000u : m->h.peer_ts; /* or goes back (PAWS) */
        o->ts_ecr = v ? v->ts_val : 0;
    }
    unsigned nsack = (sel >> 4) % 5;
    uint32_t top = v ? v->snd_max : 0;
    for (unsigned i = 0; i < nsack; i++) {
        uint32_t a = next8(g) * 64u, b = next8(g) * 64u;
        o->sack[i].left = top - a - b;
        o->sack[i].right = top - a;
    }
    o->num_sack_blocks = (uint8_t)nsack;
}

static void send_segment(struct sm *m, struct slot *sl, struct prog *g) {
    struct fh_view *v = fh_view(&m->h, sl->lport, sl->rport);
    uint32_t rcv = v && v->ack_valid ? v->ack : sl->peer_isn + 1;
    uint32_t snd = v ? v->snd_max : 0;
    uint8_t seqmode = next8(g), ackmode = next8(g);
    uint32_t seq, ack;
    switch (seqmode % 6) {
    case 0:
        seq = rcv;
        break;
    case 1:
        seq = rcv + 1u + next8(g) * 16u;
        break; /* in window, ahead: out of order */
    case 2:
        seq = rcv - 1u - next8(g) * 16u;
        break; /* old: duplicate or overlapping */
    case 3:
        seq = rcv + 0x10000u * (1u + next8(g));
        break; /* far future */
    case 4:
        seq = next32(g);
        break; /* anywhere */
    default:
        seq = sl->peer_isn;
        break; /* the ISN again (SYN) */
    }
    switch (ackmode % 5) {
    case 0:
        ack = snd;
        break;
    case 1:
        ack = snd - next8(g) * 16u;
        break; /* partial or duplicate ACK */
    case 2:
        ack = snd + 1u + next8(g);
        break; /* acks what was never sent */
    case 3:
        ack = v ? v->iss : 0;
        break; /* before everything */
    default:
        ack = next32(g);
        break;
    }
    uint8_t flags = next8(g);
    uint16_t window = next16(g);
    struct mg_tcp_opts o;
    read_opts(m, g, v, &o);
    uint32_t len = next8(g) * 6u;
    if (len > sizeof(payload))
        len = sizeof(payload);
    if (trace)
        fprintf(stderr, "  segment seq %u ack %u flags 0x%02x win %u len %u opts mss%d ws%d sp%d ts%d sack%u\n", seq,
                ack, flags, window, len, o.has_mss, o.has_wscale, o.sack_permitted, o.has_timestamp, o.num_sack_blocks);
    if (flags & MG_TCP_ACK) {
        sl->peer_ack = ack;
        sl->peer_ack_valid = true;
    }
    fh_queue_tcp(&m->h, sl->rport, sl->lport, seq, ack, flags, window, &o, payload, len);
}

static void op_peer_syn(struct sm *m, struct prog *g) {
    struct slot *sl = free_slot(m);
    uint8_t isn = next8(g);
    if (sl == NULL)
        return;
    sl->used = true;
    sl->lport = LISTEN_PORT;
    sl->rport = (uint16_t)(40000 + m->next_peer_port++ % 64);
    sl->peer_isn = 0x01000000u * isn + 77;
    struct mg_tcp_opts o;
    read_opts(m, g, NULL, &o);
    fh_queue_tcp(&m->h, sl->rport, LISTEN_PORT, sl->peer_isn, 0, MG_TCP_SYN, next16(g), &o, NULL, 0);
}

static void op_accept(struct sm *m) {
    struct mg_tcp_sock *c;
    uint16_t pport;
    while (m->listener && mg_tcp_accept(m->listener, &c, NULL, &pport) == 0) {
        struct slot *sl = NULL;
        for (unsigned i = 0; i < SLOTS; i++)
            if (m->slots[i].used && m->slots[i].s == NULL && m->slots[i].lport == LISTEN_PORT &&
                m->slots[i].rport == pport)
                sl = &m->slots[i];
        if (sl == NULL && (sl = free_slot(m)) != NULL) {
            sl->used = true;
            sl->lport = LISTEN_PORT;
            sl->rport = pport;
        }
        if (sl == NULL) {
            mg_tcp_abort(c);
            continue;
        }
        sl->s = c;
    }
}

static void op_send(struct sm *m, struct slot *sl, struct prog *g) {
    uint32_t len = next8(g) * 64u + 1;
    if (sl->s == NULL)
        return;
    while (len > 0 && fh_app_may_send(&m->h)) {
        struct mg_buf *b = mg_buf_alloc(m->h.dev.pool);
        if (b == NULL)
            return;
        uint32_t n = len < sizeof(payload) ? len : sizeof(payload);
        memcpy(mg_buf_append(b, n), payload, n);
        int rc = mg_tcp_send(sl->s, b, n > 10 ? n / 3 : 0); /* from an offset, as the API allows */
        mg_buf_free(b);
        if (rc <= 0)
            return;
        len -= n;
    }
}

static void op_recv(struct slot *sl) {
    struct mg_buf *b;
    for (int i = 0; sl->s && i < 512 && mg_tcp_recv(sl->s, &b) > 0; i++)
        mg_buf_free(b);
}

static void op_sockopt(struct slot *sl, struct prog *g) {
    uint8_t which = next8(g), val = next8(g);
    if (sl->s == NULL)
        return;
    int v = val;
    struct linger lg = {.l_onoff = 1, .l_linger = val % 2};
    switch (which % 7) {
    case 0:
        v = val & 1;
        mg_tcp_setsockopt(sl->s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
        break;
    case 1:
        v = val & 1;
        mg_tcp_setsockopt(sl->s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
        break;
    case 2:
        v = 1 + val % 10;
        mg_tcp_setsockopt(sl->s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
        break;
    case 3:
        v = 1 + val % 5;
        mg_tcp_setsockopt(sl->s, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
        break;
    case 4:
        mg_tcp_setsockopt(sl->s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        break;
    case 5:
        v = val * 256;
        mg_tcp_setsockopt(sl->s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
        break;
    default:
        v = val * 8;
        mg_tcp_setsockopt(sl->s, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v));
        break;
    }
}

/* An ICMP error from a router, quoting a segment of the connection. */
static void op_icmp(struct sm *m, struct slot *sl, struct prog *g) {
    uint8_t kind = next8(g), code = next8(g);
    uint16_t mtu = next16(g);
    struct fh_view *v = fh_view(&m->h, sl->lport, sl->rport);
    uint8_t f[MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN + MG_ICMP_HDR_LEN + MG_IPV4_HDR_LEN + 8];
    memset(f, 0, sizeof(f));
    f[12] = 0x08;
    struct mg_ipv4_hdr outer = {
        .hdr_len = 20, .total_len = sizeof(f) - MG_ETH_HDR_LEN, .ttl = 64, .proto = MG_IPPROTO_ICMP};
    mg_ipv4_build(f + MG_ETH_HDR_LEN, MG_IPV4_HDR_LEN, &outer, false);
    uint8_t *inner = f + MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN + MG_ICMP_HDR_LEN;
    struct mg_ipv4_hdr ih = {
        .hdr_len = 20, .total_len = 40, .ttl = 1, .proto = MG_IPPROTO_TCP, .src = FH_LOCAL_IP, .dst = FH_PEER_IP};
    mg_ipv4_build(inner, MG_IPV4_HDR_LEN, &ih, true);
    uint8_t *t = inner + MG_IPV4_HDR_LEN;
    uint32_t seq = v ? v->snd_max - 1 - (kind >> 3) : 0;
    t[0] = (uint8_t)(sl->lport >> 8);
    t[1] = (uint8_t)sl->lport;
    t[2] = (uint8_t)(sl->rport >> 8);
    t[3] = (uint8_t)sl->rport;
    t[4] = (uint8_t)(seq >> 24);
    t[5] = (uint8_t)(seq >> 16);
    t[6] = (uint8_t)(seq >> 8);
    t[7] = (uint8_t)seq;
    struct mg_icmp_hdr icmp = {
        .type = (kind & 4) ? MG_ICMP_TIME_EXCEEDED : MG_ICMP_DEST_UNREACH, .code = (uint8_t)(code % 16), .rest = mtu};
    mg_icmp_build(f + MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN, MG_ICMP_HDR_LEN, &icmp, MG_IPV4_HDR_LEN + 8);
    fh_fix_frame(f, sizeof(f), true, true);
    fh_queue_frame(&m->h, f, sizeof(f));
}

/* A well-behaved peer's ACK of everything, in order: lets a program make progress. */
static void op_peer_ack(struct sm *m, struct slot *sl, struct prog *g) {
    struct fh_view *v = fh_view(&m->h, sl->lport, sl->rport);
    uint8_t sel = next8(g);
    if (v == NULL || !v->ack_valid)
        return;
    struct mg_tcp_opts o = {.has_timestamp = (sel & 1) != 0, .ts_val = ++m->h.peer_ts, .ts_ecr = v->ts_val};
    uint8_t flags = MG_TCP_ACK | ((sel & 2) ? MG_TCP_FIN : 0) | ((sel & 4) ? MG_TCP_PSH : 0);
    uint32_t len = (sel & 8) ? (sel >> 4) * 90u : 0;
    sl->peer_ack = v->snd_max;
    sl->peer_ack_valid = true;
    fh_queue_tcp(&m->h, sl->rport, sl->lport, v->ack, v->snd_max, flags, 0xffff, &o, payload, len);
}

/* Duplicate ACKs (RFC 5681 3.2: same ACK, same window, no data), optionally with SACK
 * blocks above the hole: fast retransmit and recovery. */
static void op_dupacks(struct sm *m, struct slot *sl, struct prog *g) {
    struct fh_view *v = fh_view(&m->h, sl->lport, sl->rport);
    uint8_t sel = next8(g);
    if (v == NULL || !v->ack_valid)
        return;
    uint32_t ack = sl->peer_ack_valid ? sl->peer_ack : v->iss + 1;
    for (unsigned i = 0; i < 2u + sel % 4; i++) {
        struct mg_tcp_opts o = {.has_timestamp = (sel & 4) != 0, .ts_val = m->h.peer_ts, .ts_ecr = v->ts_val};
        if (sel & 8) {
            uint32_t step = 500u * (1u + (sel >> 4));
            o.num_sack_blocks = 1;
            o.sack[0].left = ack + step;
            o.sack[0].right = ack + step * (2 + i);
            if ((int32_t)(o.sack[0].right - v->snd_max) > 0)
                o.sack[0].right = v->snd_max;
        }
        fh_queue_tcp(&m->h, sl->rport, sl->lport, v->ack, ack, MG_TCP_ACK, 0xffff, &o, NULL, 0);
        fh_run(&m->h, 0);
    }
}

/* The rest of the socket API, including calls in the wrong state. */
static void op_api(struct sm *m, struct slot *sl, struct prog *g) {
    uint8_t which = next8(g), arg = next8(g);
    struct mg_tcp_sock *s = sl->s;
    switch (which % 7) {
    case 0:
        if (s) {
            static const int opts[][2] = {
                {SOL_SOCKET, SO_KEEPALIVE}, {SOL_SOCKET, SO_LINGER},     {SOL_SOCKET, SO_RCVBUF},
                {SOL_SOCKET, SO_SNDBUF},    {SOL_SOCKET, SO_ERROR},      {SOL_SOCKET, SO_REUSEADDR},
                {IPPROTO_TCP, TCP_NODELAY}, {IPPROTO_TCP, TCP_KEEPIDLE}, {IPPROTO_TCP, TCP_KEEPINTVL},
                {IPPROTO_TCP, TCP_KEEPCNT}, {IPPROTO_TCP, TCP_MAXSEG},   {IPPROTO_IP, 1}};
            uint8_t buf[16];
            socklen_t len = (socklen_t)(arg % 2 ? sizeof(buf) : 2);
            const int *o = opts[arg % (sizeof(opts) / sizeof(opts[0]))];
            mg_tcp_getsockopt(s, o[0], o[1], buf, &len);
            memset(buf, arg, sizeof(buf));
            mg_tcp_setsockopt(s, o[0], o[1], buf, (socklen_t)(arg % 3 ? sizeof(int) : 1));
        }
        break;
    case 1:
        if (s) {
            uint32_t addr;
            uint16_t port;
            mg_tcp_peer(s, &addr, &port);
            mg_tcp_local(s, &addr, &port);
            (void)mg_tcp_error(s);
        }
        break;
    case 2: { /* a bind that may conflict, then gone */
        struct mg_tcp_sock *t = mg_tcp_open(m->h.tcp, NULL, NULL);
        if (t) {
            mg_tcp_bind(t, (arg & 1) ? FH_LOCAL_IP : (arg & 2) ? FH_PEER_IP : 0, (arg & 4) ? LISTEN_PORT : arg);
            mg_tcp_close(t);
        }
        break;
    }
    case 3:
        if (s)
            mg_tcp_listen(s, arg);
        break;
    case 4:
        if (s)
            mg_tcp_connect(s, FH_PEER_IP, 5000);
        break;
    case 5: { /* close the listener with whatever it holds, and listen again */
        /* Connections accepted from it may still hold the port: without SO_REUSEADDR
         * the bind may then fail (as on Linux), and the program goes on without one. */
        if (m->listener)
            mg_tcp_close(m->listener);
        m->listener = mg_tcp_open(m->h.tcp, NULL, NULL);
        int on = arg & 1;
        if (m->listener &&
            (mg_tcp_setsockopt(m->listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
             mg_tcp_bind(m->listener, 0, LISTEN_PORT) != 0 || mg_tcp_listen(m->listener, 1 + arg % 8) != 0)) {
            mg_tcp_close(m->listener);
            m->listener = NULL;
        }
        break;
    }
    default:
        if (s) {
            struct mg_buf *b = mg_buf_alloc(m->h.dev.pool);
            if (b) {
                mg_tcp_send(s, b, 0); /* empty */
                mg_buf_free(b);
            }
        }
        break;
    }
}

static const char *const op_names[OP__COUNT] = {"connect", "peer-syn", "accept",  "segment", "send",
                                                "recv",    "close",    "abort",   "advance", "sockopt",
                                                "icmp",    "peer-ack", "dupacks", "api"};

/* The starting state (a stack with a listener on port 80), in the fuzz arena: built
 * by the first execution, then restored from the arena's snapshot before every other
 * (fuzz/arena.h). */
static struct sm *world;

static struct sm *begin(void) {
    if (!fh_begin()) {
        world = fh_alloc_root(sizeof(*world));
        fh_setup(&world->h, NULL);
        world->listener = mg_tcp_open(world->h.tcp, NULL, NULL);
        if (world->listener == NULL || mg_tcp_bind(world->listener, 0, LISTEN_PORT) != 0 ||
            mg_tcp_listen(world->listener, 4) != 0)
            fuzz_fail("listener setup failed");
        fh_snapshot();
    }
    return world;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sm *m = begin();
    struct prog g = {data, size};
    for (int step = 0; g.left > 0 && step < MAX_STEPS; step++) {
        uint8_t op = next8(&g) % OP__COUNT;
        struct slot *sl = &m->slots[next8(&g) % SLOTS];
        uint64_t advance = 0;
        switch (op) {
        case OP_CONNECT:
            op_connect(m, &g);
            break;
        case OP_PEER_SYN:
            op_peer_syn(m, &g);
            break;
        case OP_ACCEPT:
            op_accept(m);
            break;
        case OP_SEGMENT:
            if (sl->used)
                send_segment(m, sl, &g);
            break;
        case OP_SEND:
            op_send(m, sl, &g);
            break;
        case OP_RECV:
            op_recv(sl);
            break;
        case OP_CLOSE:
            if (sl->s)
                mg_tcp_close(sl->s);
            sl->s = NULL;
            break;
        case OP_ABORT:
            if (sl->s)
                mg_tcp_abort(sl->s);
            sl->s = NULL;
            break;
        case OP_ADVANCE: {
            uint8_t e = next8(&g);
            advance = (MG_NS_PER_MS << (e % 17)) + (uint64_t)(e >> 5) * MG_NS_PER_MS;
            break;
        }
        case OP_SOCKOPT:
            op_sockopt(sl, &g);
            break;
        case OP_ICMP:
            if (sl->used)
                op_icmp(m, sl, &g);
            break;
        case OP_PEER_ACK:
            if (sl->used)
                op_peer_ack(m, sl, &g);
            break;
        case OP_DUPACKS:
            if (sl->used)
                op_dupacks(m, sl, &g);
            break;
        default:
            op_api(m, sl, &g);
            break;
        }
        if (trace) {
            struct fh_view *v = sl->used ? fh_view(&m->h, sl->lport, sl->rport) : NULL;
            fprintf(stderr, "step %d: %s slot %ld (%u->%u)%s", step, op_names[op], (long)(sl - m->slots), sl->rport,
                    sl->lport, sl->s ? " " : " [no handle] ");
            if (sl->s)
                fprintf(stderr, "%s ", mg_tcp_state_name(mg_tcp_sock_state(sl->s)));
            if (v)
                fprintf(stderr, "stack ack %u snd_max %u", v->ack, v->snd_max);
            fprintf(stderr, "\n");
        }
        fh_run(&m->h, advance);
        fh_check(&m->h);
    }
    fh_teardown(&m->h);
    return 0;
}
