/* inet/tcp.c — margay's TCP layer object, its demultiplexing tables and the socket
 * calls the inet libOS makes (open, bind, listen, accept, connect, send, recv, close,
 * options). Segment processing lives in tcp_in.c, segment building in tcp_out.c.
 *
 * Reentrancy: a notify callback may call back into the layer (send, recv, close). So
 * events are queued on the socket and delivered only when the outermost entry into
 * the layer returns (tcp_leave), and a dead connection is freed only then too. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inet/tcp_int.h"

static const char *const state_names[] = {
    [MG_TCP_CLOSED] = "CLOSED",           [MG_TCP_LISTEN] = "LISTEN",
    [MG_TCP_SYN_SENT] = "SYN-SENT",       [MG_TCP_SYN_RECEIVED] = "SYN-RECEIVED",
    [MG_TCP_ESTABLISHED] = "ESTABLISHED", [MG_TCP_FIN_WAIT_1] = "FIN-WAIT-1",
    [MG_TCP_FIN_WAIT_2] = "FIN-WAIT-2",   [MG_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
    [MG_TCP_CLOSING] = "CLOSING",         [MG_TCP_LAST_ACK] = "LAST-ACK",
    [MG_TCP_TIME_WAIT] = "TIME-WAIT",
};

const char *mg_tcp_state_name(enum mg_tcp_state s) {
    if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
        return "?";
    return state_names[s];
}

static const char *const drop_names[MG_TCP_DROP__COUNT] = {
    [MG_TCP_DROP_MALFORMED] = "malformed",         [MG_TCP_DROP_BAD_CKSUM] = "bad_cksum",
    [MG_TCP_DROP_NO_SOCKET] = "no_socket",         [MG_TCP_DROP_BAD_FLAGS] = "bad_flags",
    [MG_TCP_DROP_OUT_OF_WINDOW] = "out_of_window", [MG_TCP_DROP_BAD_ACK] = "bad_ack",
    [MG_TCP_DROP_OOO_FULL] = "ooo_full",           [MG_TCP_DROP_BACKLOG_FULL] = "backlog_full",
    [MG_TCP_DROP_RST_INVALID] = "rst_invalid",     [MG_TCP_DROP_RECV_BUFFER_FULL] = "recv_buffer_full",
    [MG_TCP_DROP_NO_BUFFER] = "no_buffer",         [MG_TCP_DROP_POOL_LOW] = "pool_low",
};

const char *mg_tcp_drop_name(enum mg_tcp_drop reason) {
    if ((unsigned)reason >= MG_TCP_DROP__COUNT)
        return "?";
    return drop_names[reason];
}

/* ---------------------------------------------------------------- hashing ---- */

static uint32_t hash_mix(uint64_t salt, uint64_t x) {
    x ^= salt;
    x *= 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (uint32_t)x;
}

/* The chain of table t that holds (laddr, lport, raddr, rport): the connection table
 * hashes all four, the others the local port alone. */
static struct mg_tcp_sock **chain_of(const struct mg_tcp_layer *tcp, enum tcp_table t, uint32_t laddr, uint16_t lport,
                                     uint32_t raddr, uint16_t rport) {
    const struct tcp_hash *h = &tcp->tables[t];
    uint32_t bucket;
    if (t == TCP_TABLE_CONN) {
        uint64_t k = ((uint64_t)raddr << 32) | ((uint32_t)rport << 16) | lport;
        bucket = hash_mix(tcp->hash_salt, k) ^ laddr;
    } else {
        bucket = hash_mix(tcp->hash_salt, lport);
    }
    return &h->chains[bucket & h->mask];
}

static struct mg_tcp_sock **port_chain(const struct mg_tcp_layer *tcp, enum tcp_table t, uint16_t port) {
    return chain_of(tcp, t, 0, port, 0, 0);
}

static struct mg_tcp_sock **home_chain(const struct mg_tcp_sock *c, enum tcp_table t) {
    return chain_of(c->tcp, t, c->laddr, c->lport, c->raddr, c->rport);
}

void tcp_table_insert(struct mg_tcp_sock *c, enum tcp_table t) {
    struct mg_tcp_sock **chain = home_chain(c, t);
    c->hash_next[t] = *chain;
    *chain = c;
    c->in_hash[t] = true;
}

static void table_remove(struct mg_tcp_sock *c, enum tcp_table t) {
    if (!c->in_hash[t])
        return;
    for (struct mg_tcp_sock **pp = home_chain(c, t); *pp; pp = &(*pp)->hash_next[t])
        if (*pp == c) {
            *pp = c->hash_next[t];
            break;
        }
    c->in_hash[t] = false;
    c->hash_next[t] = NULL;
}

struct mg_tcp_sock *tcp_conn_lookup(struct mg_tcp_layer *tcp, uint32_t laddr, uint16_t lport, uint32_t raddr,
                                    uint16_t rport) {
    struct mg_tcp_sock *c = *chain_of(tcp, TCP_TABLE_CONN, laddr, lport, raddr, rport);
    for (; c; c = c->hash_next[TCP_TABLE_CONN])
        if (c->lport == lport && c->rport == rport && c->raddr == raddr && c->laddr == laddr)
            return c;
    return NULL;
}

struct mg_tcp_sock *tcp_listen_lookup(struct mg_tcp_layer *tcp, uint32_t laddr, uint16_t lport) {
    struct mg_tcp_sock *wild = NULL;
    for (struct mg_tcp_sock *c = *port_chain(tcp, TCP_TABLE_LISTEN, lport); c; c = c->hash_next[TCP_TABLE_LISTEN]) {
        if (c->lport != lport)
            continue;
        if (c->laddr == laddr)
            return c;
        if (c->laddr == 0)
            wild = c;
    }
    return wild;
}

