/* core/config.c — loads struct mg_config from defaults, a YAML file and the environment.
 *
 * Every key is one row of a descriptor table (dotted path, type, field offset, range),
 * so the YAML walker, DEMI_CONFIG_SET and the env overrides share one validator and a
 * new key is one line. The YAML is read as a libyaml event stream: nesting is bounded
 * by the table for known keys and by MAX_SKIP_DEPTH for ignored ones, so hostile input
 * cannot recurse without bound. A load works on a copy and commits only on success, so
 * a failed load leaves the caller's config exactly as it was (and nothing leaks). */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/log.h"

#define NS_PER_US UINT64_C(1000)
#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)
#define MAX_KEY_PATH 128
#define MAX_SKIP_DEPTH 64
#define MAX_EAL_ARG_LEN 4096
#define MAX_FILE_SIZE (4u << 20)
#define QUOTE_MAX 64
/* eal_args stays NULL-terminated (argv[argc] == NULL), so one slot is reserved. */
#define MAX_EAL_ARGS (MG_CONFIG_MAX_EAL_ARGS - 1)
#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

enum key_type {
    KT_SECTION,   /* a mapping of further keys */
    KT_BOOL,      /* bool */
    KT_UINT,      /* uint16/32/64 field, value in [min, max] times scale */
    KT_SEED,      /* uint64 seed; seed_set follows value != 0 */
    KT_STRING,    /* char[size], length in [min, max] */
    KT_IPV4,      /* dotted quad, host byte order */
    KT_NETMASK,   /* dotted quad with contiguous ones */
    KT_MAC,       /* unicast aa:bb:cc:dd:ee:ff */
    KT_LOG_LEVEL, /* int, via mg_log_level_parse */
    KT_EAL_ARGS,  /* sequence of strings -> eal_args */
    KT_ARP_TABLE, /* mapping "mac": "ip" -> arp_table */
    KT_PROB,      /* double, a probability from 0 to 1 */
};

struct key_desc {
    const char *path;
    enum key_type type;
    size_t offset, size;
    uint64_t min, max; /* KT_UINT: range in the key's unit; KT_STRING: length range */
    uint64_t scale;    /* KT_UINT: key unit -> field unit */
    long set_flag;     /* offset of a bool set when the key is given; -1 if none */
    bool strict;       /* KT_SECTION: unknown keys are errors (margay's own sections) */
};

#define FIELD(f) offsetof(struct mg_config, f), sizeof(((struct mg_config *)0)->f)
#define SECTION(p, strict_)                                                                                            \
    { p, KT_SECTION, 0, 0, 0, 0, 0, -1, strict_ }
#define UINT(p, f, lo, hi, scale_)                                                                                     \
    { p, KT_UINT, FIELD(f), lo, hi, scale_, -1, false }
#define BOOL(p, f)                                                                                                     \
    { p, KT_BOOL, FIELD(f), 0, 0, 0, -1, false }
#define STR(p, f, lo, hi)                                                                                              \
    { p, KT_STRING, FIELD(f), lo, hi, 0, -1, false }
#define TYPED(p, t, f)                                                                                                 \
    { p, t, FIELD(f), 0, 0, 0, -1, false }
#define PROB(p, f)                                                                                                     \
    { p, KT_PROB, FIELD(f), 0, 0, 0, -1, false }
#define MAC(p, f, flag)                                                                                                \
    { p, KT_MAC, FIELD(f), 0, 0, 0, (long)offsetof(struct mg_config, flag), false }

