/* pcap/reader.c — reads pcap/pcapng files through libpcap and converts each link
 * type into Ethernet (see reader.h). */
#include "config.h"

#include "pcap/reader.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

struct mg_cap_reader {
    pcap_t *pcap;
    int linktype;
    uint64_t index;
    int nanosecond;
    uint8_t frame[MG_CAP_MAX_FRAME];
};

int mg_cap_link_supported(int linktype) {
    switch (linktype) {
    case MG_CAP_LINK_NULL:
    case MG_CAP_LINK_EN10MB:
    case MG_CAP_LINK_RAW_DLT:
    case MG_CAP_LINK_RAW_DLT14:
    case MG_CAP_LINK_RAW:
    case MG_CAP_LINK_LOOP:
    case MG_CAP_LINK_LINUX_SLL:
    case MG_CAP_LINK_IPV4:
    case MG_CAP_LINK_IPV6:
    case MG_CAP_LINK_LINUX_SLL2:
        return 1;
    default:
        return 0;
    }
}

const char *mg_cap_link_name(int linktype) {
    switch (linktype) {
    case MG_CAP_LINK_NULL:
        return "NULL (BSD loopback)";
    case MG_CAP_LINK_EN10MB:
        return "EN10MB (Ethernet)";
    case MG_CAP_LINK_RAW_DLT:
    case MG_CAP_LINK_RAW_DLT14:
    case MG_CAP_LINK_RAW:
        return "RAW (raw IP)";
    case MG_CAP_LINK_LOOP:
        return "LOOP (OpenBSD loopback)";
    case MG_CAP_LINK_LINUX_SLL:
        return "LINUX_SLL (Linux cooked v1)";
    case MG_CAP_LINK_IPV4:
        return "IPV4 (raw IPv4)";
    case MG_CAP_LINK_IPV6:
        return "IPV6 (raw IPv6)";
    case MG_CAP_LINK_LINUX_SLL2:
        return "LINUX_SLL2 (Linux cooked v2)";
    default:
        return "unsupported";
    }
}

void mg_cap_synth_mac(uint32_t ipv4, uint8_t mac[6]) {
    mac[0] = 0x02; /* locally administered, unicast */
    mac[1] = 0x00;
    mac[2] = (uint8_t)(ipv4 >> 24);
    mac[3] = (uint8_t)(ipv4 >> 16);
    mac[4] = (uint8_t)(ipv4 >> 8);
    mac[5] = (uint8_t)ipv4;
}

static uint32_t load32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Addresses for a frame that had no MAC header: derived from the IP addresses. */
static void synth_macs(const uint8_t *ip, size_t len, uint8_t dst[6], uint8_t src[6]) {
    uint32_t s = 0, d = 0;
    if (len >= 20 && (ip[0] >> 4) == 4) {
        s = load32(ip + 12);
        d = load32(ip + 16);
    } else if (len >= 40 && (ip[0] >> 4) == 6) {
        s = load32(ip + 8 + 12);
        d = load32(ip + 24 + 12);
    }
    mg_cap_synth_mac(s, src);
    mg_cap_synth_mac(d, dst);
}

/* Builds Ethernet around an L3 packet. ethertype 0 = guess from the IP version. */
static long wrap_l3(uint16_t ethertype, const uint8_t *l3, size_t len, const uint8_t *src_mac, uint8_t *out,
                    size_t cap) {
    if (ethertype == 0) {
        if (len < 1)
            return -EINVAL;
        unsigned version = l3[0] >> 4;
        if (version == 4)
            ethertype = MG_ETHERTYPE_IPV4;
        else if (version == 6)
            ethertype = MG_ETHERTYPE_IPV6;
        else
            return -EINVAL;
    }
    if (len + 14 > cap)
        return -ENOBUFS;
    uint8_t dst[6], src[6];
    synth_macs(l3, len, dst, src);
    if (src_mac)
        memcpy(src, src_mac, 6);
    memcpy(out, dst, 6);
    memcpy(out + 6, src, 6);
    out[12] = (uint8_t)(ethertype >> 8);
    out[13] = (uint8_t)ethertype;
    memcpy(out + 14, l3, len);
    return (long)(len + 14);
}