/* Whether s may take (addr, port): no other socket holds it, or SO_REUSEADDR on s
 * lets it share with sockets that are not listening (connections still lingering). */
static bool bind_conflicts(struct mg_tcp_sock *s, uint32_t addr, uint16_t port) {
    struct mg_tcp_layer *tcp = s->tcp;
    for (struct mg_tcp_sock *o = *port_chain(tcp, TCP_TABLE_BIND, port); o; o = o->hash_next[TCP_TABLE_BIND]) {
        if (o == s || o->lport != port)
            continue;
        if (o->laddr != 0 && addr != 0 && o->laddr != addr)
            continue;
        if (s->reuseaddr && o->state != MG_TCP_LISTEN && (o->reuseaddr || !o->has_handle || o->state != MG_TCP_CLOSED))
            continue;
        return true;
    }
    return false;
}

/* ----------------------------------------------------- enter/leave, events ---- */

void tcp_enter(struct mg_tcp_layer *tcp) {
    tcp->depth++;
}

static void sock_free(struct mg_tcp_sock *c) {
    struct mg_tcp_layer *tcp = c->tcp;
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        tcp->all_head = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    tcp->nsocks--;
    free(c->sq);
    free(c);
}

static void rq_free(struct mg_tcp_sock *c) {
    while (c->rq_head) {
        struct mg_buf *b = c->rq_head;
        c->rq_head = b->next;
        b->next = NULL;
        mg_buf_free(b);
    }
    c->rq_tail = NULL;
    c->rq_bytes = 0;
    c->rq_count = 0;
}

static void ooo_free(struct mg_tcp_sock *c) {
    while (c->ooo_head) {
        struct mg_buf *b = c->ooo_head;
        c->ooo_head = b->next;
        b->next = NULL;
        mg_buf_free(b);
    }
    c->ooo_count = 0;
    c->ooo_bytes = 0;
}

/* Queues c for freeing once no caller can hold it (when the outermost call returns). */
static void maybe_bury(struct mg_tcp_sock *c) {
    if (c->dead || c->has_handle || c->parent || c->state != MG_TCP_CLOSED)
        return;
    c->dead = true;
    c->dead_next = c->tcp->dead_head;
    c->tcp->dead_head = c;
}

void tcp_leave(struct mg_tcp_layer *tcp) {
    if (tcp->depth > 1) {
        tcp->depth--;
        return;
    }
    /* Still depth 1 while callbacks run, so their calls into the layer only queue. */
    while (tcp->notify_head) {
        struct mg_tcp_sock *c = tcp->notify_head;
        tcp->notify_head = c->notify_next;
        if (!tcp->notify_head)
            tcp->notify_tail = NULL;
        c->notify_next = NULL;
        c->on_notify_list = false;
        unsigned ev = c->ev_pending;
        c->ev_pending = 0;
        if (!c->dead && c->has_handle && c->notify && ev)
            c->notify(c, ev, c->user);
    }
    while (tcp->dead_head) {
        struct mg_tcp_sock *c = tcp->dead_head;
        tcp->dead_head = c->dead_next;
        sock_free(c);
    }
    tcp->depth = 0;
}

void tcp_notify(struct mg_tcp_sock *c, unsigned events) {
    struct mg_tcp_layer *tcp = c->tcp;
    c->ev_pending |= events;
    if (!c->has_handle || c->on_notify_list)
        return;
    c->on_notify_list = true;
    c->notify_next = NULL;
    if (tcp->notify_tail)
        tcp->notify_tail->notify_next = c;
    else
        tcp->notify_head = c;
    tcp->notify_tail = c;
}

/* ---------------------------------------------------------------- layer ---- */

static void tables_free(struct mg_tcp_layer *tcp) {
    for (int t = 0; t < TCP_TABLE__COUNT; t++)
        free(tcp->tables[t].chains);
}

/* chains[t]: a power of two, the number of chains of table t. */
static int tables_alloc(struct mg_tcp_layer *tcp, const uint32_t chains[TCP_TABLE__COUNT]) {
    for (int t = 0; t < TCP_TABLE__COUNT; t++) {
        tcp->tables[t].mask = chains[t] - 1;
        tcp->tables[t].chains = calloc(chains[t], sizeof(*tcp->tables[t].chains));
        if (!tcp->tables[t].chains) {
            tables_free(tcp);
            return -ENOMEM;
        }
    }
    return 0;
}

int mg_tcp_layer_create(struct mg_inet *inet, struct mg_tcp_layer **out) {
    struct mg_tcp_layer *tcp = calloc(1, sizeof(*tcp));
    if (!tcp)
        return -ENOMEM;
    tcp->inet = inet;
    uint32_t want = inet->cfg.tcp_max_connections ? inet->cfg.tcp_max_connections : 65536;
    uint32_t n = 256;
    while (n < want && n < (1u << 20))
        n <<= 1;
    const uint32_t chains[TCP_TABLE__COUNT] = {[TCP_TABLE_CONN] = n, [TCP_TABLE_LISTEN] = 256, [TCP_TABLE_BIND] = 1024};
    if (tables_alloc(tcp, chains) < 0) {
        free(tcp);
        return -ENOMEM;
    }
    /* RFC 6528: the ISN secret comes from the stack's random source (seeded from the
     * OS in production, from the run's seed in simulation). */
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = mg_rand_u64(&inet->rand);
        memcpy(tcp->isn_key + i, &r, 8);
    }
    tcp->hash_salt = mg_rand_u64(&inet->rand);
    struct mg_inet_l4_handler h = {
        .input = tcp_input, .icmp_error = tcp_icmp_error, .neighbor_failed = tcp_neighbor_failed, .ctx = tcp};
    int rc = mg_inet_register_l4(inet, MG_IPPROTO_TCP, &h);
    if (rc < 0) {
        tables_free(tcp);
        free(tcp);
        return rc;
    }
    inet->tcp = tcp;
    *out = tcp;
    return 0;
}

