/* sim/world.c — one simulated run (see world.h): building the hosts and the link,
 * the scheduler that runs processes as coroutines in virtual time, the checks that
 * decide pass or fail, and the trace and captures a run leaves behind.
 *
 * The scheduler works in rounds. Each round polls every host's stack (frames due now
 * are delivered, timers due now fire), then resumes every process that has not
 * finished; a process runs until it blocks in demi_wait (the core's block hook lands
 * in world_block) or exits. When a round changed nothing, or nothing is due before
 * another one, the clock jumps to the earliest future event. One run is active at a time: the core's hooks and the
 * program runner (sim/program.h, behind the programs' renamed exit, clock_gettime and
 * sleeps) carry it as their context. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sim/world.h"

#include <arpa/inet.h>
#include <demi/types.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/runtime.h"
#include "core/sim_hooks.h"
#include "drivers/pcapng.h"
#include "inet/inet.h"
#include "inet/tcp.h"
#include "libos/inet/proto.h"
#include "sim/coro.h"
#include "sim/link.h"
#include "sim/program.h"

#define START_NS MG_NS_PER_S
#define DEFAULT_DURATION_NS (600ull * MG_NS_PER_S)
#define DEFAULT_HANG_NS (120ull * MG_NS_PER_S)
#define INVARIANT_EVERY_ROUNDS 32 /* rounds in which something happened (see nothing_due) */
#define PROC_STACK (1u << 20)

struct host {
    struct mg_rt *rt;
    struct mg_netdev *dev;
};

/* The topology's links: host i is joined to the switch by link i. Its capture holds
 * every frame that crossed it, both ways: what host i sent toward the switch, and
 * what the switch delivered to host i. */
struct link_capture {
    struct mg_pcapng pcap;
    bool open;
};

struct proc {
    unsigned index;
    const struct mg_sim_proc_spec *spec;
    const struct mg_sim_program *program;
    struct mg_coro *coro;
    struct host *host;
    bool inited, finished;
    int status;
    uint64_t deadline_ns;      /* of the wait it is blocked in */
    bool repeat;               /* blocked again in the same wait: it learned nothing new */
    bool blocked;              /* in demi_wait (not sleeping) */
    uint64_t seen_completions; /* its host's completion count when it blocked */
    char *argv[MG_SIM_MAX_ARGS + 1];
    char seed_args[MG_SIM_MAX_ARGS][64]; /* arguments with "{seed}" replaced */
};

struct partition_action {
    uint64_t at_ns;
    unsigned a, b;
    bool cut;
};

struct world {
    const struct mg_sim_scenario *sc;
    uint64_t seed;
    struct mg_clock clock;
    struct mg_sim_link *link;
    struct host hosts[MG_SIM_MAX_HOSTS];
    struct link_capture links[MG_SIM_MAX_HOSTS]; /* link i: host i <-> the switch */
    struct proc procs[MG_SIM_MAX_PROCS];
    struct proc *running;
    struct partition_action actions[2 * MG_SIM_MAX_PARTITIONS];
    unsigned nactions, next_action;
    FILE *trace;
    bool trace_owned;
    struct mg_sim_result *result;
    bool failed;
    uint64_t last_progress_ns;
};

/* ---- small helpers ---- */

/* SplitMix64 finaliser: independent-looking seeds for each random source of a run. */
static uint64_t derive_seed(uint64_t seed, uint64_t salt) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (salt + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t now_ns(struct world *w) {
    return mg_clock_now(&w->clock);
}

static void trace(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct world *w, const char *fmt, ...) {
    if (!w->trace)
        return;
    uint64_t t = now_ns(w) - START_NS;
    fprintf(w->trace, "%llu.%09llu ", (unsigned long long)(t / MG_NS_PER_S), (unsigned long long)(t % MG_NS_PER_S));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w->trace, fmt, ap);
    va_end(ap);
    fputc('\n', w->trace);
}

static void fail(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct world *w, const char *fmt, ...) {
    if (w->failed)
        return; /* the first failure is the one that matters */
    w->failed = true;
    w->result->outcome = MG_SIM_FAILED;
    uint64_t t = now_ns(w) - START_NS;
    int n = snprintf(w->result->why, sizeof(w->result->why), "t=%llu.%09llus: ", (unsigned long long)(t / MG_NS_PER_S),
                     (unsigned long long)(t % MG_NS_PER_S));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->result->why + n, sizeof(w->result->why) - (size_t)n, fmt, ap);
    va_end(ap);
    trace(w, "FAIL %s", w->result->why + n);
}

