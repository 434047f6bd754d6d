/* pcap/replay.c — the replay engine (see replay.h): load the capture, pick the
 * endpoint, build a stack and a PDPIX application for it, then walk the capture's
 * timeline: run timers up to each frame's time, feed the frames addressed to the
 * endpoint, and record the stack's answers.
 *
 * The stack's netdev is the replay's own (struct mem_dev): it is where the timeline is
 * enforced and margay's frames are recorded. In memory mode it holds the frames
 * itself; in net_pcap mode it sits on a DPDK port (the lower device) and takes each
 * frame from the port's rx_pcap only when the timeline reaches it, and passes every
 * frame margay sends on to the port's tx_pcap. net_pcap delivers frames as fast as it
 * is polled and stamps nothing from the capture, so the clock never follows the
 * device: it follows the capture, and the device is polled for exactly one frame at a
 * time, which must be byte for byte the frame the timeline expects. */
#include "config.h"

#include "pcap/replay.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/runtime.h"
#include "drivers/netdev_open.h"
#include "drivers/pcapng.h"
#include "inet/tcp_int.h"
#include "libos/inet/proto.h"
#include "pcap/reader.h"
#include "pcap/replay_app.h"
#include "pcap/replay_prog.h"

#define MAX_FRAMES (1u << 20)
#define MAX_BYTES (512ull << 20)
#define MAX_FLOWS 4096u
#define RXQ_CAP 1024u
#define STEP_ROUNDS 256
#define ADVANCE_ROUNDS 200000
#define DEVICE_RX_TRIES 1000
#define NET_PCAP_PORT "net_pcap0"

/* ---- the in-memory netdev: injected frames in, sent frames kept ---- */

struct replay;
struct mem_dev {
    struct mg_netdev dev;
    struct mg_buf *rxq[RXQ_CAP];
    unsigned rx_head, rx_len;
    struct replay *rp;
};

struct replay {
    const struct mg_replay_opts *opts;
    struct mg_replay_result *res;
    struct mg_replay_frame *in;
    size_t nin;
    struct mg_clock clock;
    struct mem_dev mem;
    struct mg_rt *rt;
    struct mg_inet *inet;
    struct mg_pcapng out;
    bool out_open;
    bool finished; /* the replay is over: the device records nothing more */
    int out_err;
    size_t out_cap;
    struct mg_replay_app_state *app;
    struct mg_replay_prog *prog;
    /* net_pcap mode */
    struct mg_netdev *lower;
    uint32_t lower_room; /* the longest frame one of its buffers holds */
    char dir[200], rx_path[216], tx_path[216];
    bool dir_temp;
    int dev_err;
    char dev_msg[256];
};

static void observe_margay(struct replay *rp, const uint8_t *f, size_t len);

static uint16_t mem_rx(struct mg_netdev *d, struct mg_buf **bufs, uint16_t n) {
    struct mem_dev *m = d->priv;
    uint16_t k = 0;
    while (k < n && m->rx_len > 0) {
        bufs[k++] = m->rxq[m->rx_head];
        m->rx_head = (m->rx_head + 1) % RXQ_CAP;
        m->rx_len--;
    }
    return k;
}