void mg_tcp_layer_destroy(struct mg_tcp_layer *tcp) {
    if (!tcp)
        return;
    struct mg_inet *inet = tcp->inet;
    while (tcp->all_head) {
        struct mg_tcp_sock *c = tcp->all_head;
        tcp_timers_cancel_all(c);
        tcp_sq_free(c);
        rq_free(c);
        ooo_free(c);
        sock_free(c);
    }
    mg_inet_unregister_l4(inet, MG_IPPROTO_TCP);
    if (inet->tcp == tcp)
        inet->tcp = NULL;
    tables_free(tcp);
    free(tcp);
}

void mg_tcp_input(struct mg_tcp_layer *tcp, struct mg_buf *buf, const struct mg_ipv4_hdr *ip) {
    tcp_input(tcp, buf, ip);
}

void mg_tcp_icmp_error(struct mg_tcp_layer *tcp, uint8_t type, uint8_t code, const struct mg_ipv4_hdr *inner,
                       const uint8_t *inner_l4, size_t inner_l4_len) {
    tcp_icmp_error(tcp, type, code, inner, inner_l4, inner_l4_len);
}

void mg_tcp_neighbor_failed(struct mg_tcp_layer *tcp, uint32_t addr) {
    tcp_neighbor_failed(tcp, addr);
}

const struct mg_tcp_stats *mg_tcp_stats(const struct mg_tcp_layer *tcp) {
    return &tcp->stats;
}

unsigned mg_tcp_connection_count(const struct mg_tcp_layer *tcp) {
    unsigned n = 0;
    for (const struct mg_tcp_sock *c = tcp->all_head; c; c = c->all_next)
        if (c->state != MG_TCP_CLOSED && c->state != MG_TCP_LISTEN)
            n++;
    return n;
}

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a
 * 4-microsecond timer. */
uint32_t tcp_isn(struct mg_tcp_layer *tcp, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport) {
    uint8_t tuple[12];
    memcpy(tuple, &laddr, 4);
    memcpy(tuple + 4, &raddr, 4);
    memcpy(tuple + 8, &lport, 2);
    memcpy(tuple + 10, &rport, 2);
    uint32_t f = (uint32_t)mg_siphash24(tcp->isn_key, tuple, sizeof(tuple));
    uint32_t m = (uint32_t)(mg_inet_now(tcp->inet) / 4000u);
    return m + f;
}

/* ------------------------------------------------------------ sockets ---- */

struct mg_tcp_sock *tcp_sock_new(struct mg_tcp_layer *tcp) {
    const struct mg_config *cfg = &tcp->inet->cfg;
    if (cfg->tcp_max_connections && tcp->nsocks >= cfg->tcp_max_connections)
        return NULL;
    struct mg_tcp_sock *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->tcp = tcp;
    c->state = MG_TCP_CLOSED;
    c->nodelay = cfg->nodelay;
    c->keepalive = cfg->keepalive_enabled;
    c->keep_idle_ns = cfg->keepalive_time_ns ? cfg->keepalive_time_ns : 7200 * MG_NS_PER_S;
    c->keep_intvl_ns = cfg->keepalive_interval_ns ? cfg->keepalive_interval_ns : 75 * MG_NS_PER_S;
    c->keep_cnt = cfg->keepalive_probes ? cfg->keepalive_probes : 9;
    c->linger_on = cfg->linger_enabled;
    c->linger_s = cfg->linger_seconds;
    c->snd_buf_size = cfg->tcp_send_buffer ? cfg->tcp_send_buffer : (1u << 20);
    c->rcv_buf_size = cfg->tcp_recv_buffer ? cfg->tcp_recv_buffer : (1u << 20);
    c->rto = cfg->tcp_initial_rto_ns ? cfg->tcp_initial_rto_ns : MG_NS_PER_S;
    tcp_timers_init(c);
    c->all_next = tcp->all_head;
    if (tcp->all_head)
        tcp->all_head->all_prev = c;
    tcp->all_head = c;
    tcp->nsocks++;
    return c;
}

struct mg_tcp_sock *mg_tcp_open(struct mg_tcp_layer *tcp, mg_tcp_notify_fn notify, void *user) {
    struct mg_tcp_sock *c = tcp_sock_new(tcp);
    if (!c)
        return NULL;
    c->has_handle = true;
    c->notify = notify;
    c->user = user;
    return c;
}

void mg_tcp_set_notify(struct mg_tcp_sock *s, mg_tcp_notify_fn notify, void *user) {
    struct mg_tcp_layer *tcp = s->tcp;
    tcp_enter(tcp);
    s->notify = notify;
    s->user = user;
    /* Report what happened before anyone listened (an accepted child may already hold
     * data, end of stream or an error). */
    unsigned ev = 0;
    if (s->rq_head || s->fin_rcvd)
        ev |= MG_TCP_EV_READABLE;
    if (s->error)
        ev |= MG_TCP_EV_ERROR;
    else if (tcp_synchronized(s->state) && s->sq_bytes < s->snd_buf_size)
        ev |= MG_TCP_EV_WRITABLE;
    if (ev)
        tcp_notify(s, ev);
    tcp_leave(tcp);
}

void tcp_set_state(struct mg_tcp_sock *c, enum mg_tcp_state st) {
    if (st == MG_TCP_ESTABLISHED && c->state != MG_TCP_ESTABLISHED)
        c->tcp->stats.conns_established++;
    c->state = st;
}

/* Picks an ephemeral port: a random start, then upwards, skipping ports that would
 * collide (with the 4-tuple when raddr is known, with any binding otherwise). */