static void describe_proc(const struct proc *p, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "host %u:", p->spec->host);
    for (int i = 0; i < p->spec->argc && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, " %s", p->argv[i]);
}

/* ---- the link's tap: trace and captures ---- */

static const char *tap_name(enum mg_sim_tap_event ev) {
    switch (ev) {
    case MG_SIM_TAP_SENT:
        return "sent";
    case MG_SIM_TAP_LOST:
        return "lost";
    case MG_SIM_TAP_DELIVERED:
        return "delivered";
    case MG_SIM_TAP_NO_BUFFER:
        return "no-buffer";
    case MG_SIM_TAP_CORRUPTED:
        return "corrupted";
    case MG_SIM_TAP_DUPLICATED:
        return "duplicated";
    case MG_SIM_TAP_TRANSMITTED:
        return "transmitted";
    }
    return "?";
}

static void on_frame(void *ctx, enum mg_sim_tap_event ev, uint64_t time_ns, unsigned from, unsigned to,
                     const uint8_t *frame, size_t len) {
    struct world *w = ctx;
    if (w->sc->trace_frames && w->trace) {
        uint64_t t = time_ns - START_NS;
        fprintf(w->trace, "%llu.%09llu frame %s %u->%u len %zu\n", (unsigned long long)(t / MG_NS_PER_S),
                (unsigned long long)(t % MG_NS_PER_S), tap_name(ev), from, to, len);
    }
    /* A frame crosses the sender's link when it leaves the host (outbound, as the host
     * sees it) and the receiver's link when the switch delivers it (inbound). A frame
     * the fault model loses between two hosts is on the first link only. */
    if (ev == MG_SIM_TAP_TRANSMITTED && w->links[from].open)
        mg_pcapng_write_frame(&w->links[from].pcap, time_ns, frame, len, MG_PCAPNG_DIR_OUT);
    if (ev == MG_SIM_TAP_DELIVERED && w->links[to].open)
        mg_pcapng_write_frame(&w->links[to].pcap, time_ns, frame, len, MG_PCAPNG_DIR_IN);
}

/* ---- hosts ---- */

static uint32_t host_addr(unsigned i) {
    return 0x0a000000u | (i + 1);
}

/* <prefix>-link-host<i>-switch.pcapng; the interface inside is named after the link. */
static int open_link_capture(struct world *w, unsigned i) {
    if (!w->sc->pcap_prefix)
        return 0;
    char path[4096], link_name[32];
    snprintf(link_name, sizeof(link_name), "host%u-switch", i);
    snprintf(path, sizeof(path), "%s-link-%s.pcapng", w->sc->pcap_prefix, link_name);
    int rc = mg_pcapng_open(&w->links[i].pcap, path, link_name, 65535);
    if (rc < 0)
        return rc;
    w->links[i].open = true;
    return 0;
}