static int keep_out_frame(struct replay *rp, const uint8_t *data, size_t len) {
    struct mg_replay_result *res = rp->res;
    if (res->nout == rp->out_cap) {
        size_t cap = rp->out_cap ? rp->out_cap * 2 : 256;
        struct mg_replay_frame *p = realloc(res->out, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        res->out = p;
        rp->out_cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, data, len);
    res->out[res->nout++] =
        (struct mg_replay_frame){.ts_ns = mg_clock_now(&rp->clock), .len = (uint32_t)len, .data = copy};
    return 0;
}

static void device_error(struct replay *rp, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void device_error(struct replay *rp, int rc, const char *fmt, ...) {
    if (rp->dev_err)
        return; /* the first one explains */
    rp->dev_err = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rp->dev_msg, sizeof(rp->dev_msg), fmt, ap);
    va_end(ap);
}

/* Hands one of margay's frames to the lower device (net_pcap writes it to tx_pcap). */
static void to_device(struct replay *rp, struct mg_buf *b) {
    if (mg_netdev_tx(rp->lower, &b, 1) == 1) {
        rp->res->device_tx++;
        return;
    }
    mg_buf_free(b);
    device_error(rp, -EIO, "%s refused frame %llu margay sent", NET_PCAP_PORT,
                 (unsigned long long)rp->res->frames_out);
}

static uint16_t mem_tx(struct mg_netdev *d, struct mg_buf **bufs, uint16_t n) {
    struct mem_dev *m = d->priv;
    struct replay *rp = m->rp;
    for (uint16_t i = 0; i < n; i++) {
        struct mg_buf *b = bufs[i];
        if (rp->finished) {
            mg_buf_free(b);
            continue;
        }
        rp->res->frames_out++;
        if (keep_out_frame(rp, b->data, b->len) < 0 && !rp->out_err)
            rp->out_err = -ENOMEM;
        if (rp->out_open) {
            int rc = mg_pcapng_write_frame(&rp->out, mg_clock_now(&rp->clock), b->data, b->len, MG_PCAPNG_DIR_OUT);
            if (rc < 0 && !rp->out_err)
                rp->out_err = rc;
        }
        observe_margay(rp, b->data, b->len);
        d->stats.tx_frames++;
        d->stats.tx_bytes += b->len;
        if (rp->lower)
            to_device(rp, b);
        else
            mg_buf_free(b);
    }
    return n;
}

static const struct mg_netdev_ops mem_ops = {.rx_burst = mem_rx, .tx_burst = mem_tx};

/* ---- frame parsing helpers ---- */

struct pkt {
    bool eth_ok;
    struct mg_eth_hdr eth;
    bool ipv4;
    struct mg_ipv4_hdr ip;
    size_t ip_off;
    bool tcp;
    struct mg_tcp_hdr th;
    size_t tcp_off;
    uint32_t payload_len;
    bool arp;
    uint16_t arp_op;
    uint32_t arp_tpa;
};

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void parse_pkt(const uint8_t *f, size_t len, struct pkt *p) {
    memset(p, 0, sizeof(*p));
    if (mg_eth_parse(f, len, &p->eth) < 0)
        return;
    p->eth_ok = true;
    const uint8_t *l3 = f + p->eth.hdr_len;
    size_t l3len = len - p->eth.hdr_len;
    if (p->eth.ethertype == MG_ETHERTYPE_ARP) {
        if (l3len >= 28) {
            p->arp = true;
            p->arp_op = (uint16_t)(l3[6] << 8 | l3[7]);
            p->arp_tpa = get32(l3 + 24);
        }
        return;
    }
    if (p->eth.ethertype != MG_ETHERTYPE_IPV4 || mg_ipv4_parse(l3, l3len, false, &p->ip) < 0)
        return;
    p->ipv4 = true;
    p->ip_off = p->eth.hdr_len;
    if (p->ip.proto != 6 || (p->ip.frag & (MG_IPV4_MF | MG_IPV4_OFFMASK)))
        return;
    size_t ip_end = p->ip.total_len <= l3len ? p->ip.total_len : l3len;
    if (ip_end < p->ip.hdr_len)
        return;
    const uint8_t *l4 = l3 + p->ip.hdr_len;
    size_t l4len = ip_end - p->ip.hdr_len;
    if (mg_tcp_parse(l4, l4len, &p->th) < 0)
        return;
    p->tcp = true;
    p->tcp_off = p->ip_off + p->ip.hdr_len;
    p->payload_len = (uint32_t)(l4len - p->th.hdr_len);
}

static bool mac_is_group(const uint8_t *mac) {
    return mac[0] & 1;
}

/* ---- flows ---- */

static struct mg_replay_flow *flow_find(struct mg_replay_result *res, uint32_t cip, uint16_t cport, uint32_t sip,
                                        uint16_t sport, bool create) {
    for (size_t i = 0; i < res->nflows; i++) {
        struct mg_replay_flow *fl = &res->flows[i];
        if (fl->client_ip == cip && fl->client_port == cport && fl->server_ip == sip && fl->server_port == sport)
            return fl;
    }
    if (!create || res->nflows >= MAX_FLOWS)
        return NULL;
    struct mg_replay_flow *p = realloc(res->flows, (res->nflows + 1) * sizeof(*p));
    if (!p)
        return NULL;
    res->flows = p;
    struct mg_replay_flow *fl = &res->flows[res->nflows++];
    memset(fl, 0, sizeof(*fl));
    fl->client_ip = cip;
    fl->client_port = cport;
    fl->server_ip = sip;
    fl->server_port = sport;
    return fl;
}

static bool is_server_port(const struct mg_replay_result *res, uint16_t port) {
    for (unsigned i = 0; i < res->nports; i++)
        if (res->ports[i] == port)
            return true;
    return false;
}

/* Signed distance a - b in sequence space. */
static int32_t seq_diff(uint32_t a, uint32_t b) {
    return (int32_t)(a - b);
}

/* Updates a server side (recorded or margay) with one segment it sent. */
static void observe_server_segment(struct mg_replay_flow *fl, struct mg_replay_side *s, const struct pkt *p) {
    const struct mg_tcp_hdr *th = &p->th;
    s->frames++;
    if ((th->flags & (MG_TCP_SYN | MG_TCP_ACK)) == (MG_TCP_SYN | MG_TCP_ACK)) {
        s->answered_syn = true;
        if (!s->isn_known) {
            s->isn_known = true;
            s->isn = th->seq;
            s->synack_opts = th->opts;
        }
    }
    if ((th->flags & MG_TCP_RST) && !s->answered_syn)
        s->refused_syn = true;
    if (th->flags & MG_TCP_RST)
        s->rst = true;
    if (th->flags & MG_TCP_FIN)
        s->fin = true;
    s->payload_sent += p->payload_len;
    if (s->isn_known) {
        uint32_t end =
            th->seq + p->payload_len + ((th->flags & MG_TCP_SYN) ? 1 : 0) + ((th->flags & MG_TCP_FIN) ? 1 : 0);
        int32_t rel = seq_diff(end, s->isn);
        if (rel > 0 && (uint32_t)rel > s->snd_max_rel)
            s->snd_max_rel = (uint32_t)rel;
    }
    if ((th->flags & MG_TCP_ACK) && !(th->flags & MG_TCP_RST) && fl->client_syn) {
        /* Payload bytes acknowledged: the SYN takes one sequence number, and a FIN
         * acknowledged past the payload is not payload. */
        int32_t rel = seq_diff(th->ack, fl->client_isn + 1);
        if (rel >= 0) {
            uint32_t r = (uint32_t)rel;
            if (r > fl->client_payload_max_rel && fl->client_fin)
                r = fl->client_payload_max_rel;
            if (!s->acked || r > s->max_ack_rel) {
                if (s->acked)
                    s->ack_steps++;
                s->max_ack_rel = r;
            } else if (r < s->max_ack_rel) {
                s->ack_went_back = true;
            }
            s->acked = true;
        }
    }
}

static void observe_margay(struct replay *rp, const uint8_t *f, size_t len) {
    struct pkt p;
    parse_pkt(f, len, &p);
    if (!p.tcp || p.ip.src != rp->res->endpoint_ip)
        return;
    struct mg_replay_flow *fl = flow_find(rp->res, p.ip.dst, p.th.dport, p.ip.src, p.th.sport, false);
    if (fl)
        observe_server_segment(fl, &fl->margay, &p);
}

/* ---- loading and choosing the endpoint ---- */

static void store_cksum(uint8_t *field, uint16_t ck) {
    field[0] = (uint8_t)(ck >> 8);
    field[1] = (uint8_t)ck;
}

/* The payload the capture did not keep is zeros now; a TCP or UDP checksum over it
 * is recomputed so the stack judges the segment, not the capture's snap length. The
 * original checksum cannot be verified (its bytes are gone). */
static void complete_truncated(struct mg_replay_result *res, uint8_t *f, uint32_t kept, uint32_t full) {
    res->frames_completed++;
    struct pkt p;
    parse_pkt(f, full, &p);
    if (!p.ipv4 || kept < p.ip_off + p.ip.hdr_len || (p.ip.frag & (MG_IPV4_MF | MG_IPV4_OFFMASK)))
        return;
    size_t l4_off = p.ip_off + p.ip.hdr_len;
    if (p.ip.total_len > full - p.ip_off || p.ip.total_len < p.ip.hdr_len)
        return;
    size_t l4_len = p.ip.total_len - p.ip.hdr_len;
    size_t ck_off = p.ip.proto == 6 ? 16 : p.ip.proto == 17 ? 6 : 0;
    if (!ck_off || l4_len < ck_off + 2 || kept < l4_off + ck_off + 2)
        return;
    store_cksum(f + l4_off + ck_off, 0);
    uint16_t ck = mg_l4_cksum_ipv4(p.ip.src, p.ip.dst, p.ip.proto, f + l4_off, l4_len);
    if (p.ip.proto == 17 && ck == 0)
        ck = 0xffff;
    store_cksum(f + l4_off + ck_off, ck);
}

static int load_capture(struct replay *rp, char *err, size_t errlen) {
    struct mg_cap_reader *r;
    int rc = mg_cap_open(rp->opts->in_path, &r, err, errlen);
    if (rc < 0)
        return rc;
    rp->res->linktype = mg_cap_linktype(r);
    size_t cap = 0;
    uint64_t bytes = 0;
    struct mg_cap_frame f;
    char ferr[256];
    while ((rc = mg_cap_next(r, &f, ferr, sizeof(ferr))) == 1 || rc == -EPROTO) {
        if (rc == -EPROTO) {
            if (!rp->res->frames_skipped)
                snprintf(rp->res->first_skip, sizeof(rp->res->first_skip), "%s", ferr);
            rp->res->frames_skipped++;
            continue;
        }
        if (rp->nin >= MAX_FRAMES || bytes + f.len > MAX_BYTES) {
            snprintf(err, errlen, "%s: more than %u frames or %llu MiB; split the capture (editcap -c)",
                     rp->opts->in_path, MAX_FRAMES, (unsigned long long)(MAX_BYTES >> 20));
            rc = -EFBIG;
            break;
        }
        if (rp->nin == cap) {
            cap = cap ? cap * 2 : 256;
            struct mg_replay_frame *p = realloc(rp->in, cap * sizeof(*p));
            if (!p) {
                rc = -ENOMEM;
                break;
            }
            rp->in = p;
        }
        /* A frame cut short by the capture's snap length is completed with zeros (see
         * complete_truncated), so the conversation can go on; the report counts them. */
        uint32_t full = f.orig_len > f.len && f.orig_len <= MG_CAP_MAX_FRAME ? f.orig_len : f.len;
        uint8_t *copy = calloc(1, full);
        if (!copy) {
            rc = -ENOMEM;
            break;
        }
        memcpy(copy, f.data, f.len);
        rp->in[rp->nin++] = (struct mg_replay_frame){.ts_ns = f.ts_ns, .len = full, .data = copy};
        if (full > f.len)
            complete_truncated(rp->res, copy, f.len, full);
        bytes += full;
    }
    if (rc < 0 && rc != -EFBIG && rc != -ENOMEM)
        snprintf(err, errlen, "%s: %s", rp->opts->in_path, ferr);
    else if (rc == -ENOMEM)
        snprintf(err, errlen, "%s: out of memory", rp->opts->in_path);
    mg_cap_close(r);
    rp->res->frames_read = rp->nin + rp->res->frames_skipped;
    return rc < 0 ? rc : 0;
}

static bool usable_unicast(uint32_t ip) {
    return ip != 0 && ip != 0xffffffffu && (ip >> 28) != 0xe;
}

static bool refused_port(const struct replay *rp, uint16_t port) {
    bool rst = false;
    struct pkt p;
    for (size_t i = 0; i < rp->nin; i++) {
        parse_pkt(rp->in[i].data, rp->in[i].len, &p);
        if (!p.tcp || p.ip.src != rp->res->endpoint_ip || p.th.sport != port)
            continue;
        if ((p.th.flags & (MG_TCP_SYN | MG_TCP_ACK)) == (MG_TCP_SYN | MG_TCP_ACK))
            return false;
        if (p.th.flags & MG_TCP_RST)
            rst = true;
    }
    return rst;
}

static void choose_endpoint(struct replay *rp) {
    struct mg_replay_result *res = rp->res;
    uint32_t ep = rp->opts->endpoint_ip;
    struct pkt p;
    for (size_t i = 0; i < rp->nin && !ep; i++) {
        parse_pkt(rp->in[i].data, rp->in[i].len, &p);
        if (p.tcp && (p.th.flags & (MG_TCP_SYN | MG_TCP_ACK | MG_TCP_RST)) == MG_TCP_SYN && usable_unicast(p.ip.dst))
            ep = p.ip.dst;
    }
    for (size_t i = 0; i < rp->nin && !ep; i++) {
        parse_pkt(rp->in[i].data, rp->in[i].len, &p);
        if (p.ipv4 && usable_unicast(p.ip.dst))
            ep = p.ip.dst;
        else if (p.arp && p.arp_op == 1 && usable_unicast(p.arp_tpa))
            ep = p.arp_tpa;
    }
    bool have_mac = false;
    if (!ep) {
        /* No IPv4 in the capture: margay (IPv4 only) gets a placeholder address and
         * the first unicast destination MAC, so it sees what a host there would. */
        ep = 0xc6120001u; /* 198.18.0.1 */
        for (size_t i = 0; i < rp->nin && !have_mac; i++) {
            parse_pkt(rp->in[i].data, rp->in[i].len, &p);
            if (p.eth_ok && !mac_is_group(p.eth.dst)) {
                memcpy(res->endpoint_mac, p.eth.dst, 6);
                have_mac = true;
            }
        }
    }
    res->endpoint_ip = ep;
    for (size_t i = 0; i < rp->nin && !have_mac; i++) {
        parse_pkt(rp->in[i].data, rp->in[i].len, &p);
        if (p.ipv4 && p.ip.dst == ep && !mac_is_group(p.eth.dst)) {
            memcpy(res->endpoint_mac, p.eth.dst, 6);
            have_mac = true;
        } else if (p.ipv4 && p.ip.src == ep) {
            memcpy(res->endpoint_mac, p.eth.src, 6);
            have_mac = true;
        }
    }
    if (!have_mac)
        mg_cap_synth_mac(ep, res->endpoint_mac);
    /* The ports clients connect to, except those the recorded server refused (RST
     * and never a SYN-ACK): margay listens where the recorded server did. */
    for (size_t i = 0; i < rp->nin; i++) {
        parse_pkt(rp->in[i].data, rp->in[i].len, &p);
        if (p.tcp && p.ip.dst == ep && (p.th.flags & (MG_TCP_SYN | MG_TCP_ACK | MG_TCP_RST)) == MG_TCP_SYN &&
            !is_server_port(res, p.th.dport) && res->nports < 16) {
            res->refused[res->nports] = refused_port(rp, p.th.dport);
            res->ports[res->nports++] = p.th.dport;
        }
    }
}

static uint32_t load_ip(const uint8_t *p) {
    return get32(p);
}

static void set_ip(uint8_t *f, const struct pkt *p, size_t off, uint32_t v) {
    uint8_t *ip = f + p->ip_off;
    uint32_t old = load_ip(ip + off);
    store_cksum(ip + 10, mg_cksum_update32((uint16_t)(ip[10] << 8 | ip[11]), old, v));
    uint8_t *tcp = f + p->tcp_off;
    store_cksum(tcp + 16, mg_cksum_update32((uint16_t)(tcp[16] << 8 | tcp[17]), old, v));
    ip[off] = (uint8_t)(v >> 24);
    ip[off + 1] = (uint8_t)(v >> 16);
    ip[off + 2] = (uint8_t)(v >> 8);
    ip[off + 3] = (uint8_t)v;
}

/* In a loopback capture the client and the server share one address, and a
 * loopback source is a martian to a stack on a wire (RFC 1122 3.2.1.3). The
 * conversation moves to two benchmarking addresses (server 198.18.0.1, client
 * 198.18.0.2), checksums updated, so margay sees a peer; the report says so. */
static void separate_loopback_client(struct replay *rp) {
    struct mg_replay_result *res = rp->res;
    uint32_t ep = res->endpoint_ip;
    const uint32_t server = 0xc6120001u, client = 0xc6120002u;
    if ((ep >> 24) != 127)
        return;
    struct pkt p;
    for (size_t i = 0; i < rp->nin; i++) {
        parse_pkt(rp->in[i].data, rp->in[i].len, &p);
        if (!p.tcp || p.ip.src != ep || p.ip.dst != ep)
            continue;
        bool to_server = is_server_port(res, p.th.dport) && !is_server_port(res, p.th.sport);
        set_ip(rp->in[i].data, &p, 12, to_server ? client : server);
        set_ip(rp->in[i].data, &p, 16, to_server ? server : client);
        res->loopback_remapped = true;
    }
    if (res->loopback_remapped)
        res->endpoint_ip = server;
}

/* A frame the endpoint would have received. */
static bool addressed_to_endpoint(const struct mg_replay_result *res, const struct pkt *p) {
    if (!p->eth_ok)
        return false;
    if (p->arp)
        return p->arp_tpa == res->endpoint_ip && memcmp(p->eth.src, res->endpoint_mac, 6) != 0;
    if (p->ipv4) {
        if (p->ip.dst != res->endpoint_ip && !(p->ip.dst == 0xffffffffu))
            return false;
        if (p->ip.src == res->endpoint_ip) /* loopback capture: only the client's half */
            return p->tcp && is_server_port(res, p->th.dport) && !is_server_port(res, p->th.sport);
        return true;
    }
    bool to_mac = mac_is_group(p->eth.dst) || memcmp(p->eth.dst, res->endpoint_mac, 6) == 0;
    return to_mac && memcmp(p->eth.src, res->endpoint_mac, 6) != 0;
}

static unsigned prefix_len(uint32_t a, uint32_t b) {
    unsigned n = 0;
    while (n < 32 && ((a ^ b) & (0x80000000u >> n)) == 0)
        n++;
    return n;
}

static void add_arp(struct mg_config *cfg, uint32_t ip, const uint8_t *mac) {
    for (unsigned i = 0; i < cfg->arp_table_len; i++)
        if (cfg->arp_table[i].ipv4 == ip)
            return;
    if (cfg->arp_table_len >= MG_CONFIG_MAX_ARP_ENTRIES)
        return;
    cfg->arp_table[cfg->arp_table_len].ipv4 = ip;
    memcpy(cfg->arp_table[cfg->arp_table_len].mac, mac, 6);
    cfg->arp_table_len++;
}

/* The stack's addresses: the endpoint's; a netmask that puts every peer on link
 * when they share a prefix with it, else a gateway whose MAC is the one the peers'
 * frames came from (a router's); static ARP for every peer seen. */
static void configure_addresses(struct replay *rp, struct mg_config *cfg) {
    struct mg_replay_result *res = rp->res;
    uint32_t ep = res->endpoint_ip;
    cfg->local_ipv4_addr = ep;
    memcpy(cfg->local_link_addr, res->endpoint_mac, 6);
    cfg->local_link_addr_set = true;
    unsigned common = 32;
    bool have_peer = false;
    uint8_t first_mac[6] = {0};
    struct pkt p;
    for (size_t i = 0; i < rp->nin; i++) {
        parse_pkt(rp->in[i].data, rp->in[i].len, &p);
        if (!p.ipv4 || p.ip.dst != ep || p.ip.src == ep || !usable_unicast(p.ip.src))
            continue;
        unsigned l = prefix_len(ep, p.ip.src);
        if (l < common)
            common = l;
        if (!have_peer)
            memcpy(first_mac, p.eth.src, 6);
        have_peer = true;
        add_arp(cfg, p.ip.src, p.eth.src);
    }
    if (!have_peer || common >= 31) {
        cfg->ipv4_netmask = 0xffffff00u;
    } else if (common >= 1) {
        cfg->ipv4_netmask = ~(0xffffffffu >> common);
    } else {
        cfg->ipv4_netmask = 0x80000000u;
        uint32_t gw = ep ^ 1u;
        cfg->ipv4_gateway = gw;
        add_arp(cfg, gw, first_mac);
    }
    cfg->disable_arp = false;
}

/* ---- running ---- */

/* Polls the stack and runs the application until neither has anything to do now. */
static void run_step(struct replay *rp) {
    void *state = mg_rt_libos_state(rp->rt);
    for (int i = 0; i < STEP_ROUNDS; i++) {
        int n = mg_libos_inet_ops.poll(state, 0);
        int a = rp->prog ? mg_replay_prog_run(rp->prog) : mg_replay_app_run(rp->app);
        if (n <= 0 && a <= 0)
            break;
    }
}

/* The stack's next timer, or the program's timeout or sleep, whichever is first. */
static uint64_t next_wakeup(const struct replay *rp) {
    uint64_t w = mg_inet_next_wakeup(rp->inet);
    uint64_t p = rp->prog ? mg_replay_prog_deadline(rp->prog) : UINT64_MAX;
    return p < w ? p : w;
}

/* Runs timers due up to t, then sets the clock to t. */
static void advance_to(struct replay *rp, uint64_t t) {
    for (int i = 0; i < ADVANCE_ROUNDS; i++) {
        uint64_t w = next_wakeup(rp);
        if (w > t)
            break;
        if (w > mg_clock_now(&rp->clock))
            mg_clock_set(&rp->clock, w);
        run_step(rp);
        if (next_wakeup(rp) <= mg_clock_now(&rp->clock))
            mg_clock_advance(&rp->clock, 1); /* a timer that stays due must not stall the walk */
    }
    if (t > mg_clock_now(&rp->clock))
        mg_clock_set(&rp->clock, t);
}

/* Translates a client's acknowledgment (and SACK edges) from the recorded server's
 * sequence space into margay's, never past what margay has sent. */
static uint32_t map_ack(const struct mg_replay_flow *fl, uint32_t ack) {
    int32_t rel = seq_diff(ack, fl->recorded.isn);
    if (rel < 0)
        rel = 0;
    if ((uint32_t)rel > fl->margay.snd_max_rel)
        rel = (int32_t)fl->margay.snd_max_rel;
    return fl->margay.isn + (uint32_t)rel;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void rewrite_field(uint8_t *tcp, size_t off, uint32_t v) {
    uint16_t ck = (uint16_t)(tcp[16] << 8 | tcp[17]);
    ck = mg_cksum_update32(ck, get32(tcp + off), v);
    put32(tcp + off, v);
    tcp[16] = (uint8_t)(ck >> 8);
    tcp[17] = (uint8_t)ck;
}

static void rewrite_client_acks(const struct mg_replay_flow *fl, uint8_t *frame, const struct pkt *p) {
    if (!fl->recorded.isn_known || !fl->margay.isn_known)
        return;
    uint8_t *tcp = frame + p->tcp_off;
    if (p->th.flags & MG_TCP_ACK)
        rewrite_field(tcp, 8, map_ack(fl, p->th.ack));
    /* SACK blocks: walk the options in place. */
    size_t i = 20;
    while (i < p->th.hdr_len) {
        uint8_t kind = tcp[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= p->th.hdr_len || tcp[i + 1] < 2 || i + tcp[i + 1] > p->th.hdr_len)
            break;
        uint8_t olen = tcp[i + 1];
        if (kind == MG_TCPOPT_SACK)
            for (size_t b = i + 2; b + 8 <= i + olen; b += 4)
                rewrite_field(tcp, b, map_ack(fl, get32(tcp + b)));
        i += olen;
    }
}

/* Notes what the capture's client and recorded server did in a TCP flow. */
static struct mg_replay_flow *observe_recorded(struct replay *rp, const struct pkt *p) {
    struct mg_replay_result *res = rp->res;
    if (!p->tcp)
        return NULL;
    uint32_t ep = res->endpoint_ip;
    bool from_server = p->ip.src == ep && is_server_port(res, p->th.sport);
    bool to_server = p->ip.dst == ep && is_server_port(res, p->th.dport) && !from_server;
    if (to_server) {
        bool syn = (p->th.flags & (MG_TCP_SYN | MG_TCP_ACK)) == MG_TCP_SYN;
        struct mg_replay_flow *fl = flow_find(res, p->ip.src, p->th.sport, p->ip.dst, p->th.dport, syn);
        if (!fl)
            return NULL;
        if (syn && !fl->client_syn) {
            fl->client_syn = true;
            fl->client_isn = p->th.seq;
            fl->client_syn_opts = p->th.opts;
        }
        if (fl->client_syn && p->payload_len) {
            int32_t end = seq_diff(p->th.seq + p->payload_len, fl->client_isn + 1);
            if (end > 0 && (uint32_t)end > fl->client_payload_max_rel)
                fl->client_payload_max_rel = (uint32_t)end;
        }
        if (p->th.flags & MG_TCP_FIN)
            fl->client_fin = true;
        if (p->th.flags & MG_TCP_RST)
            fl->client_rst = true;
        return fl;
    }
    if (from_server) {
        struct mg_replay_flow *fl = flow_find(res, p->ip.dst, p->th.dport, p->ip.src, p->th.sport, false);
        if (fl)
            observe_server_segment(fl, &fl->recorded, p);
    }
    return NULL;
}

/* Recomputes the IPv4 header checksum and the TCP/UDP checksum of a frame, for
 * captures recorded on a host that left checksums to its NIC (they hold zeros or a
 * partial sum). */
static void fix_checksums(uint8_t *f, size_t len) {
    struct pkt p;
    parse_pkt(f, len, &p);
    if (!p.ipv4 || p.ip.total_len > len - p.ip_off)
        return;
    uint8_t *ip = f + p.ip_off;
    store_cksum(ip + 10, 0);
    store_cksum(ip + 10, mg_cksum(ip, p.ip.hdr_len));
    if (p.ip.frag & (MG_IPV4_MF | MG_IPV4_OFFMASK))
        return;
    size_t l4_len = p.ip.total_len - p.ip.hdr_len;
    size_t ck_off = p.ip.proto == 6 ? 16 : p.ip.proto == 17 ? 6 : 0;
    if (!ck_off || l4_len < ck_off + 2)
        return;
    uint8_t *l4 = ip + p.ip.hdr_len;
    store_cksum(l4 + ck_off, 0);
    uint16_t ck = mg_l4_cksum_ipv4(p.ip.src, p.ip.dst, p.ip.proto, l4, l4_len);
    store_cksum(l4 + ck_off, p.ip.proto == 17 && ck == 0 ? 0xffff : ck);
}

/* The frame in a buffer of the replay's pool. */
static struct mg_buf *frame_from_memory(struct replay *rp, const struct mg_replay_frame *fr) {
    /* Frames larger than a pool buffer (jumbo or offloaded captures) get a heap buffer. */
    struct mg_buf *b = fr->len <= 1800u ? mg_buf_alloc(rp->mem.dev.pool) : mg_buf_alloc_heap(fr->len, 128);
    if (!b)
        return NULL;
    uint8_t *dst = mg_buf_append(b, fr->len);
    if (!dst) {
        mg_buf_free(b);
        return NULL;
    }
    memcpy(dst, fr->data, fr->len);
    return b;
}

/* The next frame from the lower device, which must be the one the timeline expects:
 * rx_pcap holds the frames addressed to the endpoint in the capture's order. */
static struct mg_buf *frame_from_device(struct replay *rp, const struct mg_replay_frame *fr) {
    struct mg_buf *b = NULL;
    for (int i = 0; i < DEVICE_RX_TRIES && !b; i++)
        if (mg_netdev_rx(rp->lower, &b, 1) != 1)
            b = NULL;
    uint64_t nth = rp->res->device_rx + 1;
    if (!b) {
        device_error(rp, -EIO, "%s delivered no frame %llu (of %s)", NET_PCAP_PORT, (unsigned long long)nth,
                     rp->rx_path);
        return NULL;
    }
    rp->res->device_rx++;
    if (b->len != fr->len || memcmp(b->data, fr->data, fr->len) != 0) {
        device_error(rp, -EPROTO, "%s delivered a frame %llu of %u bytes that is not the capture's (%u bytes)",
                     NET_PCAP_PORT, (unsigned long long)nth, b->len, fr->len);
        mg_buf_free(b);
        return NULL;
    }
    return b;
}

static int inject(struct replay *rp, const struct mg_replay_frame *fr, const struct pkt *p, struct mg_replay_flow *fl) {
    struct mg_buf *b = rp->lower ? frame_from_device(rp, fr) : frame_from_memory(rp, fr);
    if (!b)
        return rp->dev_err ? rp->dev_err : -ENOMEM;
    uint8_t *dst = b->data;
    if (rp->opts->fix_checksums)
        fix_checksums(dst, fr->len);
    if (fl)
        rewrite_client_acks(fl, dst, p);
    struct mem_dev *m = &rp->mem;
    if (m->rx_len == RXQ_CAP) {
        mg_buf_free(b);
        return -ENOBUFS;
    }
    m->rxq[(m->rx_head + m->rx_len) % RXQ_CAP] = b;
    m->rx_len++;
    m->dev.stats.rx_frames++;
    m->dev.stats.rx_bytes += fr->len;
    rp->res->frames_in++;
    return 0;
}

/* ---- the net_pcap device ---- */

const char *mg_replay_device_name(enum mg_replay_device d) {
    return d == MG_REPLAY_DEVICE_NET_PCAP ? "net_pcap" : "memory";
}

int mg_replay_device_parse(const char *name, enum mg_replay_device *out) {
    if (!strcmp(name, "memory"))
        *out = MG_REPLAY_DEVICE_MEMORY;
    else if (!strcmp(name, "dpdk") || !strcmp(name, "net_pcap"))
        *out = MG_REPLAY_DEVICE_NET_PCAP;
    else
        return -EINVAL;
    return 0;
}

/* rx_pcap: the frames the endpoint receives, in the capture's order, as the replay
 * has them (completed where the capture cut them short, loopback addresses moved). */
static int write_rx_pcap(struct replay *rp, char *err, size_t errlen) {
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    pcap_dumper_t *d = dead ? pcap_dump_open(dead, rp->rx_path) : NULL;
    if (!d) {
        snprintf(err, errlen, "cannot write %s: %s", rp->rx_path, dead ? pcap_geterr(dead) : "out of memory");
        if (dead)
            pcap_close(dead);
        return -EIO;
    }
    struct pkt p;
    for (size_t i = 0; i < rp->nin; i++) {
        const struct mg_replay_frame *fr = &rp->in[i];
        parse_pkt(fr->data, fr->len, &p);
        if (!addressed_to_endpoint(rp->res, &p))
            continue;
        struct pcap_pkthdr h = {.caplen = fr->len, .len = fr->len};
        h.ts.tv_sec = (time_t)(fr->ts_ns / MG_NS_PER_S);
        h.ts.tv_usec = (suseconds_t)(fr->ts_ns % MG_NS_PER_S); /* nanoseconds in a nano-precision file */
        pcap_dump((u_char *)d, &h, fr->data);
    }
    int rc = pcap_dump_flush(d) == 0 ? 0 : -EIO;
    pcap_dump_close(d);
    pcap_close(dead);
    if (rc < 0)
        snprintf(err, errlen, "cannot write %s", rp->rx_path);
    return rc;
}

static int make_device_dir(struct replay *rp, char *err, size_t errlen) {
    const char *dir = rp->opts->device_dir;
    if (dir) {
        snprintf(rp->dir, sizeof(rp->dir), "%s", dir);
        if (mkdir(rp->dir, 0777) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", rp->dir, strerror(errno));
            return -errno;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(rp->dir, sizeof(rp->dir), "%s/margay-replay-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(rp->dir)) {
            snprintf(err, errlen, "cannot create a directory for net_pcap's files (%s): %s", rp->dir,
                     strerror(errno));
            return -errno;
        }
        rp->dir_temp = true;
    }
    /* net_pcap's device arguments are comma-separated key=value pairs. */
    if (strpbrk(rp->dir, ",= ")) {
        snprintf(err, errlen, "%s: net_pcap cannot take a path with ',', '=' or a space; choose another directory",
                 rp->dir);
        return -EINVAL;
    }
    snprintf(rp->rx_path, sizeof(rp->rx_path), "%s/rx.pcap", rp->dir);
    snprintf(rp->tx_path, sizeof(rp->tx_path), "%s/tx.pcap", rp->dir);
    return 0;
}

/* The DPDK port through margay's netdev opening, as an application configures it:
 * EAL without hugepages, one net_pcap vdev. */
static int open_lower(struct replay *rp, char *err, size_t errlen) {
    char vdev[700];
    snprintf(vdev, sizeof(vdev), "--vdev=%s,rx_pcap=%s,tx_pcap=%s", NET_PCAP_PORT, rp->rx_path, rp->tx_path);
    const char *eal[] = {"--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--no-telemetry", "--log-level=error", vdev};
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    snprintf(cfg.netdev, sizeof(cfg.netdev), "dpdk:%s", NET_PCAP_PORT);
    for (size_t i = 0; i < sizeof(eal) / sizeof(eal[0]); i++) {
        cfg.eal_args[i] = strdup(eal[i]);
        if (!cfg.eal_args[i]) {
            mg_config_free(&cfg);
            return -ENOMEM;
        }
        cfg.eal_argc++;
    }
    cfg.dpdk_mempool_size = 4095;
    cfg.dpdk_rx_desc = 256;
    cfg.dpdk_tx_desc = 256;
    cfg.dpdk_link_timeout_ms = 2000;
    char why[400] = "";
    int rc = mg_netdev_open(&cfg, &rp->lower, why, sizeof(why));
    mg_config_free(&cfg);
    if (rc < 0) {
        snprintf(err, errlen, "cannot open DPDK's %s: %s", NET_PCAP_PORT, why[0] ? why : strerror(-rc));
        return rc;
    }
    /* A frame longer than one buffer would arrive in a chain of mbufs, which the
     * DPDK netdev does not pass up: such a capture cannot take this path. */
    struct mg_buf *b = mg_buf_alloc(rp->lower->pool);
    if (!b) {
        snprintf(err, errlen, "%s: no buffer in its pool", NET_PCAP_PORT);
        return -ENOMEM;
    }
    rp->lower_room = (uint32_t)(b->cap - (size_t)(b->data - b->base));
    mg_buf_free(b);
    return 0;
}

static int check_frames_fit(struct replay *rp, char *err, size_t errlen) {
    struct pkt p;
    for (size_t i = 0; i < rp->nin; i++) {
        parse_pkt(rp->in[i].data, rp->in[i].len, &p);
        if (addressed_to_endpoint(rp->res, &p) && rp->in[i].len > rp->lower_room) {
            snprintf(err, errlen,
                     "%s: frame %zu is %u bytes, longer than a buffer of %s (%u bytes): replay it without "
                     "--device net_pcap",
                     rp->opts->in_path, i + 1, rp->in[i].len, NET_PCAP_PORT, rp->lower_room);
            return -EMSGSIZE;
        }
    }
    return 0;
}

static int setup_device(struct replay *rp, char *err, size_t errlen) {
    struct mg_replay_result *res = rp->res;
    res->device = rp->opts->device;
    if (rp->opts->device != MG_REPLAY_DEVICE_NET_PCAP)
        return 0;
    int rc = make_device_dir(rp, err, errlen);
    if (rc == 0)
        rc = write_rx_pcap(rp, err, errlen);
    if (rc == 0)
        rc = open_lower(rp, err, errlen);
    if (rc == 0)
        rc = check_frames_fit(rp, err, errlen);
    snprintf(res->device_desc, sizeof(res->device_desc), "%s (DPDK) rx_pcap %s, tx_pcap %s", NET_PCAP_PORT,
             rp->opts->device_dir ? rp->rx_path : "rx.pcap", rp->opts->device_dir ? rp->tx_path : "tx.pcap");
    return rc;
}

static void remove_device_files(struct replay *rp) {
    if (!rp->dir_temp)
        return;
    unlink(rp->rx_path);
    unlink(rp->tx_path);
    rmdir(rp->dir);
}

static int setup_stack(struct replay *rp, char *err, size_t errlen) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    strcpy(cfg.libos, "inet");
    cfg.seed = rp->opts->seed ? rp->opts->seed : 1;
    cfg.seed_set = true;
    configure_addresses(rp, &cfg);
    uint64_t start = rp->nin ? rp->in[0].ts_ns : 0;
    mg_clock_init_manual(&rp->clock, start);

    struct mem_dev *m = &rp->mem;
    m->rp = rp;
    m->dev.ops = &mem_ops;
    snprintf(m->dev.name, sizeof(m->dev.name), "replay");
    memcpy(m->dev.mac, rp->res->endpoint_mac, 6);
    m->dev.mtu = 1500;
    /* Through net_pcap the stack's buffers are the port's mbufs, as on any DPDK port. */
    m->dev.pool = rp->lower ? rp->lower->pool : mg_heap_pool_create("replay", 4096, 2048, 128);
    m->dev.priv = m;
    if (!m->dev.pool) {
        mg_config_free(&cfg);
        snprintf(err, errlen, "out of memory for the replay's buffer pool");
        return -ENOMEM;
    }
    struct mg_inet_libos_args args = {.dev = &m->dev, .owns_dev = false};
    struct mg_rt_params params = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .clock = &rp->clock, .libos_arg = &args};
    int rc = mg_rt_create(&params, &rp->rt);
    mg_config_free(&cfg);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start a margay stack for %s: %s", rp->opts->in_path, strerror(rc > 0 ? rc : -rc));
        return rc > 0 ? -rc : rc;
    }
    struct mg_inet_libos *lib = mg_rt_libos_state(rp->rt);
    rp->inet = lib->inet;
    return 0;
}