static int pick_ephemeral(struct mg_tcp_sock *s, uint32_t laddr, uint32_t raddr, uint16_t rport) {
    struct mg_tcp_layer *tcp = s->tcp;
    const struct mg_config *cfg = &tcp->inet->cfg;
    uint32_t lo = cfg->ephemeral_port_min ? cfg->ephemeral_port_min : 49152;
    uint32_t hi = cfg->ephemeral_port_max ? cfg->ephemeral_port_max : 65535;
    if (hi < lo)
        return -EADDRNOTAVAIL;
    uint32_t range = hi - lo + 1;
    uint32_t start = mg_rand_below(&tcp->inet->rand, range);
    for (uint32_t i = 0; i < range; i++) {
        uint16_t port = (uint16_t)(lo + (start + i) % range);
        if (raddr) {
            if (tcp_conn_lookup(tcp, laddr, port, raddr, rport) || tcp_listen_lookup(tcp, laddr, port))
                continue;
            /* A port bound explicitly by someone else stays theirs. */
            bool explicit_owner = false;
            for (struct mg_tcp_sock *o = *port_chain(tcp, TCP_TABLE_BIND, port); o; o = o->hash_next[TCP_TABLE_BIND])
                if (o->lport == port && o->has_handle && o->state != MG_TCP_SYN_SENT && !tcp_synchronized(o->state))
                    explicit_owner = true;
            if (explicit_owner)
                continue;
        } else if (bind_conflicts(s, laddr, port)) {
            continue;
        }
        return port;
    }
    return -EADDRNOTAVAIL;
}

int mg_tcp_bind(struct mg_tcp_sock *s, uint32_t addr, uint16_t port) {
    struct mg_inet *inet = s->tcp->inet;
    if (s->state != MG_TCP_CLOSED || s->in_hash[TCP_TABLE_BIND] || s->error)
        return -EINVAL;
    if (addr != 0 && addr != inet->ipv4_addr)
        return -EADDRNOTAVAIL;
    if (port == 0) {
        int p = pick_ephemeral(s, addr, 0, 0);
        if (p < 0)
            return p;
        port = (uint16_t)p;
    } else if (bind_conflicts(s, addr, port)) {
        return -EADDRINUSE;
    }
    s->laddr = addr;
    s->lport = port;
    tcp_table_insert(s, TCP_TABLE_BIND);
    return 0;
}

int mg_tcp_listen(struct mg_tcp_sock *s, int backlog) {
    if (s->state == MG_TCP_LISTEN) {
        s->backlog =
            backlog <= 0 ? TCP_DEFAULT_BACKLOG : (backlog > TCP_MAX_BACKLOG ? TCP_MAX_BACKLOG : (uint32_t)backlog);
        return 0;
    }
    if (s->state != MG_TCP_CLOSED || s->error)
        return -EINVAL;
    if (!s->in_hash[TCP_TABLE_BIND]) {
        int rc = mg_tcp_bind(s, 0, 0);
        if (rc < 0)
            return rc;
    }
    if (tcp_listen_lookup(s->tcp, s->laddr, s->lport) &&
        tcp_listen_lookup(s->tcp, s->laddr, s->lport)->laddr == s->laddr)
        return -EADDRINUSE;
    s->backlog = backlog <= 0 ? TCP_DEFAULT_BACKLOG : (backlog > TCP_MAX_BACKLOG ? TCP_MAX_BACKLOG : (uint32_t)backlog);
    s->state = MG_TCP_LISTEN;
    tcp_table_insert(s, TCP_TABLE_LISTEN);
    return 0;
}

/* Takes ch, a child in SYN-RECEIVED, off its listener l's list of them. */
static void syn_list_remove(struct mg_tcp_sock *l, struct mg_tcp_sock *ch) {
    if (ch->child_prev)
        ch->child_prev->child_next = ch->child_next;
    else
        l->syn_head = ch->child_next;
    if (ch->child_next)
        ch->child_next->child_prev = ch->child_prev;
    l->syn_count--;
}

void tcp_child_unlink(struct mg_tcp_sock *ch) {
    struct mg_tcp_sock *l = ch->parent;
    if (!l)
        return;
    if (ch->in_accept_q) {
        if (ch->child_prev)
            ch->child_prev->child_next = ch->child_next;
        else
            l->acc_head = ch->child_next;
        if (ch->child_next)
            ch->child_next->child_prev = ch->child_prev;
        else
            l->acc_tail = ch->child_prev;
        l->acc_count--;
        ch->in_accept_q = false;
    } else {
        syn_list_remove(l, ch);
    }
    ch->child_next = ch->child_prev = NULL;
    ch->parent = NULL;
}

void tcp_child_to_accept_queue(struct mg_tcp_sock *ch) {
    struct mg_tcp_sock *l = ch->parent;
    /* Leave the SYN-RECEIVED list... */
    syn_list_remove(l, ch);
    /* ...and join the accept queue at the tail. */
    ch->child_next = NULL;
    ch->child_prev = l->acc_tail;
    if (l->acc_tail)
        l->acc_tail->child_next = ch;
    else
        l->acc_head = ch;
    l->acc_tail = ch;
    l->acc_count++;
    ch->in_accept_q = true;
    tcp_notify(l, MG_TCP_EV_ACCEPTABLE);
}

int mg_tcp_accept(struct mg_tcp_sock *s, struct mg_tcp_sock **child, uint32_t *peer_addr, uint16_t *peer_port) {
    if (s->state != MG_TCP_LISTEN)
        return -EINVAL;
    struct mg_tcp_sock *ch = s->acc_head;
    if (!ch)
        return -EAGAIN;
    tcp_child_unlink(ch);
    ch->has_handle = true;
    ch->notify = NULL;
    ch->user = NULL;
    s->tcp->stats.conns_accepted++;
    *child = ch;
    if (peer_addr)
        *peer_addr = ch->raddr;
    if (peer_port)
        *peer_port = ch->rport;
    return 0;
}

