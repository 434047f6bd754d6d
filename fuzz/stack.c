/* fuzz/stack.c — fuzz target: the whole stack, everything a remote peer can send.
 *
 * Each input starts from the same stack (fh_setup) brought, with a real handshake of
 * crafted frames, into a state with something to break (built once, then restored
 * from a snapshot of the fuzz arena before every input: fuzz/arena.h): a TCP listener on port 80,
 * an established connection (peer port 40000) with data in flight both ways (the
 * stack's 2000 unacknowledged bytes out, 300 bytes in order and 200 out of order in),
 * an active open to the peer's port 5000 waiting in SYN-SENT, and a UDP socket on 53.
 *
 * The input is a sequence of records, each
 *     u8 ctl | u16 time advance in ms (big endian) | u16 frame length | frame
 * ctl bits: 0 = rewrite the frame's addresses as peer -> stack, 1 = fix IPv4 and
 * TCP/UDP/ICMP lengths and checksums, 2 = make a TCP frame's ports, seq and ack
 * relative to the established connection (its ports are set, seq and ack are added to
 * the stack's last ACK and highest sequence sent), 3 = the application then reads
 * everything (TCP, UDP, accepts), 4 = the application sends 1000 bytes, 5 = it closes
 * the established connection, 6 = with bit 2, use the SYN-SENT connection instead.
 * The frame goes through the device's receive path, the clock advances, the stack
 * polls; after every record TCP's invariants and the memory bounds are checked, and
 * at the end every buffer must be back in the pool and every block the stack
 * allocated freed. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "fuzz/stack_harness.h"

#define LISTEN_PORT 80
#define PEER_PORT 40000
#define ACTIVE_PEER_PORT 5000
#define UDP_PORT 53
#define PEER_ISN 1000000u
#define MAX_ACCEPTED 8

enum {
    CTL_ADDR = 1u << 0,
    CTL_CKSUM = 1u << 1,
    CTL_REL = 1u << 2,
    CTL_READ = 1u << 3,
    CTL_SEND = 1u << 4,
    CTL_CLOSE = 1u << 5,
    CTL_ACTIVE = 1u << 6,
};

struct app {
    struct mg_tcp_sock *listener, *est, *active;
    struct mg_tcp_sock *accepted[MAX_ACCEPTED];
    unsigned naccepted;
    struct mg_udp_sock *udp;
    uint16_t active_lport;
};

static uint8_t payload[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    fh_global_init();
    return 0;
}

/* The application sends len bytes (one pool buffer at a time; TCP keeps references). */
static void app_send(struct fh *h, struct mg_tcp_sock *s, uint32_t len) {
    while (len > 0 && fh_app_may_send(h)) {
        struct mg_buf *b = mg_buf_alloc(h->dev.pool);
        if (b == NULL)
            return;
        uint32_t n = len < 1400 ? len : 1400;
        memcpy(mg_buf_append(b, n), payload, n);
        int rc = mg_tcp_send(s, b, 0);
        mg_buf_free(b);
        if (rc <= 0)
            return;
        len -= n;
    }
}

static void app_drain(struct mg_tcp_sock *s) {
    struct mg_buf *b;
    for (int i = 0; i < 256 && mg_tcp_recv(s, &b) > 0; i++)
        mg_buf_free(b);
}

static void app_read_all(struct app *a) {
    if (a->est)
        app_drain(a->est);
    if (a->active)
        app_drain(a->active);
    struct mg_tcp_sock *child;
    while (a->naccepted < MAX_ACCEPTED && mg_tcp_accept(a->listener, &child, NULL, NULL) == 0)
        a->accepted[a->naccepted++] = child;
    for (unsigned i = 0; i < a->naccepted; i++)
        app_drain(a->accepted[i]);
    struct mg_buf *b;
    for (int i = 0; i < 64 && mg_udp_recvfrom(a->udp, &b, NULL, NULL) >= 0; i++)
        mg_buf_free(b);
}