int mg_sim_stack_config_apply(const struct mg_sim_scenario *sc, struct mg_config *cfg, char *err, size_t errlen) {
    for (unsigned i = 0; i < sc->nstack_config; i++) {
        const struct mg_sim_stack_config *p = &sc->stack_config[i];
        int rc = mg_config_load_named(cfg, p->source, p->yaml, p->len, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_host(struct world *w, unsigned i) {
    struct host *h = &w->hosts[i];
    struct mg_sim_endpoint_params ep = {.mac = {0x02, 0, 0, 0, (uint8_t)((i + 1) >> 8), (uint8_t)(i + 1)}};
    int rc = mg_sim_link_add_endpoint(w->link, &ep, &h->dev);
    if (rc < 0)
        return rc;
    struct mg_config cfg;
    char why[256];
    /* Checked when the scenario was read; a failure here is a scenario changed since. */
    mg_config_defaults(&cfg);
    rc = mg_sim_stack_config_apply(w->sc, &cfg, why, sizeof(why));
    if (rc < 0) {
        mg_config_free(&cfg);
        mg_netdev_destroy(h->dev);
        h->dev = NULL;
        return rc;
    }
    strcpy(cfg.libos, "inet");
    strcpy(cfg.netdev, "sim");
    cfg.seed = derive_seed(w->seed, 100 + i);
    cfg.seed_set = true;
    cfg.local_ipv4_addr = host_addr(i);
    cfg.ipv4_netmask = 0xffffff00u;
    struct mg_inet_libos_args args = {.dev = h->dev, .owns_dev = true};
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .clock = &w->clock, .libos_arg = &args};
    rc = mg_rt_create(&rp, &h->rt);
    mg_config_free(&cfg);
    if (rc < 0) {
        mg_netdev_destroy(h->dev);
        h->dev = NULL;
        return rc;
    }
    return open_link_capture(w, i);
}

static struct mg_inet *host_inet(struct host *h) {
    struct mg_inet_libos *lib = mg_rt_libos_state(h->rt);
    return lib->inet;
}

static int poll_hosts(struct world *w) {
    int events = 0;
    for (unsigned i = 0; i < w->sc->nhosts; i++) {
        mg_rt_set_current(w->hosts[i].rt);
        int n = mg_libos_inet_ops.poll(mg_rt_libos_state(w->hosts[i].rt), 0);
        if (n > 0)
            events += n;
    }
    mg_rt_set_current(NULL);
    return events;
}

static void check_invariants(struct world *w) {
    for (unsigned i = 0; i < w->sc->nhosts && !w->failed; i++) {
        struct mg_inet *inet = host_inet(&w->hosts[i]);
        char why[256] = "";
        if (inet->tcp && mg_tcp_check_invariants(inet->tcp, why, sizeof(why)) != 0)
            fail(w, "host %u: TCP invariant violated: %s", i, why);
    }
}

/* ---- the link and its faults ---- */

static void set_partition(struct world *w, unsigned a, unsigned b, bool cut) {
    for (unsigned j = 0; j < w->sc->nhosts; j++) {
        if (j == a || (b != MG_SIM_ALL_HOSTS && j != b))
            continue;
        mg_sim_link_set_partition(w->link, a, j, cut);
        mg_sim_link_set_partition(w->link, j, a, cut);
    }
    if (b == MG_SIM_ALL_HOSTS)
        trace(w, "partition %s host %u from all", cut ? "cut" : "healed", a);
    else
        trace(w, "partition %s host %u <-> host %u", cut ? "cut" : "healed", a, b);
}

static int cmp_action(const void *x, const void *y) {
    const struct partition_action *a = x, *b = y;
    if (a->at_ns != b->at_ns)
        return a->at_ns < b->at_ns ? -1 : 1;
    return (a < b) ? -1 : (a > b); /* stable enough: inputs are in scenario order */
}

static void plan_partitions(struct world *w) {
    for (unsigned i = 0; i < w->sc->npartitions; i++) {
        const struct mg_sim_partition *p = &w->sc->partitions[i];
        w->actions[w->nactions++] = (struct partition_action){START_NS + p->at_ns, p->a, p->b, true};
        if (p->heal_ns)
            w->actions[w->nactions++] = (struct partition_action){START_NS + p->heal_ns, p->a, p->b, false};
    }
    qsort(w->actions, w->nactions, sizeof(w->actions[0]), cmp_action);
}

static void apply_partitions(struct world *w) {
    while (w->next_action < w->nactions && w->actions[w->next_action].at_ns <= now_ns(w)) {
        const struct partition_action *a = &w->actions[w->next_action++];
        set_partition(w, a->a, a->b, a->cut);
    }
}

/* Whether anything reads on_frame's output (each of its consumers is named here). A
 * run without frame tracing or captures leaves the link without a tap: the cost of
 * observing nothing is then nothing, not a call per frame event. */
static bool frames_watched(const struct world *w) {
    return (w->sc->trace_frames && w->trace) || w->sc->pcap_prefix;
}

static int build_link(struct world *w) {
    struct mg_sim_link_params lp = {
        .clock = &w->clock,
        .seed = derive_seed(w->seed, 1),
        .latency_ns = w->sc->fault.delay_ns,
        .learn_macs = true,
        .tap = frames_watched(w) ? on_frame : NULL,
        .tap_ctx = w,
    };
    int rc = mg_sim_link_create(&lp, &w->link);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < w->sc->nhosts && rc >= 0; i++)
        rc = add_host(w, i);
    for (unsigned a = 0; a < w->sc->nhosts && rc >= 0; a++)
        for (unsigned b = 0; b < w->sc->nhosts && rc >= 0; b++)
            if (a != b)
                rc = mg_sim_link_set_fault(w->link, a, b, &w->sc->fault, derive_seed(w->seed, 1000 + a * 64 + b));
    return rc < 0 ? rc : 0;
}

/* ---- processes ---- */

static void proc_main(void *arg) {
    struct proc *p = arg;
    int status = p->program->main(p->spec->argc, p->argv);
    p->status = status;
}

static int start_procs(struct world *w) {
    for (unsigned i = 0; i < w->sc->nprocs; i++) {
        struct proc *p = &w->procs[i];
        p->index = i;
        p->spec = &w->sc->procs[i];
        if (p->spec->host >= w->sc->nhosts || p->spec->argc < 1)
            return -EINVAL;
        p->program = mg_sim_program_find(w->sc->programs, p->spec->argv[0]);
        if (!p->program)
            return -ENOENT;
        p->host = &w->hosts[p->spec->host];
        for (int a = 0; a < p->spec->argc; a++) {
            p->argv[a] = p->spec->argv[a]; /* a program may permute its argv; the spec stays */
            const char *mark = strstr(p->argv[a], "{seed}");
            if (mark) {
                char *s = p->seed_args[a];
                snprintf(s, sizeof(p->seed_args[a]), "%.*s%llu%s", (int)(mark - p->argv[a]), p->argv[a],
                         (unsigned long long)w->seed, mark + 6);
                p->argv[a] = s;
            }
        }
        p->coro = mg_coro_create(proc_main, p, PROC_STACK);
        if (!p->coro)
            return -ENOMEM;
    }
    return 0;
}

static bool required_done(struct world *w) {
    bool any = false;
    for (unsigned i = 0; i < w->sc->nprocs; i++) {
        if (w->procs[i].spec->daemon)
            continue;
        any = true;
        if (!w->procs[i].finished)
            return false;
    }
    return any;
}

/* Resumes one process; true when it made progress (started a new wait, or exited). */
static bool run_proc(struct world *w, struct proc *p) {
    uint64_t now = now_ns(w);
    w->running = p;
    mg_rt_set_current(p->inited ? p->host->rt : NULL);
    bool alive = mg_coro_resume(p->coro);
    mg_rt_set_current(NULL);
    w->running = NULL;
    if (!alive) {
        p->finished = true;
        char desc[512];
        describe_proc(p, desc, sizeof(desc));
        trace(w, "process %u exited with status %d (%s)", p->index, p->status, desc);
        if (p->status != 0)
            fail(w, "process %u (%s) exited with status %d", p->index, desc, p->status);
        return true;
    }
    return !p->repeat && p->deadline_ns > now;
}

/* ---- the core's hooks ---- */

static int hook_init(void *ctx, const struct demi_args *args, struct mg_rt **rt_out) {
    struct world *w = ctx;
    (void)args;
    struct proc *p = w->running;
    if (!p)
        return EPERM;
    if (p->inited)
        return EEXIST;
    p->inited = true;
    *rt_out = p->host->rt;
    trace(w, "process %u called demi_init on host %u", p->index, p->spec->host);
    return 0;
}

static int hook_shutdown(void *ctx, struct mg_rt *rt) {
    struct world *w = ctx;
    (void)rt;
    if (w->running)
        w->running->inited = false;
    return 0;
}

static void block_until(struct world *w, uint64_t deadline_ns, bool repeat, bool in_wait) {
    struct proc *p = w->running;
    p->deadline_ns = deadline_ns;
    p->repeat = repeat;
    p->blocked = in_wait && p->inited;
    if (p->blocked)
        p->seen_completions = mg_rt_completion_count(p->host->rt);
    mg_coro_yield();
    w->running = p;
    mg_rt_set_current(p->inited ? p->host->rt : NULL);
}

static void hook_block(void *ctx, struct mg_rt *rt, uint64_t deadline_ns, bool repeat) {
    struct world *w = ctx;
    (void)rt;
    if (w->running)
        block_until(w, deadline_ns, repeat, true);
}

/* ---- the scheduler ---- */

/* A process blocked in demi_wait can only go on when one of its host's operations
 * completed since it blocked, or when its timeout is due; anything else would resume
 * it just to block again. */
static bool may_continue(struct world *w, const struct proc *p) {
    if (p->finished)
        return false;
    struct mg_sim_program_wait wt = {.deadline_ns = p->deadline_ns,
                                     .repeat = p->repeat,
                                     .blocked = p->blocked,
                                     .seen_completions = p->seen_completions};
    return mg_sim_program_may_continue(&wt, now_ns(w), mg_rt_completion_count(p->host->rt));
}

static uint64_t next_event(struct world *w) {
    uint64_t t = mg_sim_link_next_delivery(w->link);
    for (unsigned i = 0; i < w->sc->nhosts; i++) {
        uint64_t h = mg_inet_next_wakeup(host_inet(&w->hosts[i]));
        if (h < t)
            t = h;
    }
    for (unsigned i = 0; i < w->sc->nprocs; i++)
        if (!w->procs[i].finished && w->procs[i].deadline_ns < t)
            t = w->procs[i].deadline_ns;
    if (w->next_action < w->nactions && w->actions[w->next_action].at_ns < t)
        t = w->actions[w->next_action].at_ns;
    return t;
}

/* For a hang's message: what each host's TCP still holds and how many connections it
 * gave up on, so a connection one side abandoned (the other waits on, forever, as TCP
 * without keepalive does) is told apart from one that stalled. */
static void describe_tcp(struct world *w, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "; TCP connections held (timed out) per host:");
    for (unsigned i = 0; i < w->sc->nhosts && used < len; i++) {
        const struct mg_tcp_layer *tcp = host_inet(&w->hosts[i])->tcp;
        unsigned held = tcp ? mg_tcp_connection_count(tcp) : 0;
        unsigned long long timed_out = tcp ? (unsigned long long)mg_tcp_stats(tcp)->conns_timed_out : 0;
        used += (size_t)snprintf(buf + used, len - used, " %u (%llu)", held, timed_out);
    }
}