int mg_tcp_connect(struct mg_tcp_sock *s, uint32_t addr, uint16_t port) {
    struct mg_tcp_layer *tcp = s->tcp;
    struct mg_inet *inet = tcp->inet;
    if (s->state == MG_TCP_SYN_SENT)
        return -EALREADY;
    if (s->state != MG_TCP_CLOSED)
        return tcp_synchronized(s->state) ? -EISCONN : -EINVAL;
    if (s->error)
        return -s->error;
    if (addr == 0 || addr == 0xffffffffu || port == 0 || (addr >> 28) == 0xe)
        return -EINVAL;
    uint32_t laddr = inet->ipv4_addr;
    if (s->in_hash[TCP_TABLE_BIND]) {
        if (tcp_conn_lookup(tcp, laddr, s->lport, addr, port))
            return -EADDRINUSE;
    } else {
        int p = pick_ephemeral(s, laddr, addr, port);
        if (p < 0)
            return p;
        s->lport = (uint16_t)p;
        tcp_table_insert(s, TCP_TABLE_BIND);
    }
    tcp_enter(tcp);
    s->laddr = laddr;
    s->raddr = addr;
    s->rport = port;
    s->active_open = true;
    s->iss = tcp_isn(tcp, laddr, s->lport, addr, port);
    s->snd_una = s->iss;
    s->snd_nxt = s->iss;
    s->snd_max = s->iss;
    s->snd_buf_seq = s->iss + 1;
    tcp_init_rcv_window(s);
    tcp_table_insert(s, TCP_TABLE_CONN);
    s->state = MG_TCP_SYN_SENT;
    tcp->stats.conns_opened++;
    tcp_send_syn(s);
    tcp_leave(tcp);
    return 0;
}

/* Our MSS, window scale and timestamp offset: fixed when the connection starts. */
void tcp_init_rcv_window(struct mg_tcp_sock *c) {
    struct mg_inet *inet = c->tcp->inet;
    uint16_t mss = inet->mss ? inet->mss : (uint16_t)(inet->mtu - 40);
    if (c->user_mss && c->user_mss < mss)
        mss = c->user_mss;
    c->our_mss = mss;
    uint8_t ws = 0;
    while (ws < TCP_MAX_WSCALE && (c->rcv_buf_size >> ws) > 65535)
        ws++;
    c->rcv_wscale = ws;
    uint8_t tuple[12];
    memcpy(tuple, &c->laddr, 4);
    memcpy(tuple + 4, &c->raddr, 4);
    memcpy(tuple + 8, &c->lport, 2);
    memcpy(tuple + 10, &c->rport, 2);
    tuple[0] ^= 0x5a; /* a different function of the tuple than the ISN */
    c->ts_offset = (uint32_t)mg_siphash24(c->tcp->isn_key, tuple, sizeof(tuple));
}

int mg_tcp_send(struct mg_tcp_sock *s, struct mg_buf *buf, uint32_t off) {
    if (s->error)
        return -s->error;
    if (s->fin_queued)
        return -EPIPE;
    switch (s->state) {
    case MG_TCP_SYN_SENT:
    case MG_TCP_SYN_RECEIVED:
    case MG_TCP_ESTABLISHED:
    case MG_TCP_CLOSE_WAIT:
        break;
    case MG_TCP_CLOSED:
    case MG_TCP_LISTEN:
        return -ENOTCONN;
    default:
        return -EPIPE;
    }
    if (off > buf->len)
        return -EINVAL;
    uint32_t len = buf->len - off;
    uint32_t space = s->snd_buf_size > s->sq_bytes ? s->snd_buf_size - s->sq_bytes : 0;
    if (len > space)
        len = space;
    if (len > INT32_MAX)
        len = INT32_MAX;
    if (len == 0)
        return 0;
    struct mg_tcp_layer *tcp = s->tcp;
    tcp_enter(tcp);
    int rc = tcp_sq_push(s, buf, off, len);
    if (rc == 0 && tcp_synchronized(s->state))
        tcp_output(s);
    tcp_leave(tcp);
    return rc < 0 ? rc : (int)len;
}

int mg_tcp_recv(struct mg_tcp_sock *s, struct mg_buf **out) {
    struct mg_buf *b = s->rq_head;
    if (!b) {
        if (s->fin_rcvd)
            return 0;
        if (s->error)
            return -s->error;
        if (s->state == MG_TCP_CLOSED || s->state == MG_TCP_LISTEN)
            return -ENOTCONN;
        return -EAGAIN;
    }
    struct mg_tcp_layer *tcp = s->tcp;
    tcp_enter(tcp);
    s->rq_head = b->next;
    if (!s->rq_head)
        s->rq_tail = NULL;
    b->next = NULL;
    s->rq_bytes -= b->len;
    s->rq_count--;
    if (tcp_synchronized(s->state) && s->state != MG_TCP_TIME_WAIT)
        tcp_maybe_window_update(s);
    tcp_leave(tcp);
    *out = b;
    return (int)b->len;
}

static void send_fin_transition(struct mg_tcp_sock *c) {
    c->fin_queued = true;
    if (c->state == MG_TCP_ESTABLISHED)
        tcp_set_state(c, MG_TCP_FIN_WAIT_1);
    else if (c->state == MG_TCP_CLOSE_WAIT)
        tcp_set_state(c, MG_TCP_LAST_ACK);
    /* SYN-RECEIVED: the FIN goes out once established (tcp_in.c). */
    tcp_output(c);
}

