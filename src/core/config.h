/* core/config.h — margay's configuration: one struct, filled from defaults, then a
 * YAML file (CONFIG_PATH or DEMI_CONFIG), then environment variables.
 *
 * Keys follow Demikernel's YAML where it has them (demikernel.local_ipv4_addr,
 * dpdk.eal_init, inetstack_config.*, tcp_socket_options.*) so its config files load
 * unchanged; margay's own keys live under `margay:` and `tcp:`. Errors name the key
 * and the line. Every libOS and every stack instance reads only this struct. */
#ifndef MARGAY_CORE_CONFIG_H
#define MARGAY_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_CONFIG_MAX_ARP_ENTRIES 64
#define MG_CONFIG_MAX_EAL_ARGS 64
#define MG_CONFIG_STR_MAX 256

struct mg_config_arp_entry {
    uint8_t mac[6];
    uint32_t ipv4; /* host byte order */
};

/* margay.fault.tx / margay.fault.rx: one direction of the fault model
 * (drivers/fault.h) that the inet libOS puts in front of its device. All zero: no
 * fault in that direction. */
struct mg_config_fault {
    double loss;                  /* independent loss probability, 0..1 */
    double burst_enter, burst_exit, burst_loss; /* Gilbert–Elliott; on when burst_enter > 0 */
    double duplicate, corrupt, reorder;         /* probabilities, 0..1 */
    uint64_t reorder_delay_ns;    /* how long a reordered frame is held back */
    uint64_t delay_ns, jitter_ns; /* one-way latency, uniform extra latency */
    uint64_t rate_bps;            /* 0 = unlimited */
    uint32_t queue_bytes;         /* in front of rate_bps; 0 = 64 KiB */
    uint32_t mtu;                 /* 0 = no limit */
};

struct mg_config {
    /* margay: */
    char libos[32];          /* margay.libos / DEMI_LIBOS / LIBOS: posix, inet, rdma or an alias */
    char netdev[MG_CONFIG_STR_MAX]; /* margay.netdev: which device the inet libOS drives
                                       ("dpdk", "raw:<ifname>", "sim", ...) */
    uint64_t seed;           /* margay.seed / DEMI_SEED; 0 = from the OS */
    bool seed_set;
    int log_level;           /* margay.log_level / DEMI_LOG (enum mg_log_level) */
    char capture_path[MG_CONFIG_STR_MAX]; /* margay.capture / DEMI_CAPTURE; "" = off */

    /* demikernel: */
    uint32_t local_ipv4_addr; /* host byte order; 0 = unset */
    uint8_t local_link_addr[6];
    bool local_link_addr_set;
    uint32_t ipv4_netmask;    /* margay.ipv4_netmask; 0 = /24 */
    uint32_t ipv4_gateway;    /* margay.ipv4_gateway; 0 = none (on-link only) */

    /* dpdk: */
    char *eal_args[MG_CONFIG_MAX_EAL_ARGS]; /* dpdk.eal_init, owned by the config */
    int eal_argc;
    char dpdk_port[MG_CONFIG_STR_MAX];      /* dpdk.port: port id, PCI address or vdev name */
    uint16_t dpdk_rx_desc, dpdk_tx_desc;    /* dpdk.rx_descriptors / tx_descriptors */
    uint32_t dpdk_mempool_size;             /* dpdk.mempool_size (mbufs) */

    /* raw_socket: */
    char linux_interface_name[64];

    /* inetstack_config: */
    uint16_t mtu;                     /* default 1500 */
    uint16_t mss;                     /* 0 = derived from mtu */
    bool tcp_checksum_offload, udp_checksum_offload;
    struct mg_config_arp_entry arp_table[MG_CONFIG_MAX_ARP_ENTRIES];
    unsigned arp_table_len;
    bool disable_arp;                 /* only static entries */
    uint32_t arp_request_retries;     /* default 5 */
    uint64_t arp_request_timeout_ns;  /* per try; default 1 s (key in ms: arp_request_timeout) */
    uint64_t arp_cache_ttl_ns;        /* default 15 s (key in s: arp_cache_ttl) */
    /* IPv4 reassembly (src/inet/ipv4_reass.c): each bound is what a sender of
     * fragments can make the stack hold. */
    uint32_t ipv4_reassembly_max_datagrams; /* at once; default 64; 0 = drop every fragment */
    uint32_t ipv4_reassembly_max_fragments; /* per datagram; default 64 */
    uint32_t ipv4_reassembly_max_buffers;   /* fragment buffers held in all; default 256 */
    uint32_t ipv4_reassembly_max_bytes;     /* reassembled datagram, IP header included; default 65535 */
    uint32_t ipv4_reassembly_large_buffers; /* arena buffers for datagrams past a device buffer; default 4 */
    uint64_t ipv4_reassembly_timeout_ns;    /* default 30 s (key in ms: ipv4_reassembly_timeout_ms) */