long mg_cap_to_ethernet(int linktype, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap) {
    switch (linktype) {
    case MG_CAP_LINK_EN10MB:
        if (len < 14)
            return -EINVAL;
        if (len > cap)
            return -ENOBUFS;
        memcpy(out, pkt, len);
        return (long)len;
    case MG_CAP_LINK_RAW_DLT:
    case MG_CAP_LINK_RAW_DLT14:
    case MG_CAP_LINK_RAW:
    case MG_CAP_LINK_IPV4:
    case MG_CAP_LINK_IPV6:
        return wrap_l3(0, pkt, len, NULL, out, cap);
    case MG_CAP_LINK_NULL:
    case MG_CAP_LINK_LOOP:
        /* The family's value and byte order vary by recorder (AF_INET6 is 10, 24, 28
         * or 30); the IP version nibble says the same thing unambiguously. */
        if (len < 4)
            return -EINVAL;
        return wrap_l3(0, pkt + 4, len - 4, NULL, out, cap);
    case MG_CAP_LINK_LINUX_SLL: {
        if (len < 16)
            return -EINVAL;
        uint16_t halen = (uint16_t)(pkt[4] << 8 | pkt[5]);
        uint16_t proto = (uint16_t)(pkt[14] << 8 | pkt[15]);
        if (proto != MG_ETHERTYPE_IPV4 && proto != MG_ETHERTYPE_IPV6 && proto != MG_ETHERTYPE_ARP)
            return -EINVAL;
        return wrap_l3(proto, pkt + 16, len - 16, halen == 6 ? pkt + 6 : NULL, out, cap);
    }
    case MG_CAP_LINK_LINUX_SLL2: {
        if (len < 20)
            return -EINVAL;
        uint16_t proto = (uint16_t)(pkt[0] << 8 | pkt[1]);
        uint8_t halen = pkt[11];
        if (proto != MG_ETHERTYPE_IPV4 && proto != MG_ETHERTYPE_IPV6 && proto != MG_ETHERTYPE_ARP)
            return -EINVAL;
        return wrap_l3(proto, pkt + 20, len - 20, halen == 6 ? pkt + 12 : NULL, out, cap);
    }
    default:
        return -EPROTONOSUPPORT;
    }
}

int mg_cap_open(const char *path, struct mg_cap_reader **out, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: not a readable pcap or pcapng capture: %s", path, strerror(errno));
        return -EINVAL;
    }
    return mg_cap_open_stream(f, path, out, err, errlen);
}

int mg_cap_open_stream(FILE *f, const char *name, struct mg_cap_reader **out, char *err, size_t errlen) {
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct mg_cap_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", name);
        fclose(f);
        return -ENOMEM;
    }
    r->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!r->pcap) {
        snprintf(err, errlen, "%s: not a readable pcap or pcapng capture: %s", name, perr);
        fclose(f); /* libpcap closes the stream only once it has accepted it */
        free(r);
        return -EINVAL;
    }
    r->linktype = pcap_datalink(r->pcap);
    if (!mg_cap_link_supported(r->linktype)) {
        snprintf(err, errlen,
                 "%s: link type %d (%s) is not supported; margay reads Ethernet, Linux cooked (SLL, SLL2), "
                 "raw IP and BSD loopback captures",
                 name, r->linktype,
                 pcap_datalink_val_to_name(r->linktype) ? pcap_datalink_val_to_name(r->linktype) : "unknown");
        pcap_close(r->pcap);
        free(r);
        return -EPROTONOSUPPORT;
    }
    *out = r;
    return 0;
}

int mg_cap_linktype(const struct mg_cap_reader *r) {
    return r->linktype;
}

int mg_cap_next(struct mg_cap_reader *r, struct mg_cap_frame *f, char *err, size_t errlen) {
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(r->pcap, &h, &data);
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    if (rc != 1) {
        snprintf(err, errlen, "frame %llu: the capture is corrupt or truncated: %s", (unsigned long long)r->index + 1,
                 pcap_geterr(r->pcap));
        return -EINVAL;
    }
    r->index++;
    long n = mg_cap_to_ethernet(r->linktype, data, h->caplen, r->frame, sizeof(r->frame));
    if (n < 0) {
        snprintf(err, errlen, "frame %llu: %u bytes cannot be read as %s: %s", (unsigned long long)r->index, h->caplen,
                 mg_cap_link_name(r->linktype),
                 n == -EINVAL ? "too short for its link header, or not IPv4, IPv6 or ARP" : strerror((int)-n));
        return -EPROTO;
    }
    f->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec; /* nano precision asked */
    f->len = (uint32_t)n;
    f->orig_len = h->len;
    f->data = r->frame;
    return 1;
}

void mg_cap_close(struct mg_cap_reader *r) {
    if (!r)
        return;
    pcap_close(r->pcap);
    free(r);
}