static void abort_children(struct mg_tcp_sock *l) {
    while (l->syn_head) {
        struct mg_tcp_sock *ch = l->syn_head;
        tcp_child_unlink(ch);
        tcp_send_rst(ch);
        tcp_terminate(ch, ECONNABORTED);
    }
    while (l->acc_head) {
        struct mg_tcp_sock *ch = l->acc_head;
        tcp_child_unlink(ch);
        tcp_send_rst(ch);
        tcp_terminate(ch, ECONNABORTED);
    }
}

void mg_tcp_close(struct mg_tcp_sock *s) {
    struct mg_tcp_layer *tcp = s->tcp;
    tcp_enter(tcp);
    s->has_handle = false;
    s->notify = NULL;
    s->user = NULL;
    switch (s->state) {
    case MG_TCP_LISTEN:
        abort_children(s);
        table_remove(s, TCP_TABLE_LISTEN);
        tcp_terminate(s, 0);
        break;
    case MG_TCP_CLOSED:
    case MG_TCP_SYN_SENT:
        tcp_terminate(s, 0);
        break;
    default:
        if ((s->linger_on && s->linger_s == 0) || s->rq_bytes > 0) {
            /* SO_LINGER 0, or unread data (RFC 2525 2.17): abort with RST. */
            if (tcp_synchronized(s->state) || s->state == MG_TCP_SYN_RECEIVED) {
                if (s->state != MG_TCP_TIME_WAIT)
                    tcp_send_rst(s);
            }
            tcp_terminate(s, 0);
        } else if (!s->fin_queued) {
            send_fin_transition(s);
        }
        /* FIN-WAIT-2 of an orphan must not last forever. */
        if (s->state == MG_TCP_FIN_WAIT_2)
            tcp_arm_wait(s, 2 * s->tcp->inet->cfg.tcp_msl_ns);
        break;
    }
    rq_free(s);
    maybe_bury(s);
    tcp_leave(tcp);
}

void mg_tcp_abort(struct mg_tcp_sock *s) {
    struct mg_tcp_layer *tcp = s->tcp;
    tcp_enter(tcp);
    s->has_handle = false;
    s->notify = NULL;
    if (s->state == MG_TCP_LISTEN) {
        abort_children(s);
        table_remove(s, TCP_TABLE_LISTEN);
    } else if (s->state != MG_TCP_CLOSED && s->state != MG_TCP_SYN_SENT && s->state != MG_TCP_TIME_WAIT) {
        tcp_send_rst(s);
    }
    tcp_terminate(s, 0);
    rq_free(s);
    maybe_bury(s);
    tcp_leave(tcp);
}

void tcp_terminate(struct mg_tcp_sock *c, int err) {
    bool was_open = c->state != MG_TCP_CLOSED && c->state != MG_TCP_LISTEN;
    tcp_timers_cancel_all(c);
    tcp_sq_free(c);
    ooo_free(c);
    table_remove(c, TCP_TABLE_CONN);
    table_remove(c, TCP_TABLE_LISTEN);
    if (c->parent) {
        tcp_child_unlink(c);
        rq_free(c);
    }
    c->state = MG_TCP_CLOSED;
    table_remove(c, TCP_TABLE_BIND);
    if (!c->has_handle)
        rq_free(c);
    if (err && !c->error) {
        c->error = err;
        if (was_open)
            tcp_notify(c, MG_TCP_EV_ERROR | MG_TCP_EV_READABLE | MG_TCP_EV_WRITABLE);
    }
    maybe_bury(c);
}

void tcp_enter_time_wait(struct mg_tcp_sock *c) {
    tcp_set_state(c, MG_TCP_TIME_WAIT);
    mg_timer_cancel(&c->tcp->inet->timers, &c->t_rexmit);
    mg_timer_cancel(&c->tcp->inet->timers, &c->t_persist);
    mg_timer_cancel(&c->tcp->inet->timers, &c->t_keep);
    mg_timer_cancel(&c->tcp->inet->timers, &c->t_delack);
    tcp_sq_free(c);
    tcp_arm_wait(c, 2 * c->tcp->inet->cfg.tcp_msl_ns);
}

/* ------------------------------------------------------------ options ---- */

