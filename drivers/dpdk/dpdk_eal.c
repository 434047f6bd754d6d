/* drivers/dpdk/dpdk_eal.c — starting DPDK's EAL once per process from margay's
 * configuration, finding a port by id, PCI address or vdev name, and describing the
 * ports (for `margay info` and for error messages that list what exists).
 *
 * EAL is process-wide and cannot be started twice, not even after a failure, so the
 * outcome of the first start (and its message) is kept here and handed to every later
 * caller. The argument vector given to EAL stays alive for the life of the process
 * because EAL may keep pointers into it. */
#include "config.h"

#include "drivers/dpdk/dpdk_netdev.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_pci.h>
#include <rte_version.h>

enum eal_state { EAL_NOT_STARTED, EAL_RUNNING, EAL_FAILED, EAL_CLEANED_UP };

static struct {
    pthread_mutex_t lock;
    enum eal_state state;
    int error;         /* negative errno of the failed start */
    char message[512]; /* its message */
    char **argv;       /* what EAL was given; kept for its lifetime */
    int argc;
} eal = {.lock = PTHREAD_MUTEX_INITIALIZER, .state = EAL_NOT_STARTED};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool args_contain(int argc, char *const argv[], const char *prefix) {
    for (int i = 0; i < argc; i++)
        if (argv[i] && strncmp(argv[i], prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

static int copy_args(int argc, char *const argv[]) {
    eal.argv = calloc((size_t)argc + 2, sizeof(char *));
    if (!eal.argv)
        return -ENOMEM;
    eal.argv[0] = strdup("margay");
    if (!eal.argv[0])
        return -ENOMEM;
    for (int i = 0; i < argc; i++) {
        eal.argv[i + 1] = strdup(argv[i] ? argv[i] : "");
        if (!eal.argv[i + 1])
            return -ENOMEM;
    }
    eal.argc = argc + 1;
    return 0;
}

static void explain_failure(int argc, char *const argv[], int rte_err) {
    const bool no_huge = args_contain(argc, argv, "--no-huge");
    if (!no_huge && (rte_err == EACCES || rte_err == ENOMEM))
        snprintf(eal.message, sizeof(eal.message),
                 "DPDK EAL failed to start (%s): no usable hugepages; reserve some "
                 "(echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages and mount hugetlbfs) "
                 "or add --no-huge -m 256 to dpdk.eal_init (see doc/dpdk.md)",
                 rte_strerror(rte_err));
    else if (rte_err == EINVAL)
        snprintf(eal.message, sizeof(eal.message),
                 "DPDK EAL failed to start: invalid EAL arguments in dpdk.eal_init (EAL printed its usage above)");
    else
        snprintf(eal.message, sizeof(eal.message),
                 "DPDK EAL failed to start: %s (run as root; see EAL's messages above)", rte_strerror(rte_err));
}

int mg_dpdk_eal_init(int argc, char *const argv[], char *err, size_t errlen) {
    int ret = 0;
    pthread_mutex_lock(&eal.lock);
    switch (eal.state) {
    case EAL_RUNNING:
        break;
    case EAL_FAILED:
        set_err(err, errlen, "%s", eal.message);
        ret = eal.error;
        break;
    case EAL_CLEANED_UP:
        set_err(err, errlen, "DPDK EAL was shut down in this process and cannot start again");
        ret = -EALREADY;
        break;
    case EAL_NOT_STARTED:
        if (argc < 0 || (argc > 0 && !argv)) {
            set_err(err, errlen, "DPDK EAL: bad argument vector");
            ret = -EINVAL;
            break;
        }
        ret = copy_args(argc, argv);
        if (ret < 0) {
            set_err(err, errlen, "DPDK EAL: out of memory copying arguments");
            break;
        }
        /* EAL permutes its argv; give it a shallow copy so eal.argv keeps every string. */
        char **scratch = calloc((size_t)eal.argc + 1, sizeof(char *));
        if (!scratch) {
            set_err(err, errlen, "DPDK EAL: out of memory copying arguments");
            ret = -ENOMEM;
            break;
        }
        memcpy(scratch, eal.argv, (size_t)eal.argc * sizeof(char *));
        int used = rte_eal_init(eal.argc, scratch);
        int rte_err = rte_errno;
        free(scratch);
        if (used < 0) {
            explain_failure(argc, argv, rte_err);
            eal.error = -(rte_err ? rte_err : EIO);
            eal.state = EAL_FAILED;
            set_err(err, errlen, "%s", eal.message);
            ret = eal.error;
        } else if (used + 1 < eal.argc) {
            /* EAL stopped at a non-option: margay has no application arguments there. */
            snprintf(eal.message, sizeof(eal.message), "dpdk.eal_init: '%s' is not an EAL option", eal.argv[used + 1]);
            rte_eal_cleanup();
            eal.error = -EINVAL;
            eal.state = EAL_FAILED;
            set_err(err, errlen, "%s", eal.message);
            ret = eal.error;
        } else {
            eal.state = EAL_RUNNING;
        }
        break;
    }
    pthread_mutex_unlock(&eal.lock);
    return ret;
}

bool mg_dpdk_eal_running(void) {
    pthread_mutex_lock(&eal.lock);
    bool running = eal.state == EAL_RUNNING;
    pthread_mutex_unlock(&eal.lock);
    return running;
}

void mg_dpdk_eal_cleanup(void) {
    pthread_mutex_lock(&eal.lock);
    if (eal.state == EAL_RUNNING) {
        rte_eal_cleanup();
        eal.state = EAL_CLEANED_UP;
    }
    if (eal.argv) {
        for (int i = 0; i < eal.argc; i++)
            free(eal.argv[i]);
        free(eal.argv);
        eal.argv = NULL;
        eal.argc = 0;
    }
    pthread_mutex_unlock(&eal.lock);
}

/* "0000:01:00.0" and "01:00.0" name the same PCI device; DPDK names it the first way. */
static bool canonical_pci_name(const char *spec, char *out, size_t outlen) {
    struct rte_pci_addr addr;
    if (rte_pci_addr_parse(spec, &addr) != 0)
        return false;
    rte_pci_device_name(&addr, out, outlen);
    return true;
}

static void list_ports(char *buf, size_t len) {
    size_t used = 0;
    uint16_t pid;
    buf[0] = '\0';
    RTE_ETH_FOREACH_DEV(pid) {
        char name[RTE_ETH_NAME_MAX_LEN];
        if (rte_eth_dev_get_name_by_port(pid, name) != 0)
            snprintf(name, sizeof(name), "?");
        int n = snprintf(buf + used, len - used, "%s%u (%s)", used ? ", " : "", pid, name);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

static int no_such_port(const char *spec, char *err, size_t errlen) {
    char ports[256];
    list_ports(ports, sizeof(ports));
    if (ports[0])
        set_err(err, errlen, "no DPDK port '%s'; ports: %s (run `margay info`)", spec, ports);
    else
        set_err(err, errlen,
                "no DPDK port '%s': EAL found no ports (bind a NIC to vfio-pci with dpdk-devbind.py, or add "
                "--vdev=... to dpdk.eal_init)",
                spec);
    return -ENODEV;
}

static bool all_digits(const char *s) {
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

int mg_dpdk_find_port(const char *spec, uint16_t *port_id, char *err, size_t errlen) {
    if (!mg_dpdk_eal_running()) {
        set_err(err, errlen, "DPDK EAL is not running");
        return -ENODEV;
    }
    if (!spec || !*spec) {
        uint16_t first = rte_eth_find_next_owned_by(0, RTE_ETH_DEV_NO_OWNER);
        if (first >= RTE_MAX_ETHPORTS)
            return no_such_port("(first port)", err, errlen);
        *port_id = first;
        return 0;
    }
    if (all_digits(spec)) {
        unsigned long id = strtoul(spec, NULL, 10);
        if (id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)id))
            return no_such_port(spec, err, errlen);
        *port_id = (uint16_t)id;
        return 0;
    }
    if (rte_eth_dev_get_port_by_name(spec, port_id) == 0)
        return 0;
    char pci[PCI_PRI_STR_SIZE];
    if (canonical_pci_name(spec, pci, sizeof(pci)) && rte_eth_dev_get_port_by_name(pci, port_id) == 0)
        return 0;
    return no_such_port(spec, err, errlen);
}

static void print_offloads(FILE *out, const char *label, uint64_t capa, bool rx) {
    fprintf(out, "  %-14s", label);
    if (capa == 0)
        fprintf(out, " none");
    for (unsigned bit = 0; bit < 64; bit++) {
        uint64_t flag = 1ULL << bit;
        if (!(capa & flag))
            continue;
        const char *name = rx ? rte_eth_dev_rx_offload_name(flag) : rte_eth_dev_tx_offload_name(flag);
        fprintf(out, " %s", name);
    }
    fputc('\n', out);
}

static void print_link(FILE *out, uint16_t pid) {
    struct rte_eth_link link;
    memset(&link, 0, sizeof(link));
    if (rte_eth_link_get_nowait(pid, &link) != 0) {
        fprintf(out, "  %-14s unknown\n", "link");
        return;
    }
    if (!link.link_status) {
        fprintf(out, "  %-14s down\n", "link");
        return;
    }
    fprintf(out, "  %-14s up", "link");
    if (link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN || link.link_speed == RTE_ETH_SPEED_NUM_NONE)
        fprintf(out, ", speed unknown");
    else
        fprintf(out, ", %u Mbps", link.link_speed);
    fprintf(out, ", %s-duplex%s\n", link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half",
            link.link_autoneg == RTE_ETH_LINK_AUTONEG ? ", autoneg" : "");
}

static void print_port(FILE *out, uint16_t pid) {
    struct rte_eth_dev_info info;
    char name[RTE_ETH_NAME_MAX_LEN] = "?";
    rte_eth_dev_get_name_by_port(pid, name);
    fprintf(out, "port %u: %s\n", pid, name);
    if (rte_eth_dev_info_get(pid, &info) != 0) {
        fprintf(out, "  (device information unavailable)\n");
        return;
    }
    const char *bus = info.device ? rte_bus_name(rte_dev_bus(info.device)) : "?";
    fprintf(out, "  %-14s %s\n", "driver", info.driver_name ? info.driver_name : "?");
    fprintf(out, "  %-14s %s %s\n", "device", bus ? bus : "?", info.device ? rte_dev_name(info.device) : name);
    struct rte_ether_addr mac;
    if (rte_eth_macaddr_get(pid, &mac) == 0)
        fprintf(out, "  %-14s " RTE_ETHER_ADDR_PRT_FMT "\n", "mac", RTE_ETHER_ADDR_BYTES(&mac));
    print_link(out, pid);
    fprintf(out, "  %-14s %d\n", "numa socket", rte_eth_dev_socket_id(pid));
    fprintf(out, "  %-14s rx %u, tx %u\n", "max queues", info.max_rx_queues, info.max_tx_queues);
    fprintf(out, "  %-14s min %u, max %u, align %u\n", "rx desc", info.rx_desc_lim.nb_min, info.rx_desc_lim.nb_max,
            info.rx_desc_lim.nb_align);
    fprintf(out, "  %-14s min %u, max %u, align %u\n", "tx desc", info.tx_desc_lim.nb_min, info.tx_desc_lim.nb_max,
            info.tx_desc_lim.nb_align);
    print_offloads(out, "rx offloads", info.rx_offload_capa, true);
    print_offloads(out, "tx offloads", info.tx_offload_capa, false);
    uint16_t mtu = 0;
    if (rte_eth_dev_get_mtu(pid, &mtu) == 0)
        fprintf(out, "  %-14s %u (range %u..%u)\n", "mtu", mtu, info.min_mtu, info.max_mtu);
    else
        fprintf(out, "  %-14s range %u..%u\n", "mtu", info.min_mtu, info.max_mtu);
    fprintf(out, "  %-14s %u\n", "max rx pktlen", info.max_rx_pktlen);
}

int mg_dpdk_print_ports(FILE *out) {
    int count = 0;
    uint16_t pid;
    fprintf(out, "%s: %u port%s\n", rte_version(), rte_eth_dev_count_avail(),
            rte_eth_dev_count_avail() == 1 ? "" : "s");
    RTE_ETH_FOREACH_DEV(pid) {
        print_port(out, pid);
        count++;
    }
    if (count == 0)
        fprintf(out, "no ports: bind a NIC to vfio-pci (dpdk-devbind.py) or add --vdev=... to the EAL arguments\n");
    return count;
}
