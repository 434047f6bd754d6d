/* pcap/reader.h — margay's capture reader: every frame of a pcap or pcapng file, as
 * an Ethernet frame, whatever link type the file was recorded on.
 * libpcap does the file parsing (classic pcap and pcapng); this layer turns each
 * link type margay understands into Ethernet so the stack sees frames as a NIC would
 * deliver them. The conversion is a pure function over bytes (mg_cap_to_ethernet),
 * the target for a fuzz harness. Errors are one clear message, never a crash. */
#ifndef MARGAY_PCAP_READER_H
#define MARGAY_PCAP_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Link types (the LINKTYPE_ values in pcap files; DLT_ where they differ). */
enum {
    MG_CAP_LINK_NULL = 0,       /* BSD loopback: 4-byte family, host order of the recorder */
    MG_CAP_LINK_EN10MB = 1,     /* Ethernet */
    MG_CAP_LINK_RAW_DLT = 12,   /* DLT_RAW on most systems: raw IPv4/IPv6 */
    MG_CAP_LINK_RAW_DLT14 = 14, /* DLT_RAW on OpenBSD */
    MG_CAP_LINK_RAW = 101,      /* LINKTYPE_RAW */
    MG_CAP_LINK_LOOP = 108,     /* OpenBSD loopback: 4-byte family, network order */
    MG_CAP_LINK_LINUX_SLL = 113,
    MG_CAP_LINK_IPV4 = 228,
    MG_CAP_LINK_IPV6 = 229,
    MG_CAP_LINK_LINUX_SLL2 = 276,
};

/* Largest frame the reader hands out (a 64 KiB IP packet plus an Ethernet header). */
#define MG_CAP_MAX_FRAME (65535u + 14u)

/* Whether the reader converts this link type. */
int mg_cap_link_supported(int linktype);
const char *mg_cap_link_name(int linktype);

/* Converts one captured packet of `linktype` into an Ethernet frame in out (cap bytes).
 * Frames without a MAC header get synthesised addresses derived from their IPv4
 * addresses (02:00:a:b:c:d; for IPv6 the last four bytes), the same for every frame of
 * a host, so a stack can learn them like real ones. Returns the frame length, or
 * -EINVAL (packet too short for its link header, unknown network protocol),
 * -EPROTONOSUPPORT (link type), -ENOBUFS (out too small). Pure: no state, no I/O. */
long mg_cap_to_ethernet(int linktype, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);

/* The MAC synthesised for an IPv4 address (host order). */
void mg_cap_synth_mac(uint32_t ipv4, uint8_t mac[6]);

struct mg_cap_frame {
    uint64_t ts_ns;    /* capture timestamp, ns since the Unix epoch */
    uint32_t len;      /* bytes in data (Ethernet) */
    uint32_t orig_len; /* length on the wire before any snap, as recorded */
    const uint8_t *data;
};

struct mg_cap_reader;

/* Opens a pcap or pcapng file. 0, or a negative errno with a message in err. */
int mg_cap_open(const char *path, struct mg_cap_reader **out, char *err, size_t errlen);
int mg_cap_linktype(const struct mg_cap_reader *r);
/* Reads the next frame (valid until the next call): 1, 0 at the end, -EPROTO with a
 * message in err for a packet that cannot become an Ethernet frame (the reader can
 * go on with the next one), or another negative errno with a message in err for a
 * truncated or corrupt file (the reader cannot go on). */
int mg_cap_next(struct mg_cap_reader *r, struct mg_cap_frame *f, char *err, size_t errlen);
void mg_cap_close(struct mg_cap_reader *r);

/* As mg_cap_open, from an open stream (e.g. fmemopen over a capture in memory, as
 * the capture-reader fuzz target does); `name` is for messages. The reader owns f
 * from then on, also on failure: it is closed by mg_cap_close, or before an error
 * returns. */
int mg_cap_open_stream(FILE *f, const char *name, struct mg_cap_reader **out, char *err, size_t errlen);

#endif /* MARGAY_PCAP_READER_H */