static int opt_int(const void *val, socklen_t len, int *out) {
    if (!val || len < (socklen_t)sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

int mg_tcp_setsockopt(struct mg_tcp_sock *s, int level, int name, const void *val, socklen_t len) {
    int v = 0;
    if (level == SOL_SOCKET) {
        if (name == SO_LINGER) {
            struct linger l;
            if (!val || len < (socklen_t)sizeof(l))
                return -EINVAL;
            memcpy(&l, val, sizeof(l));
            if (l.l_linger < 0)
                return -EINVAL;
            s->linger_on = l.l_onoff != 0;
            s->linger_s = (uint32_t)l.l_linger;
            return 0;
        }
        if (opt_int(val, len, &v) < 0)
            return -EINVAL;
        switch (name) {
        case SO_KEEPALIVE:
            s->keepalive = v != 0;
            tcp_keepalive_reset(s);
            return 0;
        case SO_REUSEADDR:
            s->reuseaddr = v != 0;
            return 0;
        case SO_SNDBUF:
            if (v <= 0)
                return -EINVAL;
            s->snd_buf_size = (uint32_t)v < 2048 ? 2048 : (uint32_t)v;
            return 0;
        case SO_RCVBUF:
            /* The window scale is fixed at the handshake: only before it. */
            if (v <= 0)
                return -EINVAL;
            if (s->state != MG_TCP_CLOSED && s->state != MG_TCP_LISTEN)
                return -EINVAL;
            s->rcv_buf_size = (uint32_t)v < 2048 ? 2048 : (uint32_t)v;
            return 0;
        default:
            return -ENOPROTOOPT;
        }
    }
    if (level == IPPROTO_TCP) {
        if (opt_int(val, len, &v) < 0)
            return -EINVAL;
        switch (name) {
        case TCP_NODELAY: {
            struct mg_tcp_layer *tcp = s->tcp;
            s->nodelay = v != 0;
            if (s->nodelay && tcp_synchronized(s->state)) {
                tcp_enter(tcp);
                tcp_output(s);
                tcp_leave(tcp);
            }
            return 0;
        }
        case TCP_KEEPIDLE:
            if (v <= 0)
                return -EINVAL;
            s->keep_idle_ns = (uint64_t)v * MG_NS_PER_S;
            tcp_keepalive_reset(s);
            return 0;
        case TCP_KEEPINTVL:
            if (v <= 0)
                return -EINVAL;
            s->keep_intvl_ns = (uint64_t)v * MG_NS_PER_S;
            return 0;
        case TCP_KEEPCNT:
            if (v <= 0)
                return -EINVAL;
            s->keep_cnt = (uint32_t)v;
            return 0;
        case TCP_MAXSEG:
            if (v < 88 || v > 65535)
                return -EINVAL;
            s->user_mss = (uint16_t)v;
            return 0;
        default:
            return -ENOPROTOOPT;
        }
    }
    return -ENOPROTOOPT;
}

static int put_int(void *val, socklen_t *len, int v) {
    if (!val || !len || *len < (socklen_t)sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
}

int mg_tcp_getsockopt(struct mg_tcp_sock *s, int level, int name, void *val, socklen_t *len) {
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_LINGER: {
            struct linger l = {.l_onoff = s->linger_on, .l_linger = (int)s->linger_s};
            if (!val || !len || *len < (socklen_t)sizeof(l))
                return -EINVAL;
            memcpy(val, &l, sizeof(l));
            *len = sizeof(l);
            return 0;
        }
        case SO_KEEPALIVE:
            return put_int(val, len, s->keepalive);
        case SO_REUSEADDR:
            return put_int(val, len, s->reuseaddr);
        case SO_SNDBUF:
            return put_int(val, len, (int)s->snd_buf_size);
        case SO_RCVBUF:
            return put_int(val, len, (int)s->rcv_buf_size);
        case SO_ERROR: {
            int rc = put_int(val, len, s->error);
            return rc;
        }
        default:
            return -ENOPROTOOPT;
        }
    }
    if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_NODELAY:
            return put_int(val, len, s->nodelay);
        case TCP_KEEPIDLE:
            return put_int(val, len, (int)(s->keep_idle_ns / MG_NS_PER_S));
        case TCP_KEEPINTVL:
            return put_int(val, len, (int)(s->keep_intvl_ns / MG_NS_PER_S));
        case TCP_KEEPCNT:
            return put_int(val, len, (int)s->keep_cnt);
        case TCP_MAXSEG:
            return put_int(val, len, s->mss ? s->mss : (s->user_mss ? s->user_mss : s->tcp->inet->mss));
        default:
            return -ENOPROTOOPT;
        }
    }
    return -ENOPROTOOPT;
}

int mg_tcp_peer(const struct mg_tcp_sock *s, uint32_t *addr, uint16_t *port) {
    if (s->raddr == 0 || s->state == MG_TCP_LISTEN)
        return -ENOTCONN;
    if (addr)
        *addr = s->raddr;
    if (port)
        *port = s->rport;
    return 0;
}

int mg_tcp_local(const struct mg_tcp_sock *s, uint32_t *addr, uint16_t *port) {
    if (addr)
        *addr = s->laddr;
    if (port)
        *port = s->lport;
    return 0;
}

enum mg_tcp_state mg_tcp_sock_state(const struct mg_tcp_sock *s) {
    return s->state;
}

int mg_tcp_error(const struct mg_tcp_sock *s) {
    return s->error;
}

/* ------------------------------------------------------------ invariants ---- */

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            if (why && len)                                                                                            \
                snprintf(why, len, __VA_ARGS__);                                                                       \
            return -EFAULT;                                                                                            \
        }                                                                                                              \
    } while (0)

