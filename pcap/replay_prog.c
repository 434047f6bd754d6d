/* pcap/replay_prog.c — runs a user's PDPIX program on the replayed stack (see
 * replay_prog.h) with the simulator's program machinery. */
#include "config.h"

#include "pcap/replay_prog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/runtime.h"
#include "core/sim_hooks.h"
#include "sim/coro.h"
#include "sim/program.h"

#define PROG_STACK (1u << 20)
#define PROG_MAX_ARGS 64

struct mg_replay_prog {
    const struct mg_replay_program *pg;
    struct mg_rt *rt;
    struct mg_clock *clock;
    struct mg_coro *coro;
    bool running, inited, ended;
    int status;
    struct mg_sim_program_wait wait;
    int argc;
    char *argv[PROG_MAX_ARGS + 1];
    char *owned[PROG_MAX_ARGS]; /* arguments rewritten ("{ip}") */
};

static uint64_t now(const struct mg_replay_prog *p) {
    return mg_clock_now(p->clock);
}

static void prog_main(void *arg) {
    struct mg_replay_prog *p = arg;
    p->status = p->pg->main(p->argc, p->argv);
}

/* Gives control back to the replay until it resumes the program. */
static void block_until(struct mg_replay_prog *p, uint64_t deadline_ns, bool repeat, bool in_wait) {
    p->wait.deadline_ns = deadline_ns;
    p->wait.repeat = repeat;
    p->wait.blocked = in_wait && p->inited;
    if (p->wait.blocked)
        p->wait.seen_completions = mg_rt_completion_count(p->rt);
    p->running = false;
    mg_coro_yield();
    p->running = true;
    mg_rt_set_current(p->inited ? p->rt : NULL);
}

/* ---- the core's hooks ---- */

static int hook_init(void *ctx, const struct demi_args *args, struct mg_rt **rt_out) {
    struct mg_replay_prog *p = ctx;
    (void)args;
    if (!p->running)
        return EPERM;
    if (p->inited)
        return EEXIST;
    p->inited = true;
    *rt_out = p->rt;
    return 0;
}

static int hook_shutdown(void *ctx, struct mg_rt *rt) {
    struct mg_replay_prog *p = ctx;
    (void)rt;
    p->inited = false; /* the replay keeps its runtime */
    return 0;
}

static void hook_block(void *ctx, struct mg_rt *rt, uint64_t deadline_ns, bool repeat) {
    struct mg_replay_prog *p = ctx;
    (void)rt;
    if (p->running)
        block_until(p, deadline_ns, repeat, true);
}

/* ---- the program runner (sim/program.h) ---- */

static uint64_t runner_now(void *ctx) {
    return now(ctx);
}

static bool runner_in_program(void *ctx) {
    return ((struct mg_replay_prog *)ctx)->running;
}

static void runner_exiting(void *ctx, int status) {
    ((struct mg_replay_prog *)ctx)->status = status;
}

static void runner_sleep(void *ctx, uint64_t deadline_ns, bool repeat) {
    block_until(ctx, deadline_ns, repeat, false);
}

/* ---- the replay's side ---- */

static int set_args(struct mg_replay_prog *p, uint32_t ip) {
    if (p->pg->argc < 0 || p->pg->argc + 1 > PROG_MAX_ARGS)
        return -E2BIG;
    char addr[16];
    snprintf(addr, sizeof(addr), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    p->argv[0] = (char *)p->pg->name;
    for (int i = 0; i < p->pg->argc; i++) {
        const char *a = p->pg->argv[i];
        const char *mark = strstr(a, "{ip}");
        if (!mark) {
            p->argv[i + 1] = (char *)a; /* a program may permute its argv; the caller's stays */
            continue;
        }
        size_t n = strlen(a) - 4 + strlen(addr) + 1;
        char *s = malloc(n);
        if (!s)
            return -ENOMEM;
        snprintf(s, n, "%.*s%s%s", (int)(mark - a), a, addr, mark + 4);
        p->owned[i] = s;
        p->argv[i + 1] = s;
    }
    p->argc = p->pg->argc + 1;
    p->argv[p->argc] = NULL;
    return 0;
}

int mg_replay_prog_start(const struct mg_replay_program *pg, uint32_t endpoint_ip, struct mg_rt *rt,
                         struct mg_clock *clock, struct mg_replay_prog **out) {
    *out = NULL;
    if (!pg || !pg->main || !pg->name)
        return -EINVAL;
    struct mg_replay_prog *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->pg = pg;
    p->rt = rt;
    p->clock = clock;
    p->wait.deadline_ns = UINT64_MAX;
    int rc = set_args(p, endpoint_ip);
    if (rc == 0) {
        p->coro = mg_coro_create(prog_main, p, PROG_STACK);
        if (!p->coro)
            rc = -ENOMEM;
    }
    if (rc < 0) {
        mg_replay_prog_stop(p);
        return rc;
    }
    struct mg_rt_sim_hooks hooks = {.ctx = p, .init = hook_init, .shutdown = hook_shutdown, .block = hook_block};
    mg_rt_set_sim_hooks(&hooks);
    struct mg_sim_program_host runner = {.ctx = p,
                                         .now_ns = runner_now,
                                         .in_program = runner_in_program,
                                         .exiting = runner_exiting,
                                         .sleep = runner_sleep};
    mg_sim_program_host_set(&runner);
    *out = p;
    return 0;
}

int mg_replay_prog_run(struct mg_replay_prog *p) {
    if (p->ended || !mg_sim_program_may_continue(&p->wait, now(p), mg_rt_completion_count(p->rt)))
        return 0;
    uint64_t t = now(p);
    struct mg_rt *outer = mg_rt_current();
    p->running = true;
    mg_rt_set_current(p->inited ? p->rt : NULL);
    bool alive = mg_coro_resume(p->coro);
    p->running = false;
    mg_rt_set_current(outer);
    if (!alive) {
        p->ended = true;
        fflush(NULL); /* the program's output before the replay's report */
        return 1;
    }
    return !p->wait.repeat && p->wait.deadline_ns > t;
}

uint64_t mg_replay_prog_deadline(const struct mg_replay_prog *p) {
    return p->ended ? UINT64_MAX : p->wait.deadline_ns;
}

bool mg_replay_prog_ended(const struct mg_replay_prog *p, int *status) {
    if (p->ended && status)
        *status = p->status;
    return p->ended;
}

void mg_replay_prog_stop(struct mg_replay_prog *p) {
    if (!p)
        return;
    if (p->coro) {
        mg_rt_set_sim_hooks(NULL);
        mg_sim_program_host_set(NULL);
        mg_coro_destroy(p->coro);
    }
    for (int i = 0; i < PROG_MAX_ARGS; i++)
        free(p->owned[i]);
    free(p);
}
