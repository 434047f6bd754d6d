/* tests/unit/test_config.c — CUnit suite for core/config.c: defaults, Demikernel-style
 * and margay keys, every kind of bad value with its message and line, environment
 * overrides, repeated loads (run under ASan for leaks) and robustness against
 * random and truncated input. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"

#define MS 1000000ull
#define SEC 1000000000ull

static char err[512];

static int load(struct mg_config *c, const char *yaml) {
    err[0] = '\0';
    return mg_config_load_string(c, yaml, strlen(yaml), err, sizeof(err));
}

/* Loads yaml over defaults, expects -EINVAL and every needle in the message. */
static void expect_error(const char *yaml, const char *needle1, const char *needle2) {
    struct mg_config c;
    mg_config_defaults(&c);
    int rc = load(&c, yaml);
    CU_ASSERT_EQUAL(rc, -EINVAL);
    if (needle1 && !strstr(err, needle1))
        fprintf(stderr, "\n  message \"%s\" lacks \"%s\"\n", err, needle1);
    CU_ASSERT_PTR_NOT_NULL(needle1 ? strstr(err, needle1) : err);
    CU_ASSERT_PTR_NOT_NULL(needle2 ? strstr(err, needle2) : err);
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    mg_config_free(&c);
}

static const char *const env_vars[] = {"DEMI_LIBOS",
                                       "LIBOS",
                                       "DEMI_LOG",
                                       "DEMI_SEED",
                                       "DEMI_CAPTURE",
                                       "DEMI_NETDEV",
                                       "DEMI_LOCAL_IPV4_ADDR",
                                       "DEMI_LOCAL_LINK_ADDR",
                                       "MTU",
                                       "MSS",
                                       "DEMI_CONFIG_SET",
                                       "CONFIG_PATH",
                                       "DEMI_CONFIG"};

static void clear_env(void) {
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
}

static void test_defaults(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_STRING_EQUAL(c.libos, "posix");
    CU_ASSERT_STRING_EQUAL(c.netdev, "");
    CU_ASSERT_FALSE(c.seed_set);
    CU_ASSERT_EQUAL(c.log_level, MG_LOG_WARN);
    CU_ASSERT_STRING_EQUAL(c.capture_path, "");
    CU_ASSERT_EQUAL(c.local_ipv4_addr, 0);
    CU_ASSERT_FALSE(c.local_link_addr_set);
    CU_ASSERT_EQUAL(c.eal_argc, 0);
    CU_ASSERT_PTR_NULL(c.eal_args[0]);
    CU_ASSERT_EQUAL(c.dpdk_rx_desc, 1024);
    CU_ASSERT_EQUAL(c.dpdk_tx_desc, 1024);
    CU_ASSERT_EQUAL(c.dpdk_mempool_size, 8191);
    CU_ASSERT_EQUAL(c.mtu, 1500);
    CU_ASSERT_EQUAL(c.mss, 0);
    CU_ASSERT_EQUAL(c.arp_table_len, 0);
    CU_ASSERT_FALSE(c.disable_arp);
    CU_ASSERT_EQUAL(c.arp_request_retries, 5);
    CU_ASSERT_EQUAL(c.arp_request_timeout_ns, 1 * SEC);
    CU_ASSERT_EQUAL(c.arp_cache_ttl_ns, 15 * SEC);
    CU_ASSERT_FALSE(c.keepalive_enabled);
    CU_ASSERT_EQUAL(c.keepalive_time_ns, 7200 * SEC);
    CU_ASSERT_EQUAL(c.keepalive_interval_ns, 75 * SEC);
    CU_ASSERT_EQUAL(c.keepalive_probes, 9);
    CU_ASSERT_FALSE(c.linger_enabled);
    CU_ASSERT_FALSE(c.nodelay);
    CU_ASSERT_EQUAL(c.tcp_min_rto_ns, 200 * MS);
    CU_ASSERT_EQUAL(c.tcp_max_rto_ns, 60 * SEC);
    CU_ASSERT_EQUAL(c.tcp_initial_rto_ns, 1 * SEC);
    CU_ASSERT_EQUAL(c.tcp_msl_ns, 30 * SEC);
    CU_ASSERT_EQUAL(c.tcp_delayed_ack_ns, 40 * MS);
    CU_ASSERT_EQUAL(c.tcp_retries, 15);
    CU_ASSERT_EQUAL(c.tcp_syn_retries, 6);
    CU_ASSERT_EQUAL(c.tcp_send_buffer, 1u << 20);
    CU_ASSERT_EQUAL(c.tcp_recv_buffer, 1u << 20);
    CU_ASSERT_EQUAL(c.tcp_ooo_max_segments, 256);
    CU_ASSERT_EQUAL(c.tcp_syn_backlog, 128);
    CU_ASSERT_EQUAL(c.tcp_max_connections, 65536);
    CU_ASSERT_TRUE(c.tcp_sack);
    CU_ASSERT_EQUAL(c.ephemeral_port_min, 49152);
    CU_ASSERT_EQUAL(c.ephemeral_port_max, 65535);
    mg_config_free(&c);
}

/* A configuration in Demikernel's layout, including keys margay ignores. */
static const char demikernel_yaml[] =
    "# a Demikernel-style file\n"
    "demikernel:\n"
    "  local_ipv4_addr: 198.18.0.2\n"
    "  local_link_addr: \"02:1a:2B:3c:4d:5e\"\n"
    "raw_socket:\n"
    "  linux_interface_name: \"veth-a\"\n"
    "  xdp_interface_index: 3\n"
    "  xdp_tcp_ports: [80, 443]\n"
    "  xdp_cohost_mode: {nested: {deeper: [1, 2]}}\n"
    "dpdk:\n"
    "  eal_init: [\"\", \"-c\", \"0x3\", \"-n\", \"4\", \"--vdev=net_ring0\", \"--proc-type=auto\"]\n"
    "tcp_socket_options:\n"
    "  keepalive:\n"
    "    enabled: true\n"
    "    time_millis: 5000\n"
    "    interval: 250\n"
    "    probes: 4\n"
    "  linger:\n"
    "    enabled: yes\n"
    "    time_seconds: 7\n"
    "  nodelay: on\n"
    "inetstack_config:\n"
    "  mtu: 9000\n"
    "  mss: 8960\n"
    "  enable_jumbo_frames: true\n"
    "  tcp_checksum_offload: true\n"
    "  udp_checksum_offload: 1\n"
    "  arp_table:\n"
    "    \"02:00:00:00:00:01\": \"198.18.0.1\"\n"
    "    \"02:00:00:00:00:03\": \"198.18.0.3\"\n"
    "  disable_arp: true\n"
    "  arp_request_retries: 3\n"
    "  arp_request_timeout: 250\n"
    "  arp_cache_ttl: 600\n";