/* Nothing happened this round: move the clock. False when the run must stop. */
static bool advance(struct world *w) {
    uint64_t now = now_ns(w);
    uint64_t duration = w->sc->duration_ns ? w->sc->duration_ns : DEFAULT_DURATION_NS;
    uint64_t hang = w->sc->hang_ns ? w->sc->hang_ns : DEFAULT_HANG_NS;
    uint64_t next = next_event(w);
    if (next == UINT64_MAX && !required_done(w)) {
        char tcp[160];
        describe_tcp(w, tcp, sizeof(tcp));
        fail(w, "hang: every process is blocked forever and nothing is left to happen%s", tcp);
        return false;
    }
    if (next <= now)
        next = now + 1; /* something claims to be due yet did nothing: keep time moving */
    if (next > w->last_progress_ns + hang) {
        mg_clock_set(&w->clock, w->last_progress_ns + hang);
        char tcp[160];
        describe_tcp(w, tcp, sizeof(tcp));
        fail(w, "hang: no process made progress for %llu s of simulated time%s",
             (unsigned long long)(hang / MG_NS_PER_S), tcp);
        return false;
    }
    if (next > START_NS + duration) {
        mg_clock_set(&w->clock, START_NS + duration);
        fail(w, "the processes did not finish within %llu s of simulated time",
             (unsigned long long)(duration / MG_NS_PER_S));
        return false;
    }
    mg_clock_set(&w->clock, next);
    return true;
}