static enum mg_replay_app pick_app(const struct mg_replay_opts *o, const struct mg_replay_result *res) {
    if (o->app != MG_REPLAY_APP_AUTO)
        return o->app;
    for (unsigned i = 0; i < res->nports; i++)
        if (res->ports[i] == 80 || res->ports[i] == 8080 || res->ports[i] == 8000)
            return MG_REPLAY_APP_HTTP;
    return MG_REPLAY_APP_SINK;
}

static void collect(struct replay *rp) {
    struct mg_replay_result *res = rp->res;
    res->inet = rp->inet->stats;
    if (rp->inet->tcp)
        res->tcp = *mg_tcp_stats(rp->inet->tcp);
    for (size_t i = 0; i < res->nflows; i++) {
        struct mg_replay_flow *fl = &res->flows[i];
        fl->app_known = rp->app != NULL;
        if (rp->app)
            mg_replay_app_flow_bytes(rp->app, fl->client_ip, fl->client_port, fl->server_port, &fl->app_bytes,
                                     &fl->app_eof);
        fl->state_known = rp->inet->tcp != NULL;
        struct mg_tcp_sock *s = rp->inet->tcp ? tcp_conn_lookup(rp->inet->tcp, fl->server_ip, fl->server_port,
                                                                fl->client_ip, fl->client_port)
                                              : NULL;
        fl->final_state = s ? mg_tcp_sock_state(s) : MG_TCP_CLOSED;
    }
}