    /* tcp_socket_options: (defaults for new sockets) */
    bool keepalive_enabled;
    uint64_t keepalive_time_ns;       /* idle before first probe; default 2 h */
    uint64_t keepalive_interval_ns;   /* default 75 s */
    uint32_t keepalive_probes;        /* default 9 */
    bool linger_enabled;
    uint32_t linger_seconds;
    bool nodelay;                     /* default false: Nagle on */

    /* tcp: (margay's TCP tunables) */
    uint64_t tcp_min_rto_ns;          /* default 200 ms (RFC 6298 says 1 s; Linux uses 200 ms) */
    uint64_t tcp_max_rto_ns;          /* default 60 s */
    uint64_t tcp_initial_rto_ns;      /* default 1 s */
    uint64_t tcp_msl_ns;              /* default 30 s; TIME-WAIT lasts 2*MSL */
    uint64_t tcp_delayed_ack_ns;      /* default 40 ms; 0 disables delayed ACK */
    uint32_t tcp_retries;             /* data retransmissions before ETIMEDOUT; default 15 */
    uint32_t tcp_syn_retries;         /* default 6 */
    uint32_t tcp_send_buffer;         /* bytes; default 1 MiB */
    uint32_t tcp_recv_buffer;         /* bytes; default 1 MiB (window scaling follows) */
    uint32_t tcp_ooo_max_segments;    /* out-of-order queue bound; default 256 */
    uint32_t tcp_syn_backlog;         /* SYN-RECEIVED queue bound per listener; default 128 */
    uint32_t tcp_max_connections;     /* default 65536 */
    bool tcp_sack;                    /* offer and use SACK (RFC 2018, RFC 6675); default true */
    uint16_t ephemeral_port_min, ephemeral_port_max; /* default 49152..65535 */

    /* dpdk: (added by the DPDK netdev) */
    uint32_t dpdk_link_timeout_ms;          /* dpdk.link_timeout_ms: wait for link up at open; 0 = 10 s */

    /* margay.fault: (added with the configured fault wrapper) faults injected in front
     * of the inet libOS's device, for testing a real deployment under loss. */
    uint64_t fault_seed;                    /* margay.fault.seed; 0 = from the instance's random source */
    struct mg_config_fault fault_tx;        /* margay.fault.tx: frames the stack sends */
    struct mg_config_fault fault_rx;        /* margay.fault.rx: frames the device receives */
};

/* Whether margay.fault asks for any fault in either direction. */
bool mg_config_fault_enabled(const struct mg_config *cfg);

/* Fills the defaults above. */
void mg_config_defaults(struct mg_config *cfg);
/* Loads from a YAML file over what cfg holds. On error returns -EINVAL (or -errno for
 * I/O) and writes one line naming the file, line, key and problem into err. */
int mg_config_load_file(struct mg_config *cfg, const char *path, char *err, size_t errlen);
/* The same from a string (tests and fuzzing). */
int mg_config_load_string(struct mg_config *cfg, const char *yaml, size_t len, char *err, size_t errlen);
/* The same from a string, with `source` naming where it came from in messages (a file
 * read earlier, a scenario line). */
int mg_config_load_named(struct mg_config *cfg, const char *source, const char *yaml, size_t len, char *err,
                         size_t errlen);
/* Applies environment overrides (documented in doc/man5/margay-config.5). */
int mg_config_apply_env(struct mg_config *cfg, char *err, size_t errlen);
/* Defaults, then the file named by CONFIG_PATH or DEMI_CONFIG if set, then env. */
int mg_config_load_default(struct mg_config *cfg, char *err, size_t errlen);
/* Frees what the config owns (eal_args). */
void mg_config_free(struct mg_config *cfg);

#endif /* MARGAY_CORE_CONFIG_H */