/* The fixed starting state every input runs against. */
static void setup_state(struct fh *h, struct app *a) {
    fh_setup(h, NULL);
    memset(a, 0, sizeof(*a));
    a->udp = mg_udp_open(h->udp, NULL, NULL);
    if (a->udp == NULL || mg_udp_bind(a->udp, 0, UDP_PORT) != 0)
        fuzz_fail("UDP socket setup failed");
    a->listener = mg_tcp_open(h->tcp, NULL, NULL);
    if (a->listener == NULL || mg_tcp_bind(a->listener, 0, LISTEN_PORT) != 0 || mg_tcp_listen(a->listener, 8) != 0)
        fuzz_fail("listener setup failed");

    /* Passive open with every option, then data both ways. */
    struct mg_tcp_opts syn = {.has_mss = true,
                              .mss = 1400,
                              .has_wscale = true,
                              .wscale = 7,
                              .sack_permitted = true,
                              .has_timestamp = true,
                              .ts_val = h->peer_ts};
    fh_queue_tcp(h, PEER_PORT, LISTEN_PORT, PEER_ISN, 0, MG_TCP_SYN, 65535, &syn, NULL, 0);
    fh_run(h, 0);
    struct fh_view *v = fh_view(h, LISTEN_PORT, PEER_PORT);
    if (v == NULL || v->last_flags != (MG_TCP_SYN | MG_TCP_ACK))
        fuzz_fail("no SYN-ACK to the setup SYN");
    struct mg_tcp_opts ts = {.has_timestamp = true, .ts_val = ++h->peer_ts, .ts_ecr = v->ts_val};
    fh_queue_tcp(h, PEER_PORT, LISTEN_PORT, PEER_ISN + 1, v->snd_max, MG_TCP_ACK, 1024, &ts, NULL, 0);
    fh_run(h, MG_NS_PER_MS);
    if (mg_tcp_accept(a->listener, &a->est, NULL, NULL) != 0)
        fuzz_fail("setup handshake did not complete");
    int one = 1;
    mg_tcp_setsockopt(a->est, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    app_send(h, a->est, 2000);
    fh_run(h, 0);
    ts.ts_val = ++h->peer_ts;
    ts.ts_ecr = v->ts_val;
    fh_queue_tcp(h, PEER_PORT, LISTEN_PORT, PEER_ISN + 1, v->iss + 1, MG_TCP_ACK | MG_TCP_PSH, 1024, &ts, payload, 300);
    ts.num_sack_blocks = 0;
    fh_queue_tcp(h, PEER_PORT, LISTEN_PORT, PEER_ISN + 1 + 500, v->iss + 1, MG_TCP_ACK, 1024, &ts, payload, 200);
    fh_run(h, MG_NS_PER_MS);

    /* An active open the peer has not answered. */
    a->active = mg_tcp_open(h->tcp, NULL, NULL);
    if (a->active == NULL || mg_tcp_connect(a->active, FH_PEER_IP, ACTIVE_PEER_PORT) != 0)
        fuzz_fail("active open failed");
    mg_tcp_local(a->active, NULL, &a->active_lport);
    fh_run(h, 0);
    fh_check(h);
}

static uint16_t load16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t load32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void store32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Makes a TCP frame's ports, seq and ack relative to one of the setup connections. */
static void make_relative(struct fh *h, struct app *a, uint8_t *frame, size_t len, bool active) {
    if (len < MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN || frame[12] != 0x08 || frame[13] != 0x00)
        return;
    uint8_t *ip = frame + MG_ETH_HDR_LEN;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (ip[9] != MG_IPPROTO_TCP || ihl < MG_IPV4_HDR_LEN || len < MG_ETH_HDR_LEN + ihl + MG_TCP_HDR_LEN)
        return;
    uint8_t *tp = ip + ihl;
    uint16_t lport = active ? a->active_lport : LISTEN_PORT;
    uint16_t rport = active ? ACTIVE_PEER_PORT : PEER_PORT;
    struct fh_view *v = fh_view(h, lport, rport);
    tp[0] = (uint8_t)(rport >> 8);
    tp[1] = (uint8_t)rport;
    tp[2] = (uint8_t)(lport >> 8);
    tp[3] = (uint8_t)lport;
    if (v == NULL)
        return;
    store32(tp + 4, load32(tp + 4) + (v->ack_valid ? v->ack : 0));
    store32(tp + 8, load32(tp + 8) + v->snd_max);
}

/* The starting state, in the fuzz arena: built by the first execution, then restored
 * from the arena's snapshot before every other (fuzz/arena.h), at the same address. */
struct world {
    struct fh h;
    struct app a;
};
static struct world *world;

static struct world *begin(void) {
    if (!fh_begin()) {
        world = fh_alloc_root(sizeof(*world));
        setup_state(&world->h, &world->a);
        fh_snapshot();
    }
    return world;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct world *w = begin();
    struct fh *h = &w->h;
    struct app *a = &w->a;
    uint8_t frame[1600];
    bool closed = false;
    while (size >= 5) {
        uint8_t ctl = data[0];
        uint64_t advance = (uint64_t)load16(data + 1) * MG_NS_PER_MS;
        size_t flen = load16(data + 3);
        data += 5;
        size -= 5;
        if (flen > size)
            flen = size;
        size_t copy = flen < sizeof(frame) ? flen : sizeof(frame);
        memcpy(frame, data, copy);
        data += flen;
        size -= flen;
        if (ctl & CTL_REL)
            make_relative(h, a, frame, copy, (ctl & CTL_ACTIVE) != 0);
        fh_fix_frame(frame, copy, (ctl & CTL_ADDR) != 0, (ctl & CTL_CKSUM) != 0);
        if (copy > 0)
            fh_queue_frame(h, frame, copy);
        fh_run(h, advance);
        fh_check(h);
        if (ctl & CTL_READ)
            app_read_all(a);
        if ((ctl & CTL_SEND) && !closed)
            app_send(h, a->est, 1000);
        if ((ctl & CTL_CLOSE) && !closed) {
            mg_tcp_close(a->est);
            a->est = NULL;
            closed = true;
        }
        if (ctl & (CTL_READ | CTL_SEND | CTL_CLOSE)) {
            fh_run(h, 0);
            fh_check(h);
        }
    }
    /* Timers fire only when the input moves the clock: an extra run here would spend
     * most of each execution retransmitting the setup's data. */
    fh_teardown(h);
    return 0;
}