static void teardown(struct replay *rp) {
    if (rp->app)
        mg_replay_app_destroy(rp->app);
    if (rp->prog)
        mg_replay_prog_stop(rp->prog);
    if (rp->rt)
        mg_rt_destroy(rp->rt);
    struct mem_dev *m = &rp->mem;
    while (m->rx_len > 0) {
        mg_buf_free(m->rxq[m->rx_head]);
        m->rx_head = (m->rx_head + 1) % RXQ_CAP;
        m->rx_len--;
    }
    if (rp->lower)
        mg_netdev_destroy(rp->lower); /* closes tx_pcap; every mbuf is back by now */
    else if (m->dev.pool)
        mg_heap_pool_destroy(m->dev.pool);
    remove_device_files(rp);
    for (size_t i = 0; i < rp->nin; i++)
        free(rp->in[i].data);
    free(rp->in);
}

/* The built-in application listening where the recorded server did, or the user's
 * program. */
static int start_application(struct replay *rp, char *err, size_t errlen) {
    struct mg_replay_result *res = rp->res;
    const struct mg_replay_program *pg = rp->opts->program;
    if (pg) {
        res->program = true;
        snprintf(res->program_name, sizeof(res->program_name), "%s", pg->name ? pg->name : "");
        int rc = mg_replay_prog_start(pg, res->endpoint_ip, rp->rt, &rp->clock, &rp->prog);
        if (rc < 0)
            snprintf(err, errlen, "cannot start the program %s: %s", res->program_name, strerror(-rc));
        return rc;
    }
    uint16_t listen_ports[16];
    unsigned nlisten = 0;
    for (unsigned i = 0; i < res->nports; i++)
        if (!res->refused[i])
            listen_ports[nlisten++] = res->ports[i];
    int rc = mg_replay_app_create(res->app, res->endpoint_ip, listen_ports, nlisten, &rp->app);
    if (rc < 0)
        snprintf(err, errlen, "cannot start the %s application: %s", mg_replay_app_name(res->app), strerror(-rc));
    return rc;
}