static void test_demikernel_file(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL_FATAL(load(&c, demikernel_yaml), 0);
    CU_ASSERT_EQUAL(c.local_ipv4_addr, 0xc6120002u);
    static const uint8_t mac[6] = {0x02, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e};
    CU_ASSERT_EQUAL(memcmp(c.local_link_addr, mac, 6), 0);
    CU_ASSERT_TRUE(c.local_link_addr_set);
    CU_ASSERT_STRING_EQUAL(c.linux_interface_name, "veth-a");
    CU_ASSERT_EQUAL_FATAL(c.eal_argc, 7);
    CU_ASSERT_STRING_EQUAL(c.eal_args[0], "");
    CU_ASSERT_STRING_EQUAL(c.eal_args[2], "0x3");
    CU_ASSERT_STRING_EQUAL(c.eal_args[5], "--vdev=net_ring0");
    CU_ASSERT_STRING_EQUAL(c.eal_args[6], "--proc-type=auto");
    CU_ASSERT_PTR_NULL(c.eal_args[7]);
    CU_ASSERT_TRUE(c.keepalive_enabled);
    CU_ASSERT_EQUAL(c.keepalive_time_ns, 5000 * MS);
    CU_ASSERT_EQUAL(c.keepalive_interval_ns, 250 * MS);
    CU_ASSERT_EQUAL(c.keepalive_probes, 4);
    CU_ASSERT_TRUE(c.linger_enabled);
    CU_ASSERT_EQUAL(c.linger_seconds, 7);
    CU_ASSERT_TRUE(c.nodelay);
    CU_ASSERT_EQUAL(c.mtu, 9000);
    CU_ASSERT_EQUAL(c.mss, 8960);
    CU_ASSERT_TRUE(c.tcp_checksum_offload);
    CU_ASSERT_TRUE(c.udp_checksum_offload);
    CU_ASSERT_EQUAL_FATAL(c.arp_table_len, 2);
    static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac3[6] = {2, 0, 0, 0, 0, 3};
    CU_ASSERT_EQUAL(memcmp(c.arp_table[0].mac, mac1, 6), 0);
    CU_ASSERT_EQUAL(c.arp_table[0].ipv4, 0xc6120001u);
    CU_ASSERT_EQUAL(memcmp(c.arp_table[1].mac, mac3, 6), 0);
    CU_ASSERT_EQUAL(c.arp_table[1].ipv4, 0xc6120003u);
    CU_ASSERT_TRUE(c.disable_arp);
    CU_ASSERT_EQUAL(c.arp_request_retries, 3);
    CU_ASSERT_EQUAL(c.arp_request_timeout_ns, 250 * MS);
    CU_ASSERT_EQUAL(c.arp_cache_ttl_ns, 600 * SEC);
    /* untouched keys keep their defaults */
    CU_ASSERT_STRING_EQUAL(c.libos, "posix");
    CU_ASSERT_EQUAL(c.tcp_retries, 15);
    mg_config_free(&c);
    CU_ASSERT_EQUAL(c.eal_argc, 0);
    CU_ASSERT_PTR_NULL(c.eal_args[0]);
}

static void test_margay_keys(void) {
    static const char yaml[] = "margay:\n"
                               "  libos: catnip\n"
                               "  netdev: \"raw:veth0\"\n"
                               "  seed: 18446744073709551615\n"
                               "  log_level: debug\n"
                               "  capture: /tmp/out.pcapng\n"
                               "  ipv4_netmask: 255.255.0.0\n"
                               "  ipv4_gateway: 198.18.0.1\n"
                               "dpdk:\n"
                               "  port: \"0000:03:00.0\"\n"
                               "  rx_descriptors: 512\n"
                               "  tx_descriptors: 2048\n"
                               "  mempool_size: 16383\n"
                               "tcp:\n"
                               "  min_rto_ms: 100\n"
                               "  max_rto_ms: 120000\n"
                               "  initial_rto_ms: 500\n"
                               "  msl_ms: 1000\n"
                               "  delayed_ack_ms: 0\n"
                               "  retries: 8\n"
                               "  syn_retries: 3\n"
                               "  send_buffer: 65536\n"
                               "  recv_buffer: 131072\n"
                               "  ooo_max_segments: 64\n"
                               "  syn_backlog: 1024\n"
                               "  max_connections: 1000\n"
                               "  sack: false\n"
                               "  ephemeral_port_min: 10000\n"
                               "  ephemeral_port_max: 10000\n";
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL_FATAL(load(&c, yaml), 0);
    CU_ASSERT_STRING_EQUAL(c.libos, "catnip");
    CU_ASSERT_STRING_EQUAL(c.netdev, "raw:veth0");
    CU_ASSERT_EQUAL(c.seed, UINT64_MAX);
    CU_ASSERT_TRUE(c.seed_set);
    CU_ASSERT_EQUAL(c.log_level, MG_LOG_DEBUG);
    CU_ASSERT_STRING_EQUAL(c.capture_path, "/tmp/out.pcapng");
    CU_ASSERT_EQUAL(c.ipv4_netmask, 0xffff0000u);
    CU_ASSERT_EQUAL(c.ipv4_gateway, 0xc6120001u);
    CU_ASSERT_STRING_EQUAL(c.dpdk_port, "0000:03:00.0");
    CU_ASSERT_EQUAL(c.dpdk_rx_desc, 512);
    CU_ASSERT_EQUAL(c.dpdk_tx_desc, 2048);
    CU_ASSERT_EQUAL(c.dpdk_mempool_size, 16383);
    CU_ASSERT_EQUAL(c.tcp_min_rto_ns, 100 * MS);
    CU_ASSERT_EQUAL(c.tcp_max_rto_ns, 120 * SEC);
    CU_ASSERT_EQUAL(c.tcp_initial_rto_ns, 500 * MS);
    CU_ASSERT_EQUAL(c.tcp_msl_ns, 1 * SEC);
    CU_ASSERT_EQUAL(c.tcp_delayed_ack_ns, 0);
    CU_ASSERT_EQUAL(c.tcp_retries, 8);
    CU_ASSERT_EQUAL(c.tcp_syn_retries, 3);
    CU_ASSERT_EQUAL(c.tcp_send_buffer, 65536);
    CU_ASSERT_EQUAL(c.tcp_recv_buffer, 131072);
    CU_ASSERT_EQUAL(c.tcp_ooo_max_segments, 64);
    CU_ASSERT_EQUAL(c.tcp_syn_backlog, 1024);
    CU_ASSERT_EQUAL(c.tcp_max_connections, 1000);
    CU_ASSERT_FALSE(c.tcp_sack);
    CU_ASSERT_EQUAL(c.ephemeral_port_min, 10000);
    CU_ASSERT_EQUAL(c.ephemeral_port_max, 10000);

    /* seed 0 means "from the OS" again; a null string clears capture */
    CU_ASSERT_EQUAL(load(&c, "margay: {seed: 0, capture: ~}\n"), 0);
    CU_ASSERT_FALSE(c.seed_set);
    CU_ASSERT_STRING_EQUAL(c.capture_path, "");
    mg_config_free(&c);
}

