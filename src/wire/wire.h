/* wire/wire.h — pure codecs for the headers margay speaks.
 * Parse functions take (pointer, length), fill a host-byte-order struct and return 0
 * or a negative errno: -EMSGSIZE when the bytes are shorter than the header says,
 * -EBADMSG when fields are inconsistent (bad version, IHL < 5, length past the
 * buffer, option length 0 or past the header, bad checksum when asked to verify),
 * -EPROTONOSUPPORT for well-formed but unsupported input. They never read past
 * `len`. Build functions write into (pointer, length) and return the bytes written,
 * or 0 if it does not fit. No state, no allocation, no clock: this layer is what the
 * fuzzers hit first. Addresses are uint32_t in host byte order. */
#ifndef MARGAY_WIRE_WIRE_H
#define MARGAY_WIRE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Internet checksum (RFC 1071, RFC 1624) ---- */
/* Adds bytes into a 32-bit one's-complement accumulator (handles odd lengths and
 * odd starting offsets when called piecewise on even-length chunks). */
uint32_t mg_cksum_add(uint32_t sum, const void *data, size_t len);
/* Folds and complements: the value to store in a header. */
uint16_t mg_cksum_finish(uint32_t sum);
/* Checksum of a buffer (mg_cksum_finish(mg_cksum_add(0, data, len))). */
uint16_t mg_cksum(const void *data, size_t len);
/* Sum of the IPv4 pseudo-header (not complemented). */
uint32_t mg_cksum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len);
/* Updates a stored checksum when a 16-bit field changes from old_val to new_val
 * (RFC 1624 eqn. 3). All values in network order as stored. */
uint16_t mg_cksum_update16(uint16_t cksum, uint16_t old_val, uint16_t new_val);
uint16_t mg_cksum_update32(uint16_t cksum, uint32_t old_val, uint32_t new_val);

/* ---- Ethernet II, 802.1Q skipped ---- */
#define MG_ETH_ALEN 6
#define MG_ETH_HDR_LEN 14
#define MG_ETHERTYPE_IPV4 0x0800
#define MG_ETHERTYPE_ARP 0x0806
#define MG_ETHERTYPE_VLAN 0x8100
#define MG_ETHERTYPE_IPV6 0x86dd

struct mg_eth_hdr {
    uint8_t dst[MG_ETH_ALEN], src[MG_ETH_ALEN];
    uint16_t ethertype; /* after any VLAN tag */
    uint16_t vlan_tci;  /* valid if has_vlan */
    bool has_vlan;
    uint16_t hdr_len;   /* 14, or 18 with one tag */
};
int mg_eth_parse(const uint8_t *p, size_t len, struct mg_eth_hdr *out);
size_t mg_eth_build(uint8_t *p, size_t len, const struct mg_eth_hdr *h); /* untagged, 14 bytes */
extern const uint8_t mg_eth_broadcast[MG_ETH_ALEN];

/* ---- ARP (Ethernet/IPv4 only) ---- */
#define MG_ARP_LEN 28
#define MG_ARP_OP_REQUEST 1
#define MG_ARP_OP_REPLY 2
struct mg_arp {
    uint16_t op;
    uint8_t sha[MG_ETH_ALEN];
    uint32_t spa;
    uint8_t tha[MG_ETH_ALEN];
    uint32_t tpa;
};
int mg_arp_parse(const uint8_t *p, size_t len, struct mg_arp *out);
size_t mg_arp_build(uint8_t *p, size_t len, const struct mg_arp *a);

/* ---- IPv4 ---- */
#define MG_IPV4_HDR_LEN 20
#define MG_IPPROTO_ICMP 1
#define MG_IPPROTO_TCP 6
#define MG_IPPROTO_UDP 17
#define MG_IPV4_DF 0x4000
#define MG_IPV4_MF 0x2000
#define MG_IPV4_OFFMASK 0x1fff
struct mg_ipv4_hdr {
    uint16_t hdr_len;   /* IHL * 4; options (if any) are skipped */
    uint8_t tos;
    uint16_t total_len;
    uint16_t id;
    uint16_t frag;      /* flags and fragment offset, as on the wire */
    uint8_t ttl;
    uint8_t proto;
    uint16_t cksum;
    uint32_t src, dst;
};
/* verify_cksum: check the header checksum (skip when the device already did). Also
 * rejects version != 4, IHL < 5, total_len < hdr_len, total_len > len. Trailing bytes
 * past total_len (Ethernet padding) are allowed. */
int mg_ipv4_parse(const uint8_t *p, size_t len, bool verify_cksum, struct mg_ipv4_hdr *out);
/* Writes a 20-byte header; fills the checksum when fill_cksum. */
size_t mg_ipv4_build(uint8_t *p, size_t len, const struct mg_ipv4_hdr *h, bool fill_cksum);
static inline bool mg_ipv4_is_fragment(const struct mg_ipv4_hdr *h) {
    return (h->frag & (MG_IPV4_MF | MG_IPV4_OFFMASK)) != 0;
}