int mg_replay_run(const struct mg_replay_opts *opts, struct mg_replay_result *res, char *err, size_t errlen) {
    memset(res, 0, sizeof(*res));
    struct replay rp = {.opts = opts, .res = res};
    int rc = load_capture(&rp, err, errlen);
    if (rc < 0)
        goto out;
    choose_endpoint(&rp);
    separate_loopback_client(&rp);
    res->app = pick_app(opts, res);
    rc = setup_device(&rp, err, errlen);
    if (rc < 0)
        goto out;
    rc = setup_stack(&rp, err, errlen);
    if (rc < 0)
        goto out;
    if (opts->out_path) {
        rc = mg_pcapng_open(&rp.out, opts->out_path, "margay-replay", 65535);
        if (rc < 0) {
            snprintf(err, errlen, "cannot write %s: %s", opts->out_path, strerror(-rc));
            goto out;
        }
        rp.out_open = true;
    }
    mg_rt_set_current(rp.rt);
    rc = start_application(&rp, err, errlen);
    if (rc < 0)
        goto out;
    run_step(&rp);
    uint64_t last = mg_clock_now(&rp.clock);
    for (size_t i = 0; i < rp.nin; i++) {
        const struct mg_replay_frame *fr = &rp.in[i];
        /* A capture whose clock stepped backwards keeps its order, not its times. */
        uint64_t t = fr->ts_ns > last ? fr->ts_ns : last;
        advance_to(&rp, t);
        last = t;
        struct pkt p;
        parse_pkt(fr->data, fr->len, &p);
        struct mg_replay_flow *fl = observe_recorded(&rp, &p);
        if (!addressed_to_endpoint(res, &p))
            continue;
        if (inject(&rp, fr, &p, fl) < 0) {
            if (rp.dev_err)
                break;
            continue; /* counted as not injected: frames_in stays behind frames_read */
        }
        run_step(&rp);
    }
    if (!rp.dev_err) {
        advance_to(&rp, last + (opts->tail_ns ? opts->tail_ns : 3 * MG_NS_PER_S));
        run_step(&rp);
    }
    collect(&rp);
    if (rp.prog)
        res->program_ended = mg_replay_prog_ended(rp.prog, &res->program_status);
    rc = rp.dev_err ? rp.dev_err : rp.out_err;
    if (rp.dev_err)
        snprintf(err, errlen, "%s", rp.dev_msg);
    else if (rc < 0)
        snprintf(err, errlen, "writing %s: %s", opts->out_path ? opts->out_path : "output", strerror(-rc));
out:
    /* Frames the stack sends while it is torn down (closing sockets) are not part
     * of the replay: the device stops recording before the writer closes. */
    rp.finished = true;
    if (rp.out_open) {
        rp.out_open = false;
        int crc = mg_pcapng_close(&rp.out);
        if (crc < 0 && rc == 0) {
            rc = crc;
            snprintf(err, errlen, "writing %s: %s", opts->out_path, strerror(-crc));
        }
    }
    teardown(&rp);
    mg_rt_set_current(NULL);
    return rc;
}