static void test_empty_inputs(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL(load(&c, ""), 0);
    CU_ASSERT_EQUAL(load(&c, "# only a comment\n"), 0);
    CU_ASSERT_EQUAL(load(&c, "---\n...\n"), 0);
    CU_ASSERT_EQUAL(load(&c, "margay:\ntcp:\ndpdk:\n  eal_init:\n"), 0);
    CU_ASSERT_EQUAL(mg_config_load_string(&c, NULL, 0, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.mtu, 1500);
    mg_config_free(&c);
}

/* inetstack_config.ipv4_reassembly_*: defaults, values, units and ranges. */
static void test_ipv4_reassembly_keys(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_max_datagrams, 64);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_max_fragments, 64);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_max_buffers, 256);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_max_bytes, 65535);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_large_buffers, 4);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_timeout_ns, 30 * SEC);
    CU_ASSERT_EQUAL_FATAL(load(&c, "inetstack_config:\n"
                                   "  ipv4_reassembly_max_datagrams: 0\n"
                                   "  ipv4_reassembly_max_fragments: 45\n"
                                   "  ipv4_reassembly_max_buffers: 1000\n"
                                   "  ipv4_reassembly_max_bytes: 9000\n"
                                   "  ipv4_reassembly_large_buffers: 0\n"
                                   "  ipv4_reassembly_timeout_ms: 1500\n"),
                          0);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_max_datagrams, 0);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_max_fragments, 45);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_max_buffers, 1000);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_max_bytes, 9000);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_large_buffers, 0);
    CU_ASSERT_EQUAL(c.ipv4_reassembly_timeout_ns, 1500 * MS);
    mg_config_free(&c);
    expect_error("inetstack_config:\n  ipv4_reassembly_max_bytes: 65536\n",
                 "inetstack_config.ipv4_reassembly_max_bytes: expected an integer from 576 to 65535", "\"65536\"");
    expect_error("inetstack_config:\n  ipv4_reassembly_max_bytes: 575\n", "ipv4_reassembly_max_bytes", "\"575\"");
    expect_error("inetstack_config:\n  ipv4_reassembly_timeout_ms: 0\n",
                 "inetstack_config.ipv4_reassembly_timeout_ms: expected an integer from 1 to 600000", "\"0\"");
    expect_error("inetstack_config:\n  ipv4_reassembly_max_fragments: 0\n", "ipv4_reassembly_max_fragments", "\"0\"");
    expect_error("inetstack_config:\n  ipv4_reassembly_max_datagrams: 4097\n", "ipv4_reassembly_max_datagrams",
                 "\"4097\"");
    expect_error("inetstack_config:\n  ipv4_reassembly_max_buffers: -1\n", "ipv4_reassembly_max_buffers", "\"-1\"");
}