/* ---- ICMPv4 ---- */
#define MG_ICMP_HDR_LEN 8
#define MG_ICMP_ECHO_REPLY 0
#define MG_ICMP_DEST_UNREACH 3
#define MG_ICMP_ECHO_REQUEST 8
#define MG_ICMP_TIME_EXCEEDED 11
#define MG_ICMP_CODE_NET_UNREACH 0
#define MG_ICMP_CODE_HOST_UNREACH 1
#define MG_ICMP_CODE_PROTO_UNREACH 2
#define MG_ICMP_CODE_PORT_UNREACH 3
#define MG_ICMP_CODE_FRAG_NEEDED 4
struct mg_icmp_hdr {
    uint8_t type, code;
    uint16_t cksum;
    uint32_t rest; /* id<<16|seq for echo; next-hop MTU in the low 16 bits for FRAG_NEEDED */
    const uint8_t *payload; /* points into the parsed bytes */
    size_t payload_len;
};
/* Verifies the checksum over all len bytes when verify_cksum. */
int mg_icmp_parse(const uint8_t *p, size_t len, bool verify_cksum, struct mg_icmp_hdr *out);
/* Writes the 8-byte header; the checksum covers header + the payload already placed
 * right after it (payload_len bytes). */
size_t mg_icmp_build(uint8_t *p, size_t len, const struct mg_icmp_hdr *h, size_t payload_len);

/* ---- UDP ---- */
#define MG_UDP_HDR_LEN 8
struct mg_udp_hdr {
    uint16_t sport, dport;
    uint16_t len; /* header + payload */
    uint16_t cksum;
};
/* Rejects len field < 8 or > len. */
int mg_udp_parse(const uint8_t *p, size_t len, struct mg_udp_hdr *out);
size_t mg_udp_build(uint8_t *p, size_t len, const struct mg_udp_hdr *h);
/* Checksum of a UDP or TCP segment over IPv4 (header with its cksum field as stored
 * plus payload): 0 when a received segment is valid. */
uint16_t mg_l4_cksum_ipv4(uint32_t src, uint32_t dst, uint8_t proto, const void *l4, size_t l4_len);

/* ---- TCP ---- */
#define MG_TCP_HDR_LEN 20
#define MG_TCP_MAX_HDR_LEN 60
#define MG_TCP_FIN 0x01
#define MG_TCP_SYN 0x02
#define MG_TCP_RST 0x04
#define MG_TCP_PSH 0x08
#define MG_TCP_ACK 0x10
#define MG_TCP_URG 0x20
#define MG_TCP_ECE 0x40
#define MG_TCP_CWR 0x80
#define MG_TCP_MAX_SACK_BLOCKS 4

#define MG_TCPOPT_EOL 0
#define MG_TCPOPT_NOP 1
#define MG_TCPOPT_MSS 2
#define MG_TCPOPT_WSCALE 3
#define MG_TCPOPT_SACK_PERMITTED 4
#define MG_TCPOPT_SACK 5
#define MG_TCPOPT_TIMESTAMP 8

struct mg_tcp_sack_block {
    uint32_t left, right;
};
struct mg_tcp_opts {
    bool has_mss;
    uint16_t mss;
    bool has_wscale;
    uint8_t wscale;           /* as received; TCP clamps to 14 (RFC 7323) */
    bool sack_permitted;
    bool has_timestamp;
    uint32_t ts_val, ts_ecr;
    uint8_t num_sack_blocks;  /* 0..4 */
    struct mg_tcp_sack_block sack[MG_TCP_MAX_SACK_BLOCKS];
};
struct mg_tcp_hdr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t hdr_len;   /* data offset * 4 */
    uint8_t flags;      /* MG_TCP_* */
    uint16_t window;    /* raw, unscaled */
    uint16_t cksum;
    uint16_t urg_ptr;
    struct mg_tcp_opts opts;
};
/* Parses header and options. Rejects data offset < 5 or past len, an option whose
 * length is < 2 or runs past the header, known options with the wrong length, more
 * than 4 SACK blocks. Unknown options are skipped by their length. When an option
 * appears more than once, the last occurrence wins. */
int mg_tcp_parse(const uint8_t *p, size_t len, struct mg_tcp_hdr *out);
/* Length of the options block build would write (padded to 4). Order: MSS,
 * SACK-permitted + timestamps, window scale, SACK; SACK blocks that would take the
 * options past 40 bytes are left off from the end (3 fit beside timestamps). */
size_t mg_tcp_opts_len(const struct mg_tcp_opts *o);
/* Writes header and options (hdr_len is computed, h->hdr_len ignored); the checksum
 * field is written as h->cksum (callers fill it after the payload is in place).
 * Returns the header length. */
size_t mg_tcp_build(uint8_t *p, size_t len, const struct mg_tcp_hdr *h);

#endif /* MARGAY_WIRE_WIRE_H */