/* The keys of one direction of margay.fault (drivers/fault.h's parameters). */
#define FAULT_KEYS(dir)                                                                                                \
    SECTION("margay.fault." #dir, true), PROB("margay.fault." #dir ".loss", fault_##dir.loss),                         \
        PROB("margay.fault." #dir ".burst_enter", fault_##dir.burst_enter),                                            \
        PROB("margay.fault." #dir ".burst_exit", fault_##dir.burst_exit),                                              \
        PROB("margay.fault." #dir ".burst_loss", fault_##dir.burst_loss),                                              \
        PROB("margay.fault." #dir ".duplicate", fault_##dir.duplicate),                                                \
        PROB("margay.fault." #dir ".corrupt", fault_##dir.corrupt),                                                    \
        PROB("margay.fault." #dir ".reorder", fault_##dir.reorder),                                                    \
        UINT("margay.fault." #dir ".reorder_delay_us", fault_##dir.reorder_delay_ns, 0, 60000000, NS_PER_US),          \
        UINT("margay.fault." #dir ".delay_us", fault_##dir.delay_ns, 0, 60000000, NS_PER_US),                          \
        UINT("margay.fault." #dir ".jitter_us", fault_##dir.jitter_ns, 0, 60000000, NS_PER_US),                        \
        UINT("margay.fault." #dir ".rate_bps", fault_##dir.rate_bps, 0, UINT64_C(1000000000000), 1),                   \
        UINT("margay.fault." #dir ".queue_bytes", fault_##dir.queue_bytes, 0, 1073741824, 1),                          \
        UINT("margay.fault." #dir ".mtu", fault_##dir.mtu, 0, 9216, 1)

static const struct key_desc keys[] = {
    SECTION("margay", true),
    STR("margay.libos", libos, 1, 31),
    STR("margay.netdev", netdev, 0, MG_CONFIG_STR_MAX - 1),
    TYPED("margay.seed", KT_SEED, seed),
    TYPED("margay.log_level", KT_LOG_LEVEL, log_level),
    STR("margay.capture", capture_path, 0, MG_CONFIG_STR_MAX - 1),
    TYPED("margay.ipv4_netmask", KT_NETMASK, ipv4_netmask),
    TYPED("margay.ipv4_gateway", KT_IPV4, ipv4_gateway),
    SECTION("margay.fault", true),
    UINT("margay.fault.seed", fault_seed, 0, UINT64_MAX, 1),
    FAULT_KEYS(tx),
    FAULT_KEYS(rx),

    SECTION("demikernel", false),
    TYPED("demikernel.local_ipv4_addr", KT_IPV4, local_ipv4_addr),
    MAC("demikernel.local_link_addr", local_link_addr, local_link_addr_set),

    SECTION("dpdk", false),
    TYPED("dpdk.eal_init", KT_EAL_ARGS, eal_args),
    STR("dpdk.port", dpdk_port, 0, MG_CONFIG_STR_MAX - 1),
    UINT("dpdk.rx_descriptors", dpdk_rx_desc, 32, 32768, 1),
    UINT("dpdk.tx_descriptors", dpdk_tx_desc, 32, 32768, 1),
    UINT("dpdk.mempool_size", dpdk_mempool_size, 1024, 16777215, 1),
    UINT("dpdk.link_timeout_ms", dpdk_link_timeout_ms, 0, 3600000, 1),

    SECTION("raw_socket", false),
    STR("raw_socket.linux_interface_name", linux_interface_name, 0, IFNAME_MAX),

    SECTION("inetstack_config", false),
    UINT("inetstack_config.mtu", mtu, 68, 9216, 1),
    UINT("inetstack_config.mss", mss, 0, 9216 - 40, 1),
    BOOL("inetstack_config.tcp_checksum_offload", tcp_checksum_offload),
    BOOL("inetstack_config.udp_checksum_offload", udp_checksum_offload),
    TYPED("inetstack_config.arp_table", KT_ARP_TABLE, arp_table),
    BOOL("inetstack_config.disable_arp", disable_arp),
    UINT("inetstack_config.arp_request_retries", arp_request_retries, 0, 1000, 1),
    UINT("inetstack_config.arp_request_timeout", arp_request_timeout_ns, 1, 3600000, NS_PER_MS),
    UINT("inetstack_config.arp_cache_ttl", arp_cache_ttl_ns, 0, 604800, NS_PER_S),
    UINT("inetstack_config.ipv4_reassembly_max_datagrams", ipv4_reassembly_max_datagrams, 0, 4096, 1),
    UINT("inetstack_config.ipv4_reassembly_max_fragments", ipv4_reassembly_max_fragments, 1, 8192, 1),
    UINT("inetstack_config.ipv4_reassembly_max_buffers", ipv4_reassembly_max_buffers, 1, 1048576, 1),
    UINT("inetstack_config.ipv4_reassembly_max_bytes", ipv4_reassembly_max_bytes, 576, 65535, 1),
    UINT("inetstack_config.ipv4_reassembly_large_buffers", ipv4_reassembly_large_buffers, 0, 1024, 1),
    UINT("inetstack_config.ipv4_reassembly_timeout_ms", ipv4_reassembly_timeout_ns, 1, 600000, NS_PER_MS),

    SECTION("tcp_socket_options", false),
    SECTION("tcp_socket_options.keepalive", false),
    BOOL("tcp_socket_options.keepalive.enabled", keepalive_enabled),
    UINT("tcp_socket_options.keepalive.time_millis", keepalive_time_ns, 0, 864000000, NS_PER_MS),
    UINT("tcp_socket_options.keepalive.interval", keepalive_interval_ns, 0, 864000000, NS_PER_MS),
    UINT("tcp_socket_options.keepalive.probes", keepalive_probes, 1, 127, 1),
    SECTION("tcp_socket_options.linger", false),
    BOOL("tcp_socket_options.linger.enabled", linger_enabled),
    UINT("tcp_socket_options.linger.time_seconds", linger_seconds, 0, 65535, 1),
    BOOL("tcp_socket_options.nodelay", nodelay),

    SECTION("tcp", true),
    UINT("tcp.min_rto_ms", tcp_min_rto_ns, 1, 60000, NS_PER_MS),
    UINT("tcp.max_rto_ms", tcp_max_rto_ns, 1, 600000, NS_PER_MS),
    UINT("tcp.initial_rto_ms", tcp_initial_rto_ns, 1, 600000, NS_PER_MS),
    UINT("tcp.msl_ms", tcp_msl_ns, 0, 600000, NS_PER_MS),
    UINT("tcp.delayed_ack_ms", tcp_delayed_ack_ns, 0, 500, NS_PER_MS),
    UINT("tcp.retries", tcp_retries, 1, 255, 1),
    UINT("tcp.syn_retries", tcp_syn_retries, 1, 255, 1),
    UINT("tcp.send_buffer", tcp_send_buffer, 1024, 1073741824, 1),
    UINT("tcp.recv_buffer", tcp_recv_buffer, 1024, 1073741824, 1),
    UINT("tcp.ooo_max_segments", tcp_ooo_max_segments, 0, 65535, 1),
    UINT("tcp.syn_backlog", tcp_syn_backlog, 1, 65535, 1),
    UINT("tcp.max_connections", tcp_max_connections, 1, 16777216, 1),
    BOOL("tcp.sack", tcp_sack),
    UINT("tcp.ephemeral_port_min", ephemeral_port_min, 1, 65535, 1),
    UINT("tcp.ephemeral_port_max", ephemeral_port_max, 1, 65535, 1),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Where each key got its value during one load, for messages about combinations. */
struct origin {
    const char *source; /* file name, "<string>" or an environment variable */
    unsigned line;      /* 1-based; 0 = no line (environment) */
};

/* One load (file, string or environment) in progress. */
struct load {
    struct mg_config work; /* copy of the caller's config; committed on success */
    bool eal_args_new;     /* work.eal_args were allocated by this load */
    struct origin origin[N_KEYS];
    char *err;
    size_t errlen;
};

/* ---- messages ---------------------------------------------------------------- */

static void set_err(struct load *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct load *ld, const char *fmt, ...) {
    if (!ld->err || ld->errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err, ld->errlen, fmt, ap);
    va_end(ap);
}

/* Copies untrusted text for a one-line message: control bytes become '?', long text
 * is cut with "...". */
static const char *quote(char out[QUOTE_MAX + 4], const char *s, size_t len) {
    size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (len > QUOTE_MAX) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* "file:line: " or "VAR: " */
static void where(char *buf, size_t len, const struct origin *o) {
    if (o->line)
        snprintf(buf, len, "%s:%u", o->source, o->line);
    else
        snprintf(buf, len, "%s", o->source);
}

static int value_error(struct load *ld, const struct origin *o, const char *path, const char *expected, const char *got,
                       size_t gotlen) {
    char at[320], q[QUOTE_MAX + 4];
    where(at, sizeof(at), o);
    set_err(ld, "%s: %s: expected %s, got \"%s\"", at, path, expected, quote(q, got, gotlen));
    return -EINVAL;
}

/* ---- scalar parsers: text -> value, 0 or -EINVAL ----------------------------- */

static int parse_u64(const char *s, uint64_t *out) {
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    uint64_t v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* A decimal number from 0 to 1 ("0.05", "1", "5e-4"): digits, one point, an optional
 * exponent; no sign in front, no hex, no inf or nan, nothing after. */
static int parse_prob(const char *s, double *out) {
    if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
        return -EINVAL;
    for (const char *c = s; *c; c++)
        if (!isdigit((unsigned char)*c) && *c != '.' && *c != 'e' && *c != 'E' && *c != '-' && *c != '+')
            return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < 0 || v > 1)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Four decimal octets, 1..3 digits each, no leading zeros, nothing else. */
static int parse_ipv4(const char *s, uint32_t *out) {
    uint32_t addr = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && *s++ != '.')
            return -EINVAL;
        unsigned v = 0, digits = 0;
        const char *start = s;
        while (isdigit((unsigned char)*s) && digits < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && *start == '0'))
            return -EINVAL;
        addr = (addr << 8) | v;
    }
    if (*s)
        return -EINVAL;
    *out = addr;
    return 0;
}

static int parse_netmask(const char *s, uint32_t *out) {
    uint32_t m;
    if (parse_ipv4(s, &m) < 0)
        return -EINVAL;
    if ((~m & (~m + 1)) != 0) /* ones must be contiguous from the top */
        return -EINVAL;
    *out = m;
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly six colon-separated two-digit hex octets of a unicast, non-zero address. */
static int parse_mac(const char *s, uint8_t mac[6]) {
    if (strlen(s) != 17)
        return -EINVAL;
    uint8_t m[6];
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -EINVAL;
        m[i] = (uint8_t)(hi << 4 | lo);
    }
    static const uint8_t zero[6];
    if ((m[0] & 1) || memcmp(m, zero, 6) == 0)
        return -EINVAL;
    memcpy(mac, m, 6);
    return 0;
}

/* ---- applying one scalar to the config --------------------------------------- */

static void store_uint(void *field, size_t size, uint64_t v) {
    switch (size) {
    case sizeof(uint16_t):
        *(uint16_t *)field = (uint16_t)v;
        break;
    case sizeof(uint32_t):
        *(uint32_t *)field = (uint32_t)v;
        break;
    default:
        *(uint64_t *)field = v;
        break;
    }
}

/* What a key accepts, for "expected ..." messages. */
static void describe(const struct key_desc *d, char *buf, size_t len) {
    static const char *const fixed[] = {
        [KT_SECTION] = "a mapping",
        [KT_BOOL] = "true or false (or yes/no, on/off, 1/0)",
        [KT_SEED] = "an integer from 0 to 18446744073709551615",
        [KT_IPV4] = "an IPv4 address like 192.0.2.1",
        [KT_NETMASK] = "a contiguous IPv4 netmask like 255.255.255.0",
        [KT_MAC] = "a unicast MAC address like 02:00:00:00:00:01",
        [KT_LOG_LEVEL] = "one of error, warn, info, debug, trace",
        [KT_EAL_ARGS] = "a sequence of strings",
        [KT_ARP_TABLE] = "a mapping of \"mac\": \"ipv4\"",
        [KT_PROB] = "a number from 0 to 1",
    };
    if (d->type == KT_UINT)
        snprintf(buf, len, "an integer from %" PRIu64 " to %" PRIu64, d->min, d->max);
    else if (d->type == KT_STRING && d->min > 0)
        snprintf(buf, len, "a string of %" PRIu64 " to %" PRIu64 " characters", d->min, d->max);
    else if (d->type == KT_STRING)
        snprintf(buf, len, "a string of at most %" PRIu64 " characters", d->max);
    else
        snprintf(buf, len, "%s", fixed[d->type]);
}

static bool is_scalar_type(enum key_type t) {
    return t != KT_SECTION && t != KT_EAL_ARGS && t != KT_ARP_TABLE;
}

/* Parses text for key d into cfg. -EINVAL if it does not fit d's type and range. */
static int set_scalar(struct mg_config *cfg, const struct key_desc *d, const char *s) {
    void *field = (char *)cfg + d->offset;
    uint64_t v;
    switch (d->type) {
    case KT_BOOL:
        return parse_bool(s, (bool *)field);
    case KT_UINT:
        if (parse_u64(s, &v) < 0 || v < d->min || v > d->max)
            return -EINVAL;
        store_uint(field, d->size, v * d->scale);
        return 0;
    case KT_SEED:
        if (parse_u64(s, &v) < 0)
            return -EINVAL;
        cfg->seed = v;
        cfg->seed_set = v != 0;
        return 0;
    case KT_STRING: {
        size_t n = strlen(s);
        if (n < d->min || n > d->max || n >= d->size)
            return -EINVAL;
        memcpy(field, s, n + 1);
        return 0;
    }
    case KT_IPV4:
        return parse_ipv4(s, (uint32_t *)field);
    case KT_NETMASK:
        return parse_netmask(s, (uint32_t *)field);
    case KT_MAC:
        if (parse_mac(s, (uint8_t *)field) < 0)
            return -EINVAL;
        if (d->set_flag >= 0)
            *(bool *)((char *)cfg + d->set_flag) = true;
        return 0;
    case KT_PROB:
        return parse_prob(s, (double *)field);
    case KT_LOG_LEVEL: {
        int level = mg_log_level_parse(s);
        if (level < 0)
            return -EINVAL;
        *(int *)field = level;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

static const struct key_desc *find_key(const char *path) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}

static size_t key_index(const struct key_desc *d) {
    return (size_t)(d - keys);
}

/* ---- checks across keys (run after each load) -------------------------------- */

/* The origin to blame for a rule over keys a and b: the one set last in this load. */
static const struct origin *blame(struct load *ld, const char *a, const char *b, const struct origin *fallback) {
    const struct origin *oa = &ld->origin[key_index(find_key(a))];
    const struct origin *ob = &ld->origin[key_index(find_key(b))];
    if (!oa->source && !ob->source)
        return fallback;
    if (!oa->source)
        return ob;
    if (!ob->source)
        return oa;
    return ob->line >= oa->line ? ob : oa;
}

static int range_error(struct load *ld, const struct origin *o, const char *path, const char *expected, uint64_t got) {
    char at[320];
    where(at, sizeof(at), o);
    set_err(ld, "%s: %s: expected %s, got %" PRIu64, at, path, expected, got);
    return -EINVAL;
}

/* One direction of margay.fault must describe a model that does something sane. */
static int check_fault(struct load *ld, const struct origin *fallback, const char *dir,
                       const struct mg_config_fault *f) {
    char a[64], b[64];
    if (f->burst_enter > 0 || f->burst_exit > 0 || f->burst_loss > 0) {
        /* A burst needs a way in, a way out and losses inside it. */
        static const char *const parts[] = {"burst_enter", "burst_exit", "burst_loss"};
        const double vals[] = {f->burst_enter, f->burst_exit, f->burst_loss};
        for (int i = 0; i < 3; i++) {
            if (vals[i] > 0)
                continue;
            /* Blame whichever of the other two came last. */
            char c2[64], at[320];
            snprintf(a, sizeof(a), "margay.fault.%s.%s", dir, parts[i]);
            snprintf(b, sizeof(b), "margay.fault.%s.%s", dir, parts[(i + 1) % 3]);
            snprintf(c2, sizeof(c2), "margay.fault.%s.%s", dir, parts[(i + 2) % 3]);
            where(at, sizeof(at), blame(ld, b, c2, fallback));
            set_err(ld,
                    "%s: %s: expected a number above 0 and at most 1 with the other burst keys set "
                    "(Gilbert-Elliott bursts need burst_enter, burst_exit and burst_loss), got 0",
                    at, a);
            return -EINVAL;
        }
    }
    if (f->reorder > 0 && f->reorder_delay_ns == 0) {
        snprintf(a, sizeof(a), "margay.fault.%s.reorder", dir);
        snprintf(b, sizeof(b), "margay.fault.%s.reorder_delay_us", dir);
        return range_error(ld, blame(ld, a, b, fallback), b, "a non-zero delay while reorder is set", 0);
    }
    if (f->mtu != 0 && f->mtu < 68) {
        snprintf(a, sizeof(a), "margay.fault.%s.mtu", dir);
        return range_error(ld, blame(ld, a, a, fallback), a, "0 (no limit) or 68 to 9216", f->mtu);
    }
    return 0;
}

static int check_combinations(struct load *ld, const struct origin *fallback) {
    const struct mg_config *c = &ld->work;
    char expected[128];
    if (c->mss > c->mtu - 40) {
        /* Demikernel's own config files write mss equal to mtu (1500/1500); a segment can
         * never carry more than mtu - 40, so clamp instead of refusing those files. */
        MG_WARN("config", "inetstack_config.mss %u exceeds mtu - 40; using %u", c->mss, c->mtu - 40u);
        ld->work.mss = (uint16_t)(c->mtu - 40);
    }
    if (c->mss != 0 && c->mss < 88) {
        snprintf(expected, sizeof(expected), "0 (derive from mtu) or 88 to %u (mtu - 40)", c->mtu - 40u);
        return range_error(ld, blame(ld, "inetstack_config.mtu", "inetstack_config.mss", fallback),
                           "inetstack_config.mss", expected, c->mss);
    }
    if (c->ephemeral_port_min > c->ephemeral_port_max) {
        snprintf(expected, sizeof(expected), "at least tcp.ephemeral_port_min (%u)", c->ephemeral_port_min);
        return range_error(ld, blame(ld, "tcp.ephemeral_port_min", "tcp.ephemeral_port_max", fallback),
                           "tcp.ephemeral_port_max", expected, c->ephemeral_port_max);
    }
    if (c->tcp_min_rto_ns > c->tcp_max_rto_ns) {
        snprintf(expected, sizeof(expected), "at least tcp.min_rto_ms (%" PRIu64 ")", c->tcp_min_rto_ns / NS_PER_MS);
        return range_error(ld, blame(ld, "tcp.min_rto_ms", "tcp.max_rto_ms", fallback), "tcp.max_rto_ms", expected,
                           c->tcp_max_rto_ns / NS_PER_MS);
    }
    if (c->tcp_initial_rto_ns < c->tcp_min_rto_ns || c->tcp_initial_rto_ns > c->tcp_max_rto_ns) {
        snprintf(expected, sizeof(expected),
                 "a value from tcp.min_rto_ms (%" PRIu64 ") to tcp.max_rto_ms (%" PRIu64 ")",
                 c->tcp_min_rto_ns / NS_PER_MS, c->tcp_max_rto_ns / NS_PER_MS);
        return range_error(ld, blame(ld, "tcp.initial_rto_ms", "tcp.max_rto_ms", fallback), "tcp.initial_rto_ms",
                           expected, c->tcp_initial_rto_ns / NS_PER_MS);
    }
    if (c->keepalive_enabled && (c->keepalive_time_ns == 0 || c->keepalive_interval_ns == 0)) {
        const char *key = c->keepalive_time_ns == 0 ? "tcp_socket_options.keepalive.time_millis"
                                                    : "tcp_socket_options.keepalive.interval";
        return range_error(ld, blame(ld, "tcp_socket_options.keepalive.enabled", key, fallback), key,
                           "a non-zero time while keepalive is enabled", 0);
    }
    int rc = check_fault(ld, fallback, "tx", &c->fault_tx);
    return rc ? rc : check_fault(ld, fallback, "rx", &c->fault_rx);
}

/* ---- commit / abort ---------------------------------------------------------- */

static void load_begin(struct load *ld, const struct mg_config *cfg, char *err, size_t errlen) {
    memset(ld->origin, 0, sizeof(ld->origin));
    ld->work = *cfg;
    ld->eal_args_new = false;
    ld->err = err;
    ld->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
}

static void free_eal_args(struct mg_config *cfg) {
    for (int i = 0; i < MG_CONFIG_MAX_EAL_ARGS; i++) {
        free(cfg->eal_args[i]);
        cfg->eal_args[i] = NULL;
    }
    cfg->eal_argc = 0;
}

/* On success the copy replaces *cfg (freeing the eal_args it replaced); on failure
 * the copy's own new eal_args are freed and *cfg is untouched. */
static int load_end(struct load *ld, struct mg_config *cfg, int rc) {
    bool replaced = ld->eal_args_new;
    if (rc < 0) {
        if (replaced)
            free_eal_args(&ld->work);
        return rc;
    }
    if (replaced)
        free_eal_args(cfg);
    *cfg = ld->work;
    return 0;
}

/* ---- the YAML walker ----------------------------------------------------------- */

struct walker {
    struct load *ld;
    yaml_parser_t parser;
    const char *source;
};

static unsigned line_of(const yaml_event_t *ev) {
    return (unsigned)ev->start_mark.line + 1;
}

static int next_event(struct walker *w, yaml_event_t *ev) {
    if (yaml_parser_parse(&w->parser, ev))
        return 0;
    const yaml_parser_t *p = &w->parser;
    const char *problem = p->problem ? p->problem : "malformed input";
    if (p->error == YAML_READER_ERROR)
        set_err(w->ld, "%s: byte %zu: invalid input: %s", w->source, p->problem_offset, problem);
    else if (p->context)
        set_err(w->ld, "%s:%zu: YAML syntax error: %s %s (line %zu)", w->source, p->problem_mark.line + 1, problem,
                p->context, p->context_mark.line + 1);
    else
        set_err(w->ld, "%s:%zu: YAML syntax error: %s", w->source, p->problem_mark.line + 1, problem);
    return -EINVAL;
}

static bool is_null_scalar(const yaml_event_t *ev) {
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static const char *event_kind(const yaml_event_t *ev) {
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_ALIAS_EVENT:
        return "an alias (aliases are not supported)";
    default:
        return "a scalar";
    }
}

static int type_error(struct walker *w, const yaml_event_t *ev, const char *path, const struct key_desc *d) {
    char at[320], expected[128];
    struct origin o = {w->source, line_of(ev)};
    where(at, sizeof(at), &o);
    describe(d, expected, sizeof(expected));
    set_err(w->ld, "%s: %s: expected %s, got %s", at, path, expected, event_kind(ev));
    return -EINVAL;
}

/* The scalar's text, or NULL (with an error) if it holds a NUL byte. */
static const char *scalar_text(struct walker *w, const yaml_event_t *ev, const char *path, const struct key_desc *d) {
    const char *s = (const char *)ev->data.scalar.value;
    if (strlen(s) == ev->data.scalar.length)
        return s;
    char expected[128];
    describe(d, expected, sizeof(expected));
    struct origin o = {w->source, line_of(ev)};
    value_error(w->ld, &o, path, expected, s, ev->data.scalar.length);
    return NULL;
}

static int load_scalar(struct walker *w, const struct key_desc *d, const char *path, const yaml_event_t *ev) {
    if (ev->type != YAML_SCALAR_EVENT)
        return type_error(w, ev, path, d);
    const char *s = scalar_text(w, ev, path, d);
    if (!s)
        return -EINVAL;
    if (d->type == KT_STRING && is_null_scalar(ev))
        s = "";
    if (set_scalar(&w->ld->work, d, s) == 0)
        return 0;
    char expected[128];
    describe(d, expected, sizeof(expected));
    struct origin o = {w->source, line_of(ev)};
    return value_error(w->ld, &o, path, expected, s, strlen(s));
}

/* Appends one element of dpdk.eal_init (its event is ev) to the working list. */
static int append_eal_arg(struct walker *w, const struct key_desc *d, const char *path, const yaml_event_t *ev) {
    struct mg_config *c = &w->ld->work;
    if (ev->type != YAML_SCALAR_EVENT)
        return type_error(w, ev, path, d);
    const char *s = scalar_text(w, ev, path, d);
    if (!s)
        return -EINVAL;
    struct origin o = {w->source, line_of(ev)};
    char at[320];
    where(at, sizeof(at), &o);
    if (c->eal_argc >= MAX_EAL_ARGS) {
        set_err(w->ld, "%s: %s: expected at most %d arguments", at, path, MAX_EAL_ARGS);
        return -EINVAL;
    }
    if (strlen(s) > MAX_EAL_ARG_LEN)
        return value_error(w->ld, &o, path, "an argument of at most 4096 characters", s, strlen(s));
    if (!(c->eal_args[c->eal_argc] = strdup(s))) {
        set_err(w->ld, "%s: %s: out of memory", at, path);
        return -ENOMEM;
    }
    c->eal_argc++;
    return 0;
}

/* dpdk.eal_init: a sequence of strings, copied; replaces any earlier list. */
static int load_eal_args(struct walker *w, const struct key_desc *d, const char *path, const yaml_event_t *start) {
    struct mg_config *c = &w->ld->work;
    if (w->ld->eal_args_new)
        free_eal_args(c);
    memset(c->eal_args, 0, sizeof(c->eal_args)); /* the old ones stay the caller's */
    c->eal_argc = 0;
    w->ld->eal_args_new = true;
    if (is_null_scalar(start))
        return 0;
    if (start->type != YAML_SEQUENCE_START_EVENT)
        return type_error(w, start, path, d);
    for (;;) {
        yaml_event_t ev;
        if (next_event(w, &ev) < 0)
            return -EINVAL;
        int rc = ev.type == YAML_SEQUENCE_END_EVENT ? 1 : append_eal_arg(w, d, path, &ev);
        yaml_event_delete(&ev);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
}

/* One "mac": "ip" pair of inetstack_config.arp_table; key is the MAC's event. */
static int load_arp_entry(struct walker *w, const char *path, const yaml_event_t *key, const yaml_event_t *val) {
    struct mg_config *c = &w->ld->work;
    static const struct key_desc mac_desc = {"", KT_MAC, 0, 0, 0, 0, 0, -1, false};
    static const struct key_desc ip_desc = {"", KT_IPV4, 0, 0, 0, 0, 0, -1, false};
    struct origin o = {w->source, line_of(key)};
    char at[320], expected[128], entry_path[MAX_KEY_PATH + 32];
    where(at, sizeof(at), &o);
    if (key->type != YAML_SCALAR_EVENT)
        return type_error(w, key, path, &mac_desc);
    const char *mac_text = scalar_text(w, key, path, &mac_desc);
    if (!mac_text)
        return -EINVAL;
    struct mg_config_arp_entry e;
    if (parse_mac(mac_text, e.mac) < 0) {
        describe(&mac_desc, expected, sizeof(expected));
        return value_error(w->ld, &o, path, expected, mac_text, strlen(mac_text));
    }
    snprintf(entry_path, sizeof(entry_path), "%s.%s", path, mac_text);
    if (val->type != YAML_SCALAR_EVENT)
        return type_error(w, val, entry_path, &ip_desc);
    const char *ip_text = scalar_text(w, val, entry_path, &ip_desc);
    if (!ip_text)
        return -EINVAL;
    o.line = line_of(val);
    if (parse_ipv4(ip_text, &e.ipv4) < 0 || e.ipv4 == 0) {
        describe(&ip_desc, expected, sizeof(expected));
        return value_error(w->ld, &o, entry_path, expected, ip_text, strlen(ip_text));
    }
    for (unsigned i = 0; i < c->arp_table_len; i++)
        if (memcmp(c->arp_table[i].mac, e.mac, 6) == 0) {
            set_err(w->ld, "%s: %s: duplicate entry for %s", at, path, mac_text);
            return -EINVAL;
        }
    if (c->arp_table_len >= MG_CONFIG_MAX_ARP_ENTRIES) {
        set_err(w->ld, "%s: %s: expected at most %d entries", at, path, MG_CONFIG_MAX_ARP_ENTRIES);
        return -EINVAL;
    }
    c->arp_table[c->arp_table_len++] = e;
    return 0;
}

static int load_arp_table(struct walker *w, const struct key_desc *d, const char *path, const yaml_event_t *start) {
    w->ld->work.arp_table_len = 0;
    if (is_null_scalar(start))
        return 0;
    if (start->type != YAML_MAPPING_START_EVENT)
        return type_error(w, start, path, d);
    for (;;) {
        yaml_event_t key, val;
        if (next_event(w, &key) < 0)
            return -EINVAL;
        if (key.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key);
            return 0;
        }
        if (next_event(w, &val) < 0) {
            yaml_event_delete(&key);
            return -EINVAL;
        }
        int rc = load_arp_entry(w, path, &key, &val);
        yaml_event_delete(&key);
        yaml_event_delete(&val);
        if (rc < 0)
            return rc;
    }
}

/* Consumes the rest of a value that is being ignored; start is its first event. */
static int skip_value(struct walker *w, const yaml_event_t *start) {
    if (start->type != YAML_MAPPING_START_EVENT && start->type != YAML_SEQUENCE_START_EVENT)
        return 0;
    unsigned depth = 1;
    while (depth > 0) {
        yaml_event_t ev;
        if (next_event(w, &ev) < 0)
            return -EINVAL;
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        unsigned line = line_of(&ev);
        yaml_event_delete(&ev);
        if (depth > MAX_SKIP_DEPTH) {
            set_err(w->ld, "%s:%u: nesting deeper than %d levels", w->source, line, MAX_SKIP_DEPTH);
            return -EINVAL;
        }
    }
    return 0;
}

static int load_mapping(struct walker *w, const struct key_desc *section);

/* Loads the value of key d (path) whose first event is ev. */
static int load_value(struct walker *w, const struct key_desc *d, const char *path, const yaml_event_t *ev) {
    switch (d->type) {
    case KT_SECTION:
        if (is_null_scalar(ev))
            return 0;
        if (ev->type != YAML_MAPPING_START_EVENT)
            return type_error(w, ev, path, d);
        return load_mapping(w, d);
    case KT_EAL_ARGS:
        return load_eal_args(w, d, path, ev);
    case KT_ARP_TABLE:
        return load_arp_table(w, d, path, ev);
    default:
        return load_scalar(w, d, path, ev);
    }
}

/* A key the table does not know: an error in margay's sections and at the top, a
 * debug note in Demikernel's (its files carry keys margay has no use for). */
static int unknown_key(struct walker *w, const struct key_desc *section, const char *path, unsigned line,
                       const yaml_event_t *value) {
    char q[QUOTE_MAX + 4];
    quote(q, path, strlen(path));
    if (!section) {
        set_err(w->ld,
                "%s:%u: %s: unknown section (expected margay, demikernel, dpdk, raw_socket, "
                "inetstack_config, tcp_socket_options or tcp)",
                w->source, line, q);
        return -EINVAL;
    }
    if (section->strict) {
        set_err(w->ld, "%s:%u: %s: unknown key in section %s (see margay-config(5))", w->source, line, q,
                section->path);
        return -EINVAL;
    }
    MG_DEBUG("config", "%s:%u: ignoring %s (a Demikernel key margay does not use)", w->source, line, q);
    return skip_value(w, value);
}

/* Reads one key and its value of the mapping `section` (NULL = top level). Returns
 * 1 at the mapping's end, 0 after a key, or a negative errno. */
static int load_entry(struct walker *w, const struct key_desc *section) {
    yaml_event_t key, val;
    if (next_event(w, &key) < 0)
        return -EINVAL;
    if (key.type == YAML_MAPPING_END_EVENT) {
        yaml_event_delete(&key);
        return 1;
    }
    char path[MAX_KEY_PATH];
    unsigned line = line_of(&key);
    bool is_scalar = key.type == YAML_SCALAR_EVENT;
    int n = snprintf(path, sizeof(path), "%s%s%s", section ? section->path : "", section ? "." : "",
                     is_scalar ? (const char *)key.data.scalar.value : "");
    bool fits = is_scalar && n >= 0 && (size_t)n < sizeof(path) &&
                strlen((const char *)key.data.scalar.value) == key.data.scalar.length;
    yaml_event_delete(&key);
    if (!is_scalar) {
        set_err(w->ld, "%s:%u: %s: expected a key name", w->source, line, section ? section->path : "top level");
        return -EINVAL;
    }
    if (next_event(w, &val) < 0)
        return -EINVAL;
    const struct key_desc *d = fits ? find_key(path) : NULL;
    int rc;
    if (!d) {
        rc = unknown_key(w, section, path, line, &val);
    } else if (w->ld->origin[key_index(d)].source) {
        set_err(w->ld, "%s:%u: %s: duplicate key (first given at line %u)", w->source, line, path,
                w->ld->origin[key_index(d)].line);
        rc = -EINVAL;
    } else {
        w->ld->origin[key_index(d)] = (struct origin){w->source, line};
        rc = load_value(w, d, path, &val);
    }
    yaml_event_delete(&val);
    return rc;
}

/* Loads the keys of a mapping whose MAPPING_START was just read. Recursion depth is
 * bounded by the key table (sections nest at most three deep). */
static int load_mapping(struct walker *w, const struct key_desc *section) {
    for (;;) {
        int rc = load_entry(w, section);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
}

/* Expects the next event to be of type t (structural events the walker does not keep). */
static int expect_event(struct walker *w, yaml_event_type_t t, yaml_event_t *ev) {
    if (next_event(w, ev) < 0)
        return -EINVAL;
    if (ev->type == t)
        return 0;
    set_err(w->ld, "%s:%u: only one YAML document is allowed", w->source, line_of(ev));
    yaml_event_delete(ev);
    return -EINVAL;
}

/* stream-start, then nothing or one document whose root is a mapping (or empty). */
static int walk_document(struct walker *w) {
    yaml_event_t ev;
    if (next_event(w, &ev) < 0)
        return -EINVAL;
    yaml_event_delete(&ev); /* STREAM_START */
    if (next_event(w, &ev) < 0)
        return -EINVAL;
    yaml_event_type_t t = ev.type;
    yaml_event_delete(&ev);
    if (t == YAML_STREAM_END_EVENT)
        return 0;
    if (next_event(w, &ev) < 0) /* the root node */
        return -EINVAL;
    int rc = 0;
    if (ev.type == YAML_MAPPING_START_EVENT)
        rc = load_mapping(w, NULL);
    else if (!is_null_scalar(&ev)) {
        set_err(w->ld, "%s:%u: expected a mapping of sections at the top level, got %s", w->source, line_of(&ev),
                event_kind(&ev));
        rc = -EINVAL;
    }
    yaml_event_delete(&ev);
    if (rc < 0)
        return rc;
    if (expect_event(w, YAML_DOCUMENT_END_EVENT, &ev) < 0)
        return -EINVAL;
    yaml_event_delete(&ev);
    if (expect_event(w, YAML_STREAM_END_EVENT, &ev) < 0)
        return -EINVAL;
    yaml_event_delete(&ev);
    return 0;
}

static int load_buffer(struct mg_config *cfg, const char *source, const char *yaml, size_t len, char *err,
                       size_t errlen) {
    struct load ld;
    load_begin(&ld, cfg, err, errlen);
    struct walker w = {.ld = &ld, .source = source};
    if (!yaml_parser_initialize(&w.parser)) {
        set_err(&ld, "%s: out of memory", source);
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&w.parser, (const unsigned char *)(yaml ? yaml : ""), yaml ? len : 0);
    int rc = walk_document(&w);
    yaml_parser_delete(&w.parser);
    struct origin whole = {source, 0};
    if (rc == 0)
        rc = check_combinations(&ld, &whole);
    return load_end(&ld, cfg, rc);
}

/* ---- public: defaults, file, string ------------------------------------------ */

void mg_config_defaults(struct mg_config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->libos, sizeof(cfg->libos), "posix");
    cfg->log_level = MG_LOG_WARN;
    cfg->dpdk_rx_desc = 1024;
    cfg->dpdk_tx_desc = 1024;
    cfg->dpdk_mempool_size = 8191;
    cfg->mtu = 1500;
    cfg->arp_request_retries = 5;
    cfg->arp_request_timeout_ns = 1 * NS_PER_S;
    cfg->arp_cache_ttl_ns = 15 * NS_PER_S;
    cfg->ipv4_reassembly_max_datagrams = 64;
    cfg->ipv4_reassembly_max_fragments = 64;
    cfg->ipv4_reassembly_max_buffers = 256;
    cfg->ipv4_reassembly_max_bytes = 65535;
    cfg->ipv4_reassembly_large_buffers = 4;
    cfg->ipv4_reassembly_timeout_ns = 30 * NS_PER_S;
    cfg->keepalive_time_ns = 2 * 3600 * NS_PER_S;
    cfg->keepalive_interval_ns = 75 * NS_PER_S;
    cfg->keepalive_probes = 9;
    cfg->tcp_min_rto_ns = 200 * NS_PER_MS;
    cfg->tcp_max_rto_ns = 60 * NS_PER_S;
    cfg->tcp_initial_rto_ns = 1 * NS_PER_S;
    cfg->tcp_msl_ns = 30 * NS_PER_S;
    cfg->tcp_delayed_ack_ns = 40 * NS_PER_MS;
    cfg->tcp_retries = 15;
    cfg->tcp_syn_retries = 6;
    cfg->tcp_send_buffer = 1u << 20;
    cfg->tcp_recv_buffer = 1u << 20;
    cfg->tcp_ooo_max_segments = 256;
    cfg->tcp_syn_backlog = 128;
    cfg->tcp_max_connections = 65536;
    cfg->tcp_sack = true;
    cfg->ephemeral_port_min = 49152;
    cfg->ephemeral_port_max = 65535;
}

int mg_config_load_string(struct mg_config *cfg, const char *yaml, size_t len, char *err, size_t errlen) {
    return load_buffer(cfg, "<string>", yaml, len, err, errlen);
}

int mg_config_load_named(struct mg_config *cfg, const char *source, const char *yaml, size_t len, char *err,
                         size_t errlen) {
    return load_buffer(cfg, source && *source ? source : "<string>", yaml, len, err, errlen);
}

/* Reads a whole (bounded) file into a malloc'd buffer. */
static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open configuration file: %s", path, strerror(e));
        return -e;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : -ENOMEM;
    while (rc == 0) {
        if (len == cap) {
            char *bigger = cap >= MAX_FILE_SIZE ? NULL : realloc(buf, cap * 2);
            if (!bigger) {
                rc = cap >= MAX_FILE_SIZE ? -EFBIG : -ENOMEM;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            rc = ferror(f) ? -(errno ? errno : EIO) : 1;
    }
    fclose(f);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot read configuration file: %s", path,
                     rc == -EFBIG ? "larger than 4 MiB" : strerror(-rc));
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int mg_config_load_file(struct mg_config *cfg, const char *path, char *err, size_t errlen) {
    char *buf = NULL;
    size_t len = 0;
    if (!path || !*path) {
        if (err && errlen)
            snprintf(err, errlen, "configuration file: empty path");
        return -EINVAL;
    }
    int rc = read_file(path, &buf, &len, err, errlen);
    if (rc < 0)
        return rc;
    rc = load_buffer(cfg, path, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* ---- environment --------------------------------------------------------------- */

/* Variables that set one key each, in the order they are applied (later wins). */
static const struct {
    const char *var, *key;
} env_overrides[] = {
    {"DEMI_LIBOS", "margay.libos"},
    {"LIBOS", "margay.libos"},
    {"DEMI_LOG", "margay.log_level"},
    {"DEMI_SEED", "margay.seed"},
    {"DEMI_CAPTURE", "margay.capture"},
    {"DEMI_NETDEV", "margay.netdev"},
    {"DEMI_LOCAL_IPV4_ADDR", "demikernel.local_ipv4_addr"},
    {"DEMI_LOCAL_LINK_ADDR", "demikernel.local_link_addr"},
    {"MTU", "inetstack_config.mtu"},
    {"MSS", "inetstack_config.mss"},
};

static int env_set(struct load *ld, const char *var, const char *path, const char *value) {
    struct origin o = {var, 0};
    const struct key_desc *d = find_key(path);
    char q[QUOTE_MAX + 4], expected[128];
    if (!d) {
        set_err(ld, "%s: %s: unknown key (see margay-config(5))", var, quote(q, path, strlen(path)));
        return -EINVAL;
    }
    if (!is_scalar_type(d->type)) {
        set_err(ld, "%s: %s: not a single value; set it in the configuration file", var, path);
        return -EINVAL;
    }
    ld->origin[key_index(d)] = o;
    if (set_scalar(&ld->work, d, value) == 0)
        return 0;
    describe(d, expected, sizeof(expected));
    return value_error(ld, &o, path, expected, value, strlen(value));
}

static void trim(char **s) {
    while (**s == ' ' || **s == '\t')
        (*s)++;
    char *end = *s + strlen(*s);
    while (end > *s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
}

/* DEMI_CONFIG_SET="section.key=value;section.key=value"; empty entries are skipped. */
static int env_config_set(struct load *ld, const char *spec) {
    char *copy = strdup(spec);
    if (!copy) {
        set_err(ld, "DEMI_CONFIG_SET: out of memory");
        return -ENOMEM;
    }
    int rc = 0;
    char *save = NULL;
    for (char *entry = strtok_r(copy, ";", &save); entry && rc == 0; entry = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(entry, '=');
        trim(&entry);
        if (!*entry)
            continue;
        if (!eq) {
            char q[QUOTE_MAX + 4];
            set_err(ld, "DEMI_CONFIG_SET: expected section.key=value, got \"%s\"", quote(q, entry, strlen(entry)));
            rc = -EINVAL;
            break;
        }
        *eq = '\0';
        char *value = eq + 1;
        trim(&entry);
        trim(&value);
        rc = env_set(ld, "DEMI_CONFIG_SET", entry, value);
    }
    free(copy);
    return rc;
}

int mg_config_apply_env(struct mg_config *cfg, char *err, size_t errlen) {
    struct load ld;
    load_begin(&ld, cfg, err, errlen);
    int rc = 0;
    for (size_t i = 0; i < sizeof(env_overrides) / sizeof(env_overrides[0]) && rc == 0; i++) {
        const char *v = getenv(env_overrides[i].var);
        if (v && *v)
            rc = env_set(&ld, env_overrides[i].var, env_overrides[i].key, v);
    }
    const char *spec = getenv("DEMI_CONFIG_SET");
    if (rc == 0 && spec && *spec)
        rc = env_config_set(&ld, spec);
    struct origin whole = {"environment", 0};
    if (rc == 0)
        rc = check_combinations(&ld, &whole);
    return load_end(&ld, cfg, rc);
}

int mg_config_load_default(struct mg_config *cfg, char *err, size_t errlen) {
    mg_config_defaults(cfg);
    const char *path = getenv("CONFIG_PATH");
    if (!path || !*path)
        path = getenv("DEMI_CONFIG");
    if (path && *path) {
        int rc = mg_config_load_file(cfg, path, err, errlen);
        if (rc < 0)
            return rc;
    }
    return mg_config_apply_env(cfg, err, errlen);
}

static bool fault_direction_enabled(const struct mg_config_fault *f) {
    return f->loss > 0 || f->burst_enter > 0 || f->duplicate > 0 || f->corrupt > 0 || f->reorder > 0 || f->delay_ns ||
           f->jitter_ns || f->rate_bps || f->mtu;
}

bool mg_config_fault_enabled(const struct mg_config *cfg) {
    return fault_direction_enabled(&cfg->fault_tx) || fault_direction_enabled(&cfg->fault_rx);
}

void mg_config_free(struct mg_config *cfg) {
    if (cfg)
        free_eal_args(cfg);
}
