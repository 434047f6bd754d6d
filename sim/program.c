/* sim/program.c — running users' PDPIX programs in virtual time (see program.h): the
 * functions margay/sim_program.h points exit, clock_gettime and the sleeps at, the
 * shared-object loader behind `--load`, and the rule for resuming a blocked program.
 * Moved here from sim/world.c and src/tools/cmd_sim.c so that capture replay runs
 * programs with the same code as the simulator. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sim/program.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "sim/coro.h"

/* The program-facing entry points (declared for programs in margay/sim_program.h,
 * which is not included here because it renames exit and clock_gettime). */
__attribute__((noreturn)) void margay_sim_exit(int status);
int margay_sim_clock_gettime(int clock, struct timespec *ts);
unsigned int margay_sim_sleep(unsigned int seconds);
int margay_sim_usleep(unsigned int usec);
int margay_sim_nanosleep(const struct timespec *req, struct timespec *rem);

/* The runner: one at a time, process-wide, like the core's hooks it goes with. */
static struct mg_sim_program_host runner;
static bool have_runner;

void mg_sim_program_host_set(const struct mg_sim_program_host *host) {
    have_runner = host != NULL;
    if (host)
        runner = *host;
    else
        memset(&runner, 0, sizeof(runner));
}

static bool program_running(void) {
    return have_runner && runner.in_program(runner.ctx);
}

int mg_sim_program_load(const char *path, int (**main_out)(int argc, char **argv), char *name, size_t namelen,
                        char *err, size_t errlen) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load %s: %s", path, dlerror());
        return -EINVAL;
    }
    void *sym = dlsym(h, "margay_sim_main");
    if (!sym) {
        snprintf(err, errlen, "%s has no margay_sim_main: compile it with -DMARGAY_SIM_MAIN=margay_sim_main", path);
        return -EINVAL;
    }
    memcpy(main_out, &sym, sizeof(*main_out)); /* POSIX: a data pointer from dlsym is a function */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(name, namelen, "%s", base);
    char *dot = strstr(name, ".so");
    if (dot)
        *dot = '\0';
    return 0;
}

bool mg_sim_program_may_continue(const struct mg_sim_program_wait *w, uint64_t now_ns, uint64_t completions) {
    if (w->deadline_ns <= now_ns || (!w->repeat && !w->blocked))
        return true;
    if (w->blocked)
        return completions != w->seen_completions;
    return false; /* sleeping until its deadline */
}

/* ---- what programs call instead of exit, clock_gettime and sleep ---- */

__attribute__((noreturn)) void margay_sim_exit(int status) {
    if (!program_running() || !mg_coro_current())
        exit(status);
    fflush(NULL);
    runner.exiting(runner.ctx, status);
    mg_coro_exit();
}

int margay_sim_clock_gettime(int clock, struct timespec *ts) {
    if (!have_runner)
        return clock_gettime(clock, ts);
    uint64_t t = runner.now_ns(runner.ctx);
    ts->tv_sec = (time_t)(t / MG_NS_PER_S);
    ts->tv_nsec = (long)(t % MG_NS_PER_S);
    return 0;
}

static void sim_sleep_ns(uint64_t span) {
    uint64_t deadline = runner.now_ns(runner.ctx) + span;
    bool repeat = false;
    while (runner.now_ns(runner.ctx) < deadline) {
        runner.sleep(runner.ctx, deadline, repeat);
        repeat = true;
    }
}

int margay_sim_nanosleep(const struct timespec *req, struct timespec *rem) {
    if (!program_running())
        return nanosleep(req, rem);
    if (!req || req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= (long)MG_NS_PER_S) {
        errno = EINVAL;
        return -1;
    }
    sim_sleep_ns((uint64_t)req->tv_sec * MG_NS_PER_S + (uint64_t)req->tv_nsec);
    if (rem)
        rem->tv_sec = 0, rem->tv_nsec = 0;
    return 0;
}

unsigned int margay_sim_sleep(unsigned int seconds) {
    if (!program_running())
        return sleep(seconds);
    sim_sleep_ns((uint64_t)seconds * MG_NS_PER_S);
    return 0;
}

int margay_sim_usleep(unsigned int usec) {
    if (!program_running())
        return usleep(usec);
    sim_sleep_ns((uint64_t)usec * 1000u);
    return 0;
}
