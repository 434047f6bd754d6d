/* tests/harness/simhosts.c — N margay hosts on one simulated link, in simulated
 * time (see simhosts.h). Each host is a runtime built with the inet libOS over its
 * own link endpoint; time passes only when every host is idle, and then jumps
 * straight to the next thing that will happen, so long timeouts cost nothing. */
#include "tests/harness/simhosts.h"

#include <arpa/inet.h>
#include <demi/wait.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libos/inet/proto.h"

#define DEFAULT_LATENCY_NS (10 * MG_NS_PER_US)
#define START_NS MG_NS_PER_S

static void host_mac(unsigned i, uint8_t mac[6]) {
    const uint8_t m[6] = {0x02, 0, 0, 0, (uint8_t)((i + 1) >> 8), (uint8_t)(i + 1)};
    memcpy(mac, m, 6);
}

static uint32_t host_addr(unsigned i) {
    return 0x0a000000u | (i + 1);
}

static void host_config(const struct simhosts_params *p, unsigned i, struct mg_config *cfg) {
    mg_config_defaults(cfg);
    strcpy(cfg->libos, "inet");
    strcpy(cfg->netdev, "sim");
    cfg->seed = p->seed + i + 1;
    cfg->seed_set = true;
    cfg->local_ipv4_addr = host_addr(i);
    cfg->ipv4_netmask = 0xffffff00u;
    if (p->static_arp) {
        for (unsigned j = 0; j < p->n && cfg->arp_table_len < MG_CONFIG_MAX_ARP_ENTRIES; j++) {
            if (j == i)
                continue;
            struct mg_config_arp_entry *e = &cfg->arp_table[cfg->arp_table_len++];
            host_mac(j, e->mac);
            e->ipv4 = host_addr(j);
        }
    }
    if (p->configure)
        p->configure(i, cfg, p->configure_ctx);
}

static int add_host(struct simhosts *sh, const struct simhosts_params *p, unsigned i) {
    struct simhost *h = &sh->hosts[i];
    h->index = i;
    h->addr = host_addr(i);
    host_mac(i, h->mac);
    struct mg_sim_endpoint_params ep = {.caps = p->caps};
    memcpy(ep.mac, h->mac, 6);
    int rc = mg_sim_link_add_endpoint(sh->link, &ep, &h->dev);
    if (rc < 0)
        return rc;
    struct mg_config cfg;
    host_config(p, i, &cfg);
    struct mg_inet_libos_args args = {.dev = h->dev, .owns_dev = true};
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .clock = &sh->clock, .libos_arg = &args};
    rc = mg_rt_create(&rp, &h->rt);
    mg_config_free(&cfg);
    if (rc < 0) {
        mg_netdev_destroy(h->dev); /* the stack never took it */
        h->dev = NULL;
    }
    return rc;
}

int simhosts_create(const struct simhosts_params *p, struct simhosts **out) {
    if (!p || !out || p->n == 0 || p->n > SIMHOSTS_MAX)
        return -EINVAL;
    struct simhosts *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return -ENOMEM;
    mg_clock_init_manual(&sh->clock, START_NS);
    struct mg_sim_link_params lp = {
        .clock = &sh->clock,
        .seed = p->seed,
        .latency_ns = p->latency_ns ? p->latency_ns : DEFAULT_LATENCY_NS,
        .loss = p->loss,
        .learn_macs = true,
        .tap = p->tap,
        .tap_ctx = p->tap_ctx,
    };
    int rc = mg_sim_link_create(&lp, &sh->link);
    for (unsigned i = 0; rc == 0 && i < p->n; i++) {
        rc = add_host(sh, p, i);
        if (rc == 0)
            sh->n = i + 1;
    }
    if (rc < 0) {
        simhosts_destroy(sh);
        return rc;
    }
    *out = sh;
    return 0;
}

void simhosts_destroy(struct simhosts *sh) {
    if (!sh)
        return;
    struct mg_rt *current = mg_rt_current();
    for (unsigned i = 0; i < sh->n; i++) {
        if (current == sh->hosts[i].rt)
            current = NULL;
        mg_rt_destroy(sh->hosts[i].rt);
    }
    mg_rt_set_current(current);
    mg_sim_link_destroy(sh->link);
    free(sh);
}

void simhosts_use(struct simhosts *sh, unsigned i) {
    mg_rt_set_current(sh->hosts[i].rt);
}

struct mg_inet *simhosts_inet(struct simhosts *sh, unsigned i) {
    struct mg_inet_libos *lib = mg_rt_libos_state(sh->hosts[i].rt);
    return lib->inet;
}

struct sockaddr_in simhosts_sockaddr(const struct simhosts *sh, unsigned i, uint16_t port) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(sh->hosts[i].addr);
    sin.sin_port = htons(port);
    return sin;
}

int simhosts_poll_all(struct simhosts *sh) {
    struct mg_rt *current = mg_rt_current();
    int events = 0;
    for (unsigned i = 0; i < sh->n; i++) {
        mg_rt_set_current(sh->hosts[i].rt);
        int n = mg_libos_inet_ops.poll(mg_rt_libos_state(sh->hosts[i].rt), 0);
        if (n > 0)
            events += n;
    }
    mg_rt_set_current(current);
    return events;
}

static uint64_t next_event(struct simhosts *sh) {
    uint64_t t = mg_sim_link_next_delivery(sh->link);
    for (unsigned i = 0; i < sh->n; i++) {
        uint64_t w = mg_inet_next_wakeup(simhosts_inet(sh, i));
        if (w < t)
            t = w;
    }
    return t;
}

/* Every host is idle: jump to the next event, or to the deadline. False when the
 * deadline has already been reached. */
static bool advance(struct simhosts *sh, uint64_t deadline) {
    uint64_t now = simhosts_now(sh);
    if (now >= deadline)
        return false;
    uint64_t next = next_event(sh);
    if (next <= now)
        next = now + 1; /* something claims to be due yet did nothing: keep time moving */
    if (next > deadline)
        next = deadline;
    mg_clock_set(&sh->clock, next);
    return true;
}

static uint64_t deadline_after(struct simhosts *sh, uint64_t span) {
    uint64_t now = simhosts_now(sh);
    return span > UINT64_MAX - now ? UINT64_MAX : now + span;
}

int simhosts_run_until(struct simhosts *sh, simhosts_pred pred, void *ctx, uint64_t max_sim_ns) {
    uint64_t deadline = deadline_after(sh, max_sim_ns);
    for (;;) {
        if (pred && pred(ctx))
            return 0;
        if (simhosts_poll_all(sh) > 0)
            continue;
        if (!advance(sh, deadline))
            return pred && pred(ctx) ? 0 : -ETIMEDOUT;
    }
}

int simhosts_wait(struct simhosts *sh, unsigned i, demi_qtoken_t qt, demi_qresult_t *qr, uint64_t max_sim_ns) {
    uint64_t deadline = deadline_after(sh, max_sim_ns);
    const struct timespec zero = {0, 0};
    for (;;) {
        simhosts_use(sh, i);
        int rc = demi_wait(qr, qt, &zero);
        if (rc != ETIMEDOUT)
            return rc;
        if (simhosts_poll_all(sh) > 0)
            continue;
        if (!advance(sh, deadline)) {
            simhosts_use(sh, i);
            return demi_wait(qr, qt, &zero);
        }
    }
}