void mg_replay_result_free(struct mg_replay_result *res) {
    for (size_t i = 0; i < res->nout; i++)
        free(res->out[i].data);
    free(res->out);
    free(res->flows);
    memset(res, 0, sizeof(*res));
}

static void fmt_ip(uint32_t ip, char *buf, size_t len) {
    snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

void mg_replay_print_report(FILE *out, const struct mg_replay_result *res) {
    char ip[20];
    fmt_ip(res->endpoint_ip, ip, sizeof(ip));
    const uint8_t *m = res->endpoint_mac;
    fprintf(out, "endpoint   %s (%02x:%02x:%02x:%02x:%02x:%02x), ", ip, m[0], m[1], m[2], m[3], m[4], m[5]);
    unsigned shown = 0;
    if (res->program) {
        fprintf(out, "program %s", res->program_name);
    } else {
        fprintf(out, "application %s", mg_replay_app_name(res->app));
        for (unsigned i = 0; i < res->nports; i++)
            if (!res->refused[i])
                fprintf(out, "%s%u", shown++ ? "," : " on port ", res->ports[i]);
    }
    for (unsigned i = 0, r = 0; i < res->nports; i++)
        if (res->refused[i])
            fprintf(out, "%s%u", r++ ? "," : ", not on refused port ", res->ports[i]);
    if (res->device == MG_REPLAY_DEVICE_NET_PCAP)
        fprintf(out, "\ndevice     %s: %llu frames received, %llu sent", res->device_desc,
                (unsigned long long)res->device_rx, (unsigned long long)res->device_tx);
    fprintf(out, "\nframes     %llu read (%s), %llu in to margay, %llu out from margay\n",
            (unsigned long long)res->frames_read, mg_cap_link_name(res->linktype), (unsigned long long)res->frames_in,
            (unsigned long long)res->frames_out);
    if (res->frames_skipped)
        fprintf(out, "note       %llu frames skipped, not convertible to Ethernet (first: %s)\n",
                (unsigned long long)res->frames_skipped, res->first_skip);
    if (res->frames_completed)
        fprintf(out,
                "note       %llu frames were cut short by the capture; their missing bytes were replayed as "
                "zeros\n",
                (unsigned long long)res->frames_completed);
    if (res->loopback_remapped)
        fprintf(out, "note       loopback capture: client and server moved to 198.18.0.2 and 198.18.0.1\n");
    bool any = false;
    for (int i = 0; i < MG_DROP__COUNT; i++)
        if (res->inet.drops[i]) {
            fprintf(out, "%s%s=%llu", any ? " " : "drops      ", mg_inet_drop_name((enum mg_inet_drop)i),
                    (unsigned long long)res->inet.drops[i]);
            any = true;
        }
    for (int i = 0; i < MG_TCP_DROP__COUNT; i++)
        if (res->tcp.drops[i]) {
            fprintf(out, "%stcp_%s=%llu", any ? " " : "drops      ", mg_tcp_drop_name((enum mg_tcp_drop)i),
                    (unsigned long long)res->tcp.drops[i]);
            any = true;
        }
    fprintf(out, "%s\n", any ? "" : "drops      none");
    if (res->inet.drops[MG_DROP_IPV4_BAD_CKSUM] || res->inet.drops[MG_DROP_UDP_BAD_CKSUM] ||
        res->tcp.drops[MG_TCP_DROP_BAD_CKSUM])
        fprintf(out, "hint       bad checksums: if the capture was recorded on a host that offloads checksums to "
                     "its NIC, replay with --fix-checksums\n");
    fprintf(out, "tcp        %llu segments in, %llu out, %llu RSTs sent, %llu retransmits\n",
            (unsigned long long)res->tcp.segs_in, (unsigned long long)res->tcp.segs_out,
            (unsigned long long)res->tcp.rsts_sent, (unsigned long long)res->tcp.retransmits);
    for (size_t i = 0; i < res->nflows; i++) {
        const struct mg_replay_flow *fl = &res->flows[i];
        char cip[20];
        fmt_ip(fl->client_ip, cip, sizeof(cip));
        fmt_ip(fl->server_ip, ip, sizeof(ip));
        const char *state = fl->state_known ? mg_tcp_state_name(fl->final_state) : "unknown";
        if (fl->app_known)
            fprintf(out, "flow       %s:%u > %s:%u: %s, %llu payload bytes to the application%s\n", cip,
                    fl->client_port, ip, fl->server_port, state, (unsigned long long)fl->app_bytes,
                    fl->app_eof ? " then end of stream" : "");
        else
            fprintf(out, "flow       %s:%u > %s:%u: %s\n", cip, fl->client_port, ip, fl->server_port, state);
    }
    if (res->program && res->program_ended)
        fprintf(out, "program    %s exited with status %d\n", res->program_name, res->program_status);
    else if (res->program)
        fprintf(out, "program    %s still running at the end of the replay\n", res->program_name);
}