static void test_bad_values(void) {
    /* wrong type */
    expect_error("inetstack_config:\n  mtu: [1500]\n", "<string>:2: inetstack_config.mtu: expected an integer",
                 "got a sequence");
    expect_error("margay: 3\n", "<string>:1: margay: expected a mapping", "got a scalar");
    expect_error("tcp_socket_options:\n  nodelay: maybe\n", "tcp_socket_options.nodelay: expected true or false",
                 "\"maybe\"");
    expect_error("tcp_socket_options:\n  keepalive: {enabled: 2}\n", "tcp_socket_options.keepalive.enabled:", "\"2\"");
    expect_error("inetstack_config:\n  mtu: -1500\n", "inetstack_config.mtu: expected an integer from 68 to 9216",
                 "\"-1500\"");
    expect_error("inetstack_config:\n  mtu: \"\"\n", "inetstack_config.mtu:", "got \"\"");
    /* out of range */
    expect_error("inetstack_config:\n  mtu: 67\n",
                 "<string>:2: inetstack_config.mtu: expected an integer from 68 to 9216", "\"67\"");
    expect_error("inetstack_config:\n  mtu: 9217\n", "inetstack_config.mtu", "\"9217\"");
    expect_error("tcp:\n  ephemeral_port_min: 0\n", "tcp.ephemeral_port_min: expected an integer from 1 to 65535",
                 NULL);
    expect_error("tcp:\n  ephemeral_port_max: 65536\n", "tcp.ephemeral_port_max", "65536");
    expect_error("tcp:\n  ephemeral_port_min: 6000\n  ephemeral_port_max: 5000\n", "<string>:3: tcp.ephemeral_port_max",
                 "at least tcp.ephemeral_port_min (6000)");
    expect_error("inetstack_config:\n  mss: 87\n", "inetstack_config.mss: expected 0 (derive from mtu) or 88 to 1460",
                 "87");
    /* Demikernel's files write mss equal to mtu: clamped to mtu - 40, not refused. */
    {
        struct mg_config m;
        mg_config_defaults(&m);
        CU_ASSERT_EQUAL(load(&m, "inetstack_config:\n  mss: 1461\n"), 0);
        CU_ASSERT_EQUAL(m.mss, 1460);
        CU_ASSERT_EQUAL(load(&m, "inetstack_config:\n  mtu: 1500\n  mss: 1500\n"), 0);
        CU_ASSERT_EQUAL(m.mss, 1460);
        CU_ASSERT_EQUAL(load(&m, "inetstack_config:\n  mss: 1400\n  mtu: 1000\n"), 0);
        CU_ASSERT_EQUAL(m.mss, 960);
        mg_config_free(&m);
    }
    expect_error("tcp:\n  min_rto_ms: 5000\n  max_rto_ms: 4000\n", "tcp.max_rto_ms", "at least tcp.min_rto_ms");
    expect_error("tcp:\n  initial_rto_ms: 100\n", "tcp.initial_rto_ms", "from tcp.min_rto_ms (200)");
    expect_error("tcp_socket_options:\n  keepalive:\n    enabled: true\n    time_millis: 0\n",
                 "<string>:4: tcp_socket_options.keepalive.time_millis", "non-zero");
    /* trailing garbage */
    expect_error("inetstack_config:\n  mtu: 15oo\n",
                 "<string>:2: inetstack_config.mtu: expected an integer from 68 to 9216, got \"15oo\"", NULL);
    expect_error("tcp:\n  retries: 8 \"x\"\n", "tcp.retries", NULL);
    expect_error("tcp:\n  sack: sometimes\n", "<string>:2: tcp.sack: expected true or false", "\"sometimes\"");
    expect_error("tcp:\n  retries: \" 8\"\n", "tcp.retries", "\" 8\"");
    expect_error("tcp:\n  retries: +8\n", "tcp.retries", "\"+8\"");
    expect_error("tcp:\n  retries: 0x8\n", "tcp.retries", "\"0x8\"");
    expect_error("tcp:\n  retries: \"8\\0\"\n", "tcp.retries", "\"8?\"");
    /* overflow */
    expect_error("margay:\n  seed: 18446744073709551616\n",
                 "margay.seed: expected an integer from 0 to 18446744073709551615", NULL);
    expect_error("tcp:\n  retries: 99999999999999999999999\n", "tcp.retries", NULL);
    expect_error("inetstack_config:\n  mtu: 4294968796\n", "inetstack_config.mtu", NULL); /* 2^32 + 1500 */
    /* bad addresses */
    expect_error("demikernel:\n  local_ipv4_addr: 198.18.0\n", "demikernel.local_ipv4_addr: expected an IPv4 address",
                 "\"198.18.0\"");
    expect_error("demikernel:\n  local_ipv4_addr: 198.18.0.256\n", "local_ipv4_addr", NULL);
    expect_error("demikernel:\n  local_ipv4_addr: 198.18.00.1\n", "local_ipv4_addr", NULL);
    expect_error("demikernel:\n  local_ipv4_addr: 198.18.0.1.\n", "local_ipv4_addr", NULL);
    expect_error("demikernel:\n  local_ipv4_addr: 198.18.0.1x\n", "local_ipv4_addr", NULL);
    expect_error("demikernel:\n  local_ipv4_addr: 1.2.3.1234\n", "local_ipv4_addr", NULL);
    expect_error("demikernel:\n  local_ipv4_addr: XX.XX.XX.XX\n", "local_ipv4_addr", NULL);
    expect_error("margay:\n  ipv4_netmask: 255.0.255.0\n", "margay.ipv4_netmask: expected a contiguous IPv4 netmask",
                 NULL);
    /* bad MACs */
    expect_error("demikernel:\n  local_link_addr: \"02:00:00:00:00\"\n",
                 "demikernel.local_link_addr: expected a unicast MAC", NULL);
    expect_error("demikernel:\n  local_link_addr: \"02:00:00:00:00:0g\"\n", "local_link_addr", NULL);
    expect_error("demikernel:\n  local_link_addr: \"02-00-00-00-00-01\"\n", "local_link_addr", NULL);
    expect_error("demikernel:\n  local_link_addr: \"ff:ff:ff:ff:ff:ff\"\n", "local_link_addr", NULL);
    expect_error("demikernel:\n  local_link_addr: \"00:00:00:00:00:00\"\n", "local_link_addr", NULL);
    expect_error("inetstack_config:\n  arp_table:\n    \"02:00:00:00:00:01\": \"198.18.0\"\n",
                 "<string>:3: inetstack_config.arp_table.02:00:00:00:00:01: expected an IPv4", NULL);
    expect_error("inetstack_config:\n  arp_table:\n    \"zz:00:00:00:00:01\": \"198.18.0.1\"\n",
                 "<string>:3: inetstack_config.arp_table: expected a unicast MAC", NULL);
    expect_error("inetstack_config:\n  arp_table:\n    \"02:00:00:00:00:01\": 198.18.0.1\n"
                 "    \"02:00:00:00:00:01\": 198.18.0.2\n",
                 "<string>:4: inetstack_config.arp_table: duplicate entry", NULL);
    expect_error("inetstack_config:\n  arp_table: [1, 2]\n", "inetstack_config.arp_table: expected a mapping", NULL);
    /* strings that do not fit */
    expect_error("margay:\n  libos: \"\"\n", "margay.libos: expected a string of 1 to 31 characters", NULL);
    expect_error("margay:\n  libos: abcdefghijklmnopqrstuvwxyz0123456\n", "margay.libos", NULL);
    expect_error("raw_socket:\n  linux_interface_name: abcdefghijklmnop\n",
                 "raw_socket.linux_interface_name: expected a string of at most 15", NULL);
    expect_error("margay:\n  log_level: loud\n", "margay.log_level: expected one of error, warn", NULL);
    expect_error("dpdk:\n  eal_init: [\"-c\", [\"x\"]]\n", "dpdk.eal_init: expected a sequence of strings",
                 "got a sequence");
    expect_error("dpdk:\n  eal_init: \"-c 0x3\"\n", "dpdk.eal_init: expected a sequence", NULL);
    /* aliases are refused where margay reads a value */
    expect_error("margay:\n  libos: &x posix\n  netdev: *x\n", "margay.netdev", "alias");
}

static char logged[1024];
static void capture_log(enum mg_log_level level, const char *module, const char *msg, void *ctx) {
    (void)ctx;
    if (level == MG_LOG_DEBUG && strcmp(module, "config") == 0)
        snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s|", msg);
}

static void test_ignored_keys_logged(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    enum mg_log_level saved = mg_log_threshold;
    logged[0] = '\0';
    mg_log_set_sink(capture_log, NULL);
    mg_log_set_level(MG_LOG_DEBUG);
    CU_ASSERT_EQUAL(
        load(&c, "raw_socket:\n  xdp_interface_index: 0\ninetstack_config:\n  enable_jumbo_frames: false\n"), 0);
    mg_log_set_sink(NULL, NULL);
    mg_log_set_level(saved);
    CU_ASSERT_PTR_NOT_NULL(strstr(logged, "<string>:2: ignoring raw_socket.xdp_interface_index"));
    CU_ASSERT_PTR_NOT_NULL(strstr(logged, "<string>:4: ignoring inetstack_config.enable_jumbo_frames"));
    mg_config_free(&c);
}

static void test_value_spellings(void) {
    static const struct {
        const char *text;
        bool want;
    } bools[] = {{"true", true},   {"True", true}, {"YES", true},  {"on", true}, {"1", true},
                 {"false", false}, {"No", false},  {"OFF", false}, {"0", false}, {"\"yes\"", true}};
    struct mg_config c;
    mg_config_defaults(&c);
    char yaml[128];
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        c.nodelay = !bools[i].want;
        snprintf(yaml, sizeof(yaml), "tcp_socket_options:\n  nodelay: %s\n", bools[i].text);
        CU_ASSERT_EQUAL(load(&c, yaml), 0);
        CU_ASSERT_EQUAL(c.nodelay, bools[i].want);
    }
    CU_ASSERT_EQUAL(load(&c, "inetstack_config: {mtu: \"1280\", mss: '0'}\n"), 0);
    CU_ASSERT_EQUAL(c.mtu, 1280);
    CU_ASSERT_EQUAL(load(&c, "inetstack_config: {mtu: 68}\n"), 0);
    CU_ASSERT_EQUAL(load(&c, "inetstack_config: {mtu: 9216, mss: 9176}\n"), 0);
    CU_ASSERT_EQUAL(c.mss, 9176);
    CU_ASSERT_EQUAL(load(&c, "margay: {log_level: WARNING, ipv4_netmask: 0.0.0.0}\n"), 0);
    CU_ASSERT_EQUAL(c.log_level, MG_LOG_WARN);
    CU_ASSERT_EQUAL(load(&c, "margay: {ipv4_netmask: 255.255.255.255}\n"), 0);
    CU_ASSERT_EQUAL(c.ipv4_netmask, 0xffffffffu);
    mg_config_free(&c);
}