static int check_sock(const struct mg_tcp_sock *c, char *why, size_t len) {
    const char *st = mg_tcp_state_name(c->state);
    unsigned port = c->lport;
    /* Send queue accounting. */
    uint32_t bytes = 0;
    for (uint32_t i = 0; i < c->sq_count; i++) {
        const struct tcp_sndent *e = &c->sq[(c->sq_head + i) % c->sq_cap];
        CHECK(e->buf && e->len > 0 && e->ptr >= e->buf->base && e->ptr + e->len <= e->buf->base + e->buf->cap,
              "port %u: bad send entry %u", port, i);
        bytes += e->len;
    }
    CHECK(bytes == c->sq_bytes, "port %u: send queue holds %u bytes, counter says %u", port, bytes, c->sq_bytes);
    /* Receive queue accounting. */
    uint32_t rb = 0, rn = 0;
    for (const struct mg_buf *b = c->rq_head; b; b = b->next) {
        CHECK(b->len > 0, "port %u: empty buffer in the receive queue", port);
        rb += b->len;
        rn++;
    }
    CHECK(rb == c->rq_bytes && rn == c->rq_count, "port %u: receive queue %u bytes/%u bufs, counters %u/%u", port, rb,
          rn, c->rq_bytes, c->rq_count);
    uint32_t ob = 0, on = 0;
    uint32_t prev_end = c->rcv_nxt;
    for (const struct mg_buf *b = c->ooo_head; b; b = b->next) {
        uint32_t seq = (uint32_t)b->user;
        CHECK(SEQ_GT(seq, c->rcv_nxt), "port %u: out-of-order segment at or below rcv_nxt", port);
        CHECK(SEQ_GEQ(seq, prev_end), "port %u: out-of-order segments overlap", port);
        prev_end = seq + b->len;
        ob += b->len;
        on++;
    }
    CHECK(ob == c->ooo_bytes && on == c->ooo_count, "port %u: ooo queue %u/%u, counters %u/%u", port, ob, on,
          c->ooo_bytes, c->ooo_count);
    const struct mg_timers *ts = &c->tcp->inet->timers;
    (void)ts;
    if (c->state == MG_TCP_CLOSED || c->state == MG_TCP_LISTEN) {
        CHECK(!mg_timer_armed(&c->t_rexmit) && !mg_timer_armed(&c->t_persist) && !mg_timer_armed(&c->t_keep) &&
                  !mg_timer_armed(&c->t_delack) && !mg_timer_armed(&c->t_wait),
              "port %u: %s with a timer armed", port, st);
        CHECK(c->sq_count == 0 && c->ooo_count == 0, "port %u: %s holds queued segments", port, st);
        return 0;
    }
    /* Sequence space. */
    CHECK(SEQ_LEQ(c->snd_una, c->snd_nxt) && SEQ_LEQ(c->snd_nxt, c->snd_max),
          "port %u %s: snd_una %u <= snd_nxt %u <= snd_max %u violated", port, st, c->snd_una, c->snd_nxt, c->snd_max);
    const char *sb_bad = tcp_sack_check(c);
    CHECK(!sb_bad, "port %u %s: SACK scoreboard: %s (snd_una %u, snd_max %u, %u ranges)", port, st, sb_bad, c->snd_una,
          c->snd_max, c->sb_count);
    if (c->state == MG_TCP_TIME_WAIT) {
        CHECK(mg_timer_armed(&c->t_wait), "port %u: TIME-WAIT without its timer", port);
        CHECK(!mg_timer_armed(&c->t_rexmit) && !mg_timer_armed(&c->t_persist), "port %u: TIME-WAIT retransmitting",
              port);
        return 0;
    }
    uint32_t limit = tcp_data_end(c) + (c->fin_sent ? 1u : 0u);
    CHECK(SEQ_LEQ(c->snd_max, limit), "port %u %s: snd_max %u beyond the send queue end %u", port, st, c->snd_max,
          limit);
    if (c->state != MG_TCP_SYN_SENT && c->state != MG_TCP_SYN_RECEIVED)
        CHECK(SEQ_GEQ(c->snd_una, c->snd_buf_seq), "port %u %s: snd_una %u below the send queue start %u", port, st,
              c->snd_una, c->snd_buf_seq);
    CHECK(c->sq_bytes <= c->snd_buf_size + 0u || c->sq_bytes == 0, "port %u: send queue over its size", port);
    /* Receive window: what we advertised fits in the buffer next to unread data. */
    if (c->state != MG_TCP_SYN_SENT) {
        CHECK(SEQ_GEQ(c->rcv_adv, c->rcv_nxt) || c->fin_rcvd, "port %u %s: advertised edge %u left of rcv_nxt %u", port,
              st, c->rcv_adv, c->rcv_nxt);
        if (!c->fin_rcvd)
            CHECK(c->rq_bytes + (c->rcv_adv - c->rcv_nxt) <= c->rcv_buf_size,
                  "port %u %s: %u unread + window %u exceed the buffer %u", port, st, c->rq_bytes,
                  c->rcv_adv - c->rcv_nxt, c->rcv_buf_size);
    }
    /* Timers: the retransmission timer runs iff something is unacknowledged, and the
     * persist timer only when it does not. */
    bool outstanding = c->snd_una != c->snd_max;
    CHECK(mg_timer_armed(&c->t_rexmit) == outstanding, "port %u %s: rexmit timer %s with %u bytes outstanding", port,
          st, mg_timer_armed(&c->t_rexmit) ? "armed" : "idle", c->snd_max - c->snd_una);
    CHECK(!(mg_timer_armed(&c->t_persist) && outstanding), "port %u %s: persist and rexmit both armed", port, st);
    CHECK(!mg_timer_armed(&c->t_delack) || c->segs_unacked > 0, "port %u %s: delayed-ACK timer with nothing to ACK",
          port, st);
    CHECK(!mg_timer_armed(&c->t_keep) || c->keepalive, "port %u %s: keepalive timer without SO_KEEPALIVE", port, st);
    CHECK(!(c->keepalive && c->state == MG_TCP_ESTABLISHED) || mg_timer_armed(&c->t_keep),
          "port %u %s: SO_KEEPALIVE without its timer", port, st);
    return 0;
}

static bool in_home_chain(const struct mg_tcp_sock *c, enum tcp_table t) {
    for (const struct mg_tcp_sock *o = *home_chain(c, t); o; o = o->hash_next[t])
        if (o == c)
            return true;
    return false;
}

int mg_tcp_check_invariants(const struct mg_tcp_layer *tcp, char *why, size_t len) {
    uint32_t n = 0;
    for (const struct mg_tcp_sock *c = tcp->all_head; c; c = c->all_next) {
        int rc = check_sock(c, why, len);
        if (rc < 0)
            return rc;
        if (c->in_hash[TCP_TABLE_CONN]) {
            const struct mg_tcp_sock *f =
                tcp_conn_lookup((struct mg_tcp_layer *)tcp, c->laddr, c->lport, c->raddr, c->rport);
            CHECK(f == c, "port %u: connection not found in the demux table", c->lport);
        }
        for (int t = 0; t < TCP_TABLE__COUNT; t++)
            CHECK(!c->in_hash[t] || in_home_chain(c, t), "port %u: socket missing from the chain of table %d", c->lport,
                  t);
        n++;
    }
    CHECK(n == tcp->nsocks, "socket list holds %u, counter says %u", n, tcp->nsocks);
    return 0;
}