/* True when another round now would change nothing: no partition due, and on every
 * host no frame due, no timer due and no frame waiting for the device (a host's poll
 * is exactly those three), and no process that may go on. Then the clock can move at
 * once: the round skipped is the one that would only have found nothing to do. */
static bool nothing_due(struct world *w) {
    uint64_t now = now_ns(w);
    if (w->next_action < w->nactions && w->actions[w->next_action].at_ns <= now)
        return false;
    for (unsigned i = 0; i < w->sc->nhosts; i++) {
        struct mg_inet *inet = host_inet(&w->hosts[i]);
        if (inet->txq_len > 0 || mg_inet_next_wakeup(inet) <= now)
            return false;
    }
    for (unsigned i = 0; i < w->sc->nprocs; i++)
        if (may_continue(w, &w->procs[i]))
            return false;
    return true;
}

static void schedule(struct world *w) {
    w->last_progress_ns = now_ns(w);
    for (;;) {
        apply_partitions(w);
        bool busy = poll_hosts(w) > 0;
        bool progress = false;
        for (unsigned i = 0; i < w->sc->nprocs && !w->failed; i++)
            if (may_continue(w, &w->procs[i]) && run_proc(w, &w->procs[i]))
                progress = true;
        w->result->rounds++;
        if (w->result->rounds % INVARIANT_EVERY_ROUNDS == 0)
            check_invariants(w);
        if (w->failed || required_done(w))
            return;
        if (progress)
            w->last_progress_ns = now_ns(w);
        if ((progress || busy) && !nothing_due(w))
            continue;
        if (!advance(w))
            return;
    }
}

/* ---- setup and teardown ---- */