static void test_too_many_entries(void) {
    char yaml[8192];
    size_t n = (size_t)snprintf(yaml, sizeof(yaml), "inetstack_config:\n  arp_table:\n");
    for (int i = 0; i <= MG_CONFIG_MAX_ARP_ENTRIES; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "    \"02:00:00:00:01:%02x\": 10.0.1.%d\n", i, i + 1);
    expect_error(yaml, "<string>:67: inetstack_config.arp_table: expected at most 64 entries", NULL);

    /* exactly the maximum loads */
    struct mg_config c;
    mg_config_defaults(&c);
    char *last = strrchr(yaml, '"');
    last = memrchr(yaml, '\n', (size_t)(last - yaml));
    last[1] = '\0';
    CU_ASSERT_EQUAL(load(&c, yaml), 0);
    CU_ASSERT_EQUAL(c.arp_table_len, MG_CONFIG_MAX_ARP_ENTRIES);
    CU_ASSERT_EQUAL(c.arp_table[63].ipv4, 0x0a000140u);

    n = (size_t)snprintf(yaml, sizeof(yaml), "dpdk:\n  eal_init:\n");
    for (int i = 0; i < MG_CONFIG_MAX_EAL_ARGS - 1; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "    - \"-a%d\"\n", i);
    CU_ASSERT_EQUAL(load(&c, yaml), 0);
    CU_ASSERT_EQUAL(c.eal_argc, MG_CONFIG_MAX_EAL_ARGS - 1);
    CU_ASSERT_PTR_NULL(c.eal_args[c.eal_argc]);
    snprintf(yaml + n, sizeof(yaml) - n, "    - one-too-many\n");
    CU_ASSERT_EQUAL(load(&c, yaml), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "<string>:66: dpdk.eal_init: expected at most 63 arguments"));
    /* the failed load left the earlier list in place */
    CU_ASSERT_EQUAL(c.eal_argc, MG_CONFIG_MAX_EAL_ARGS - 1);
    CU_ASSERT_STRING_EQUAL(c.eal_args[62], "-a62");
    mg_config_free(&c);
}

static void test_duplicates_and_unknown(void) {
    /* duplicate keys are errors, naming both lines */
    expect_error("tcp:\n  retries: 3\n  retries: 4\n", "<string>:3: tcp.retries: duplicate key (first given at line 2)",
                 NULL);
    expect_error("margay:\n  seed: 1\nmargay:\n  seed: 2\n", "<string>:3: margay: duplicate key", NULL);
    /* unknown keys in margay's sections and unknown sections are errors */
    expect_error("margay:\n  libos: posix\n  lib_os: inet\n",
                 "<string>:3: margay.lib_os: unknown key in section margay", NULL);
    expect_error("tcp:\n  min_rto: 5\n", "<string>:2: tcp.min_rto: unknown key", NULL);
    expect_error("inetstack:\n  mtu: 1500\n", "<string>:1: inetstack: unknown section", NULL);
    expect_error("- a\n- b\n", "<string>:1: expected a mapping of sections", "got a sequence");
    expect_error("[a, b]: 1\n", "<string>:1: top level: expected a key name", NULL);
    /* unknown keys in Demikernel's sections are ignored, whatever their shape */
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL(load(&c, "dpdk:\n  made_up: &a {a: [1, {b: 2}]}\n  other: *a\n"), 0);
    CU_ASSERT_EQUAL(load(&c, "dpdk:\n  made_up: {a: [1, {b: 2}]}\ninetstack_config:\n  future_key: 3\n"), 0);
    mg_config_free(&c);
}

static void test_syntax_errors(void) {
    expect_error("margay:\n  libos: posix\n   netdev: x\n", "<string>:3: YAML syntax error", NULL);
    expect_error("margay: {libos: posix\n", "<string>:", "YAML syntax error");
    expect_error("tcp:\n  retries: \"3\n", "YAML syntax error", NULL);
    expect_error("a: 1\n---\nb: 2\n", NULL, NULL);
    expect_error("margay:\n  libos: \xc3\x28\n", "<string>: byte", "invalid input");
    expect_error("margay:\n  seed: 1\n---\nmargay:\n  seed: 2\n", "<string>:3: only one YAML document", NULL);
}

static void test_error_lines(void) {
    static const char yaml[] = "# comment\n"
                               "margay:\n"
                               "  libos: posix\n"
                               "\n"
                               "inetstack_config:\n"
                               "  mss: 0\n"
                               "  mtu: 15oo\n";
    expect_error(yaml, "<string>:7: inetstack_config.mtu: expected an integer from 68 to 9216, got \"15oo\"", NULL);
    CU_ASSERT_STRING_EQUAL(err, "<string>:7: inetstack_config.mtu: expected an integer from 68 to 9216, got \"15oo\"");
    expect_error("dpdk:\n  eal_init:\n    - a\n\n    - [b]\n", "<string>:5: dpdk.eal_init", NULL);
}

static char tmpdir[64];

static const char *write_file(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_files(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    const char *path = write_file("good.yaml", demikernel_yaml);
    CU_ASSERT_EQUAL(mg_config_load_file(&c, path, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.mtu, 9000);

    path = write_file("bad.yaml", "tcp:\n  retries: 3\n  syn_retries: x\n");
    CU_ASSERT_EQUAL(mg_config_load_file(&c, path, err, sizeof(err)), -EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: tcp.syn_retries: expected an integer from 1 to 255, got \"x\"", path);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_EQUAL(c.tcp_retries, 15); /* a failed load changes nothing */

    char missing[128];
    snprintf(missing, sizeof(missing), "%s/does-not-exist.yaml", tmpdir);
    CU_ASSERT_EQUAL(mg_config_load_file(&c, missing, err, sizeof(err)), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, missing));
    CU_ASSERT_EQUAL(mg_config_load_file(&c, tmpdir, err, sizeof(err)), -EISDIR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, tmpdir));
    CU_ASSERT_EQUAL(c.eal_argc, 7);
    mg_config_free(&c);
}

static void test_load_twice(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(load(&c, demikernel_yaml), 0);
        CU_ASSERT_EQUAL(c.eal_argc, 7);
    }
    CU_ASSERT_EQUAL(load(&c, "dpdk:\n  eal_init: [\"x\"]\n"), 0);
    CU_ASSERT_EQUAL(c.eal_argc, 1);
    CU_ASSERT_STRING_EQUAL(c.eal_args[0], "x");
    CU_ASSERT_PTR_NULL(c.eal_args[1]);
    /* a load without eal_init keeps the list; an empty one clears it */
    CU_ASSERT_EQUAL(load(&c, "tcp:\n  retries: 3\n"), 0);
    CU_ASSERT_EQUAL(c.eal_argc, 1);
    /* an error after eal_init was read frees the new list and keeps the old one */
    CU_ASSERT_EQUAL(load(&c, "dpdk:\n  eal_init: [a, b, c]\ntcp:\n  retries: 0\n"), -EINVAL);
    CU_ASSERT_EQUAL(c.eal_argc, 1);
    CU_ASSERT_STRING_EQUAL(c.eal_args[0], "x");
    CU_ASSERT_EQUAL(load(&c, "dpdk:\n  eal_init: []\n"), 0);
    CU_ASSERT_EQUAL(c.eal_argc, 0);
    CU_ASSERT_PTR_NULL(c.eal_args[0]);
    mg_config_free(&c);
    mg_config_free(&c); /* twice is harmless */
}

static void test_env(void) {
    struct mg_config c;
    clear_env();
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(c.libos, "posix");

    setenv("DEMI_LIBOS", "inet", 1);
    setenv("DEMI_LOG", "trace", 1);
    setenv("DEMI_SEED", "42", 1);
    setenv("DEMI_CAPTURE", "/tmp/c.pcapng", 1);
    setenv("DEMI_NETDEV", "sim", 1);
    setenv("DEMI_LOCAL_IPV4_ADDR", "198.18.1.1", 1);
    setenv("DEMI_LOCAL_LINK_ADDR", "02:00:00:00:00:aa", 1);
    setenv("MTU", "1400", 1);
    setenv("MSS", "1360", 1);
    CU_ASSERT_EQUAL_FATAL(mg_config_apply_env(&c, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(c.libos, "inet");
    CU_ASSERT_EQUAL(c.log_level, MG_LOG_TRACE);
    CU_ASSERT_EQUAL(c.seed, 42);
    CU_ASSERT_TRUE(c.seed_set);
    CU_ASSERT_STRING_EQUAL(c.capture_path, "/tmp/c.pcapng");
    CU_ASSERT_STRING_EQUAL(c.netdev, "sim");
    CU_ASSERT_EQUAL(c.local_ipv4_addr, 0xc6120101u);
    CU_ASSERT_TRUE(c.local_link_addr_set);
    CU_ASSERT_EQUAL(c.local_link_addr[5], 0xaa);
    CU_ASSERT_EQUAL(c.mtu, 1400);
    CU_ASSERT_EQUAL(c.mss, 1360);

    /* Demikernel's LIBOS is applied after DEMI_LIBOS, so it wins */
    setenv("LIBOS", "catnap", 1);
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(c.libos, "catnap");

    /* a bad value names the variable and changes nothing */
    setenv("MTU", "big", 1);
    setenv("DEMI_LIBOS", "rdma", 1);
    unsetenv("LIBOS");
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "MTU: inetstack_config.mtu: expected an integer from 68 to 9216, got \"big\"");
    CU_ASSERT_STRING_EQUAL(c.libos, "catnap");
    setenv("MTU", "1000", 1); /* MSS 1360 no longer fits: clamped to mtu - 40 */
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.mss, 960);
    setenv("MSS", "80", 1); /* below the minimum: refused, naming the variable */
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "MSS: inetstack_config.mss"));
    unsetenv("MSS");
    setenv("DEMI_LOCAL_LINK_ADDR", "nonsense", 1);
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "DEMI_LOCAL_LINK_ADDR: demikernel.local_link_addr"));
    clear_env();
    mg_config_free(&c);
}

static void test_config_set(void) {
    struct mg_config c;
    clear_env();
    mg_config_defaults(&c);
    setenv("DEMI_CONFIG_SET",
           " tcp.retries = 4 ;margay.netdev=raw:lo;;tcp_socket_options.keepalive.probes=2;"
           "margay.capture=",
           1);
    setenv("MTU", "1280", 1);
    CU_ASSERT_EQUAL_FATAL(mg_config_apply_env(&c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.tcp_retries, 4);
    CU_ASSERT_STRING_EQUAL(c.netdev, "raw:lo");
    CU_ASSERT_EQUAL(c.keepalive_probes, 2);
    CU_ASSERT_EQUAL(c.mtu, 1280);
    /* DEMI_CONFIG_SET comes last, so it beats MTU */
    setenv("DEMI_CONFIG_SET", "inetstack_config.mtu=1300", 1);
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.mtu, 1300);
    unsetenv("MTU");

    static const struct {
        const char *spec, *want;
    } bad[] = {
        {"tcp.retries=0", "DEMI_CONFIG_SET: tcp.retries: expected an integer from 1 to 255, got \"0\""},
        {"tcp.retries", "DEMI_CONFIG_SET: expected section.key=value, got \"tcp.retries\""},
        {"tcp.bogus=1", "DEMI_CONFIG_SET: tcp.bogus: unknown key"},
        {"raw_socket.xdp_interface_index=1", "DEMI_CONFIG_SET: raw_socket.xdp_interface_index: unknown key"},
        {"dpdk.eal_init=-c", "DEMI_CONFIG_SET: dpdk.eal_init: not a single value"},
        {"margay=x", "DEMI_CONFIG_SET: margay: not a single value"},
        {"tcp.retries=3;tcp.syn_retries=300", "DEMI_CONFIG_SET: tcp.syn_retries: expected an integer from 1 to 255"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("DEMI_CONFIG_SET", bad[i].spec, 1);
        CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), -EINVAL);
        if (!strstr(err, bad[i].want))
            fprintf(stderr, "\n  %s -> \"%s\"\n", bad[i].spec, err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
        CU_ASSERT_EQUAL(c.tcp_retries, 4);
    }
    clear_env();
    mg_config_free(&c);
}