static void teardown(struct world *w) {
    mg_rt_set_sim_hooks(NULL);
    mg_rt_set_current(NULL);
    for (unsigned i = 0; i < w->sc->nprocs; i++)
        mg_coro_destroy(w->procs[i].coro); /* daemons still running are abandoned */
    for (unsigned i = 0; i < w->sc->nhosts; i++) {
        if (w->hosts[i].rt)
            mg_rt_destroy(w->hosts[i].rt);
        if (w->links[i].open)
            mg_pcapng_close(&w->links[i].pcap);
    }
    if (w->link) {
        for (unsigned i = 0; i < w->sc->nhosts; i++) {
            const struct mg_sim_endpoint_stats *st = mg_sim_link_endpoint_stats(w->link, i);
            if (!st)
                continue;
            w->result->frames += st->sent;
            if (st->leaked_bufs && !w->failed)
                fail(w, "host %u: %llu packet buffers still in use after its stack was destroyed", i,
                     (unsigned long long)st->leaked_bufs);
        }
        mg_sim_link_destroy(w->link);
    }
    if (w->trace && w->trace_owned)
        fclose(w->trace);
    else if (w->trace)
        fflush(w->trace);
}

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(struct world *w) {
    const struct mg_sim_scenario *sc = w->sc;
    if (sc->nhosts == 0 || sc->nhosts > MG_SIM_MAX_HOSTS || sc->nprocs > MG_SIM_MAX_PROCS ||
        sc->npartitions > MG_SIM_MAX_PARTITIONS || mg_fault_params_check(&sc->fault) != 0)
        return -EINVAL;
    for (unsigned i = 0; i < sc->npartitions; i++)
        if (sc->partitions[i].a >= sc->nhosts ||
            (sc->partitions[i].b != MG_SIM_ALL_HOSTS && sc->partitions[i].b >= sc->nhosts))
            return -EINVAL;
    if (sc->trace_path) {
        w->trace_owned = strcmp(sc->trace_path, "-") != 0;
        w->trace = w->trace_owned ? fopen(sc->trace_path, "w") : stdout;
        if (!w->trace)
            return -errno;
    }
    mg_clock_init_manual(&w->clock, START_NS);
    int rc = build_link(w);
    if (rc < 0)
        return rc;
    plan_partitions(w);
    return start_procs(w);
}

/* ---- the program runner (sim/program.h) ---- */

static uint64_t runner_now(void *ctx) {
    return now_ns(ctx);
}

static bool runner_in_program(void *ctx) {
    return ((struct world *)ctx)->running != NULL;
}

static void runner_exiting(void *ctx, int status) {
    ((struct world *)ctx)->running->status = status;
}

static void runner_sleep(void *ctx, uint64_t deadline_ns, bool repeat) {
    block_until(ctx, deadline_ns, repeat, false);
}

void mg_sim_run(const struct mg_sim_scenario *sc, uint64_t seed, struct mg_sim_result *out) {
    memset(out, 0, sizeof(*out));
    double wall0 = wall_now();
    struct world *w = calloc(1, sizeof(*w));
    if (!w) {
        out->outcome = MG_SIM_SETUP_ERROR;
        snprintf(out->why, sizeof(out->why), "out of memory");
        return;
    }
    w->sc = sc;
    w->seed = seed;
    w->result = out;
    int rc = setup(w);
    if (rc < 0) {
        out->outcome = MG_SIM_SETUP_ERROR;
        snprintf(out->why, sizeof(out->why), "cannot set up the scenario: %s", strerror(-rc));
    } else {
        trace(w, "run seed %llu hosts %u processes %u", (unsigned long long)seed, sc->nhosts, sc->nprocs);
        struct mg_rt_sim_hooks hooks = {.ctx = w, .init = hook_init, .shutdown = hook_shutdown, .block = hook_block};
        mg_rt_set_sim_hooks(&hooks);
        struct mg_sim_program_host runner = {.ctx = w,
                                             .now_ns = runner_now,
                                             .in_program = runner_in_program,
                                             .exiting = runner_exiting,
                                             .sleep = runner_sleep};
        mg_sim_program_host_set(&runner);
        schedule(w);
        if (!w->failed)
            check_invariants(w);
        if (!w->failed)
            trace(w, "passed");
        mg_sim_program_host_set(NULL);
    }
    out->sim_ns = now_ns(w) - START_NS;
    teardown(w);
    free(w);
    out->wall_s = wall_now() - wall0;
}

const struct mg_sim_program *mg_sim_program_find(const struct mg_sim_program *table, const char *name) {
    const char *slash = strrchr(name, '/');
    if (slash)
        name = slash + 1;
    for (; table && table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}