static void test_load_default(void) {
    struct mg_config c;
    clear_env();
    CU_ASSERT_EQUAL(mg_config_load_default(&c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.mtu, 1500);
    mg_config_free(&c);

    char a[128], b[128];
    snprintf(a, sizeof(a), "%s", write_file("a.yaml", "inetstack_config: {mtu: 1000}\n"));
    snprintf(b, sizeof(b), "%s", write_file("b.yaml", "inetstack_config: {mtu: 2000}\n"));
    setenv("DEMI_CONFIG", b, 1);
    CU_ASSERT_EQUAL(mg_config_load_default(&c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.mtu, 2000);
    mg_config_free(&c);
    setenv("CONFIG_PATH", a, 1); /* Demikernel's name wins */
    setenv("MTU", "1100", 1);    /* and the environment comes after the file */
    CU_ASSERT_EQUAL(mg_config_load_default(&c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.mtu, 1100);
    mg_config_free(&c);
    unsetenv("MTU");
    CU_ASSERT_EQUAL(mg_config_load_default(&c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.mtu, 1000);
    mg_config_free(&c);

    snprintf(a, sizeof(a), "%s/missing.yaml", tmpdir);
    setenv("CONFIG_PATH", a, 1);
    CU_ASSERT_EQUAL(mg_config_load_default(&c, err, sizeof(err)), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, a));
    mg_config_free(&c);
    clear_env();
}

/* xorshift64*: a fixed-seed generator so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void check_survives(const char *buf, size_t len) {
    struct mg_config c;
    mg_config_defaults(&c);
    memset(err, 'X', sizeof(err));
    int rc = mg_config_load_string(&c, buf, len, err, sizeof(err));
    CU_ASSERT(rc == 0 || rc == -EINVAL);
    if (rc < 0) {
        CU_ASSERT_PTR_NOT_NULL(memchr(err, '\0', sizeof(err)));
        CU_ASSERT(err[0] != '\0');
        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    }
    CU_ASSERT(c.eal_argc >= 0 && c.eal_argc < MG_CONFIG_MAX_EAL_ARGS);
    CU_ASSERT(c.arp_table_len <= MG_CONFIG_MAX_ARP_ENTRIES);
    mg_config_free(&c);
}

static void test_random_input(void) {
    static const char alphabet[] = "abcdefgmtu_.:-[]{},'\"\\&*!|>?#%@ \n\t0123456789";
    char buf[512];
    for (int i = 0; i < 400; i++) {
        size_t len = (size_t)(rng() % sizeof(buf));
        for (size_t j = 0; j < len; j++)
            buf[j] = (i & 1) ? (char)rng() : alphabet[rng() % (sizeof(alphabet) - 1)];
        check_survives(buf, len);
    }
    /* every truncation of a valid file, and single-byte mutations of it */
    size_t full = strlen(demikernel_yaml);
    for (size_t len = 0; len <= full; len++)
        check_survives(demikernel_yaml, len);
    char *copy = malloc(full);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    for (int i = 0; i < 300; i++) {
        memcpy(copy, demikernel_yaml, full);
        for (int k = 0; k < 1 + (int)(rng() % 3); k++)
            copy[rng() % full] = (i & 1) ? (char)rng() : alphabet[rng() % (sizeof(alphabet) - 1)];
        check_survives(copy, full);
    }
    free(copy);
}

static void test_deep_nesting(void) {
    size_t depth = 100000;
    char *buf = malloc(2 * depth + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    size_t n = (size_t)sprintf(buf, "raw_socket:\n  xdp_tcp_ports: ");
    memset(buf + n, '[', depth);
    memset(buf + n + depth, ']', depth);
    buf[n + 2 * depth] = '\n';
    check_survives(buf, n + 2 * depth + 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "nesting deeper than 64 levels"));
    n = (size_t)sprintf(buf, "margay: ");
    memset(buf + n, '{', depth);
    check_survives(buf, n + depth);
    /* nesting within the limit in an ignored key is fine */
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL(load(&c, "raw_socket:\n  xdp_tcp_ports: [[[[[[[[[[1]]]]]]]]]]\n"), 0);
    mg_config_free(&c);
    free(buf);
}

static void test_small_err_buffer(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    char tiny[8];
    CU_ASSERT_EQUAL(mg_config_load_string(&c, "tcp: {retries: 0}", 17, tiny, sizeof(tiny)), -EINVAL);
    CU_ASSERT_STRING_EQUAL(tiny, "<string");
    CU_ASSERT_EQUAL(mg_config_load_string(&c, "tcp: {retries: 0}", 17, NULL, 0), -EINVAL);
    mg_config_free(&c);
}

static int suite_init(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/margay-test-config-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void) {
    static const char *const names[] = {"good.yaml", "bad.yaml", "a.yaml", "b.yaml"};
    char path[128];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

/* margay.fault: every key of both directions, its unit, and what enables it. */
static void test_fault_keys(void) {
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_FALSE(mg_config_fault_enabled(&c));
    const char *yaml = "margay:\n"
                       "  fault:\n"
                       "    seed: 12345678901234567890\n"
                       "    tx:\n"
                       "      loss: 0.25\n"
                       "      burst_enter: 0.01\n"
                       "      burst_exit: 0.5\n"
                       "      burst_loss: 1\n"
                       "      duplicate: 5e-3\n"
                       "      corrupt: .001\n"
                       "      reorder: 0.1\n"
                       "      reorder_delay_us: 250\n"
                       "      delay_us: 100\n"
                       "      jitter_us: 20\n"
                       "      rate_bps: 1000000000\n"
                       "      queue_bytes: 32768\n"
                       "      mtu: 1500\n"
                       "    rx:\n"
                       "      loss: \"0.5\"\n";
    CU_ASSERT_EQUAL_FATAL(load(&c, yaml), 0);
    CU_ASSERT_EQUAL(c.fault_seed, 12345678901234567890ull);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.loss, 0.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.burst_enter, 0.01, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.burst_exit, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.burst_loss, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.duplicate, 0.005, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.corrupt, 0.001, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.reorder, 0.1, 1e-12);
    CU_ASSERT_EQUAL(c.fault_tx.reorder_delay_ns, 250000);
    CU_ASSERT_EQUAL(c.fault_tx.delay_ns, 100000);
    CU_ASSERT_EQUAL(c.fault_tx.jitter_ns, 20000);
    CU_ASSERT_EQUAL(c.fault_tx.rate_bps, 1000000000);
    CU_ASSERT_EQUAL(c.fault_tx.queue_bytes, 32768);
    CU_ASSERT_EQUAL(c.fault_tx.mtu, 1500);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_rx.loss, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_rx.duplicate, 0, 1e-12);
    CU_ASSERT_EQUAL(c.fault_rx.delay_ns, 0);
    CU_ASSERT_TRUE(mg_config_fault_enabled(&c));
    mg_config_free(&c);

    /* Any one knob of either direction turns the model on; a seed or a queue alone do not. */
    static const char *const on[] = {
        "margay:\n  fault:\n    rx:\n      delay_us: 1\n",
        "margay:\n  fault:\n    tx:\n      mtu: 576\n",
        "margay:\n  fault:\n    rx:\n      corrupt: 0.0001\n",
        "margay:\n  fault:\n    tx:\n      rate_bps: 1000\n",
    };
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        mg_config_defaults(&c);
        CU_ASSERT_EQUAL(load(&c, on[i]), 0);
        CU_ASSERT_TRUE(mg_config_fault_enabled(&c));
        mg_config_free(&c);
    }
    /* The flow style of doc/sim.md's example. */
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL(load(&c, "margay:\n  fault:\n    seed: 4\n"
                             "    tx: {loss: 0.02, reorder: 0.05, reorder_delay_us: 200}\n"
                             "    rx: {loss: 0.02, burst_enter: 0.01, burst_exit: 0.3, burst_loss: 0.5}\n"),
                    0);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.reorder, 0.05, 1e-12);
    CU_ASSERT_EQUAL(c.fault_tx.reorder_delay_ns, 200000);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_rx.burst_exit, 0.3, 1e-12);
    mg_config_free(&c);
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL(load(&c, "margay:\n  fault:\n    seed: 3\n    tx:\n      queue_bytes: 100\n    rx:\n"), 0);
    CU_ASSERT_FALSE(mg_config_fault_enabled(&c));
    CU_ASSERT_EQUAL(c.fault_seed, 3);
    mg_config_free(&c);
}

static void test_fault_bad_values(void) {
    expect_error("margay:\n  fault:\n    tx:\n      loss: 1.5\n",
                 "<string>:4: margay.fault.tx.loss: expected a number from 0 to 1", "got \"1.5\"");
    expect_error("margay:\n  fault:\n    rx:\n      loss: -0.1\n", "<string>:4: margay.fault.rx.loss", "\"-0.1\"");
    expect_error("margay:\n  fault:\n    tx:\n      duplicate: nan\n", "margay.fault.tx.duplicate", "\"nan\"");
    expect_error("margay:\n  fault:\n    tx:\n      corrupt: inf\n", "margay.fault.tx.corrupt", "\"inf\"");
    expect_error("margay:\n  fault:\n    tx:\n      reorder: 0x0.1p1\n", "margay.fault.tx.reorder", NULL);
    expect_error("margay:\n  fault:\n    tx:\n      loss: 0.1%\n", "margay.fault.tx.loss", "\"0.1%\"");
    expect_error("margay:\n  fault:\n    tx:\n      loss: 10%\n", "margay.fault.tx.loss", NULL);
    expect_error("margay:\n  fault:\n    tx:\n      loss: \"\"\n", "margay.fault.tx.loss", "got \"\"");
    expect_error("margay:\n  fault:\n    tx:\n      loss: [0.1]\n", "margay.fault.tx.loss: expected a number",
                 "got a sequence");
    expect_error("margay:\n  fault:\n    tx:\n      delay_us: 1.5\n",
                 "margay.fault.tx.delay_us: expected an integer from 0 to 60000000", NULL);
    expect_error("margay:\n  fault:\n    rx:\n      jitter_us: 60000001\n", "margay.fault.rx.jitter_us", NULL);
    expect_error("margay:\n  fault:\n    tx:\n      mtu: 9217\n", "margay.fault.tx.mtu", NULL);
    expect_error("margay:\n  fault:\n    tx:\n      mtu: 60\n",
                 "<string>:4: margay.fault.tx.mtu: expected 0 (no limit) or 68 to 9216, got 60", NULL);
    expect_error("margay:\n  fault:\n    seed: -1\n", "<string>:3: margay.fault.seed: expected an integer", NULL);
    /* Unknown keys in margay's own sections are errors, with the line. */
    expect_error("margay:\n  fault:\n    tx:\n      los: 0.1\n",
                 "<string>:4: margay.fault.tx.los: unknown key in section margay.fault.tx", NULL);
    expect_error("margay:\n  fault:\n    both:\n      loss: 0.1\n",
                 "<string>:3: margay.fault.both: unknown key in section margay.fault", NULL);
    expect_error("margay:\n  fault: 0.1\n", "<string>:2: margay.fault: expected a mapping", NULL);
    /* Combinations: a burst needs all three keys; reordering needs a delay. */
    expect_error("margay:\n  fault:\n    tx:\n      burst_enter: 0.01\n      burst_loss: 0.5\n",
                 "margay.fault.tx.burst_exit: expected a number above 0", "burst_enter, burst_exit and burst_loss");
    expect_error("margay:\n  fault:\n    rx:\n      burst_exit: 0.3\n      burst_loss: 0.5\n",
                 "<string>:5: margay.fault.rx.burst_enter: expected a number above 0", NULL);
    expect_error("margay:\n  fault:\n    tx:\n      reorder: 0.2\n",
                 "<string>:4: margay.fault.tx.reorder_delay_us: expected a non-zero delay while reorder is set", NULL);
    /* A failed load changes nothing. */
    struct mg_config c;
    mg_config_defaults(&c);
    CU_ASSERT_EQUAL(load(&c, "margay:\n  fault:\n    tx:\n      loss: 0.2\n      duplicate: 2\n"), -EINVAL);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_tx.loss, 0, 1e-12);
    CU_ASSERT_FALSE(mg_config_fault_enabled(&c));
    mg_config_free(&c);
}

/* The environment reaches margay.fault through DEMI_CONFIG_SET, with the same checks. */
static void test_fault_env(void) {
    struct mg_config c;
    clear_env();
    mg_config_defaults(&c);
    setenv("DEMI_CONFIG_SET", "margay.fault.seed=9;margay.fault.rx.loss=0.05;margay.fault.tx.delay_us=30", 1);
    CU_ASSERT_EQUAL_FATAL(mg_config_apply_env(&c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.fault_seed, 9);
    CU_ASSERT_DOUBLE_EQUAL(c.fault_rx.loss, 0.05, 1e-12);
    CU_ASSERT_EQUAL(c.fault_tx.delay_ns, 30000);
    CU_ASSERT_TRUE(mg_config_fault_enabled(&c));
    setenv("DEMI_CONFIG_SET", "margay.fault.rx.loss=2", 1);
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err, "DEMI_CONFIG_SET: margay.fault.rx.loss: expected a number from 0 to 1, got \"2\""));
    setenv("DEMI_CONFIG_SET", "margay.fault.tx.reorder=0.5", 1);
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "DEMI_CONFIG_SET: margay.fault.tx.reorder_delay_us"));
    setenv("DEMI_CONFIG_SET", "margay.fault.tx=1", 1);
    CU_ASSERT_EQUAL(mg_config_apply_env(&c, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "margay.fault.tx: not a single value"));
    CU_ASSERT_DOUBLE_EQUAL(c.fault_rx.loss, 0.05, 1e-12); /* unchanged by the failed loads */
    clear_env();
    mg_config_free(&c);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("config", suite_init, suite_clean);
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"defaults", test_defaults},
        {"demikernel_file", test_demikernel_file},
        {"ipv4_reassembly_keys", test_ipv4_reassembly_keys},
        {"margay_keys", test_margay_keys},
        {"empty_inputs", test_empty_inputs},
        {"bad_values", test_bad_values},
        {"ignored_keys_logged", test_ignored_keys_logged},
        {"value_spellings", test_value_spellings},
        {"too_many_entries", test_too_many_entries},
        {"duplicates_and_unknown", test_duplicates_and_unknown},
        {"syntax_errors", test_syntax_errors},
        {"error_lines", test_error_lines},
        {"files", test_files},
        {"load_twice", test_load_twice},
        {"env", test_env},
        {"config_set", test_config_set},
        {"load_default", test_load_default},
        {"random_input", test_random_input},
        {"deep_nesting", test_deep_nesting},
        {"small_err_buffer", test_small_err_buffer},
        {"fault_keys", test_fault_keys},
        {"fault_bad_values", test_fault_bad_values},
        {"fault_env", test_fault_env},
    };
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (!s || !CU_add_test(s, tests[i].name, tests[i].fn))
            return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
