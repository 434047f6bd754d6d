/* tools/cmd_sim.c — `margay sim`: runs PDPIX programs on simulated hosts under faults,
 * for one seed or a sweep of seeds, and prints for every failure the one command line
 * that replays exactly that run.
 *
 * Every seed runs in a child process (fork), a single --seed as much as each seed of a
 * sweep, so that a crash, an assertion or a sanitizer report is recorded as that seed's
 * failure with its replay line instead of taking `margay sim` down; the child sends its
 * result back through a pipe. A single seed shows the programs' output (and any
 * report) unless --quiet; a sweep hides it unless --verbose. A sweep of built-in
 * programs runs many seeds per child (see "workers" below); a failing seed is always
 * run again alone in a fresh child and reported from there, exactly as its replay line
 * runs it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef MARGAY_SANITIZERS
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

#include "sim/program.h"
#include "sim/programs/builtin.h"
#include "sim/scenario.h"
#include "sim/world.h"
#include "tools/commands.h"

#define MAX_LOADED 16

struct sim_cmd {
    struct mg_sim_options opts;
    /* The built-in programs, then those loaded with --load, then the NULL end. */
    struct mg_sim_program programs[MAX_LOADED + 16];
    char loaded_names[MAX_LOADED][64];
    unsigned nprograms, nloaded;
    uint64_t seed_first, seed_last;
    bool sweep;
    bool quiet, verbose;
    bool fork_each_seed; /* a sweep runs every seed in a fresh child, built-in programs too */
    const char *pcap_prefix, *trace_path;
    int argc;
    char **argv; /* for the replay line */
};

void mg_cmd_sim_usage(FILE *out) {
    fprintf(out,
            "usage: margay sim [OPTIONS] (--seed N | --seeds A..B)\n"
            "Runs PDPIX programs on simulated hosts (host i is 10.0.0.(i+1)) in virtual time.\n"
            "  --proc 'HOST:PROGRAM ARGS'    a process; the run ends when every --proc has exited\n"
            "  --daemon 'HOST:PROGRAM ARGS'  a process the run does not wait for (a server)\n"
            "  --hosts N                     number of hosts (default: as the processes need, at least 2)\n"
            "  --scenario FILE               options from a file, one `name value` per line\n"
            "every host's stack (the configuration file's keys, doc/man5/margay-config.5):\n"
            "  --stack KEY=VALUE             one key, e.g. --stack tcp.retries=30\n"
            "  --config FILE                 a margay configuration file (YAML); both apply in order\n"
            "faults, on every direction between two hosts (margay's one fault model):\n"
            "  --latency D --jitter D --loss P --burst ENTER,EXIT,LOSS --duplicate P --corrupt P\n"
            "  --reorder P[,DELAY] --rate BITS/S --queue BYTES --mtu N\n"
            "  --partition A-B@START[+LENGTH]  cut A from B (B = * for everyone), heal after LENGTH\n"
            "  --random-faults [--max-loss P]  per seed: random loss <= P (0.3), duplication,\n"
            "                                  corruption, reordering, jitter, a partition that heals\n"
            "checks and limits: --duration D (600s) --hang D (120s of no progress)\n"
            "output: --pcap PREFIX (one capture per link: PREFIX-seedN-link-hostI-switch.pcapng)\n"
            "        --trace FILE|- [--trace-frames]\n"
            "        --quiet (hide the programs' output; default in sweeps) --verbose\n"
            "        --fork-each-seed (a fresh child process for every seed of a sweep, not only\n"
            "        for --load programs)\n"
            "        --list-programs\n"
            "your own program: --load ./PROG.so (a PDPIX program compiled with\n"
            "  cc -shared -fPIC -include margay/sim_program.h -DMARGAY_SIM_MAIN=margay_sim_main PROG.c -o PROG.so)\n"
            "  then runs as --proc 'HOST:PROG ARGS' (see doc/sim.md)\n"
            "D is a duration: 10s, 250ms, 40us, 2m. Example:\n"
            "  margay sim --daemon '0:xfer --server 10.0.0.1 80 --conns 2' \\\n"
            "             --proc '1:xfer --client 10.0.0.1 80 --conns 2 --max 1048576' \\\n"
            "             --loss 0.1 --partition 0-1@1s+2s --seeds 1..100\n");
}

static int parse_seeds(struct sim_cmd *c, const char *v) {
    char *end;
    errno = 0;
    c->seed_first = strtoull(v, &end, 10);
    if (errno || end == v)
        return -EINVAL;
    if (*end == '\0') {
        c->seed_last = c->seed_first;
        return 0;
    }
    if (strncmp(end, "..", 2) != 0)
        return -EINVAL;
    const char *second = end + 2;
    c->seed_last = strtoull(second, &end, 10);
    if (errno || end == second || *end || c->seed_last < c->seed_first)
        return -EINVAL;
    c->sweep = true;
    return 0;
}

static void list_programs(const struct sim_cmd *c) {
    for (const struct mg_sim_program *p = c->programs; p->name; p++)
        printf("%-14s %s\n", p->name, p->summary);
}

static void add_builtins(struct sim_cmd *c) {
    for (const struct mg_sim_program *p = mg_sim_builtin_programs; p->name && c->nprograms < 16; p++)
        c->programs[c->nprograms++] = *p;
}

/* --load PATH: a shared object whose margay_sim_main is a program named after the
 * file (./dir/myprog.so runs as myprog). It stays loaded until the process ends. */
static int load_program(struct sim_cmd *c, const char *path, char *err, size_t errlen) {
    if (c->nloaded == MAX_LOADED || c->nprograms + 1 >= sizeof(c->programs) / sizeof(c->programs[0])) {
        snprintf(err, errlen, "too many programs loaded");
        return -EINVAL;
    }
    char *name = c->loaded_names[c->nloaded];
    struct mg_sim_program p = {.name = name, .summary = path};
    int rc = mg_sim_program_load(path, &p.main, name, sizeof(c->loaded_names[0]), err, errlen);
    if (rc < 0)
        return rc;
    c->nloaded++;
    c->programs[c->nprograms++] = p;
    return 0;
}

/* Returns 0 to run, 1 when done (help, list), 2 on a usage error. */
static int parse_args(struct sim_cmd *c, int argc, char **argv) {
    bool have_seed = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char err[512] = "";
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            mg_cmd_sim_usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--list-programs")) {
            list_programs(c);
            return 1;
        }
        if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose")) {
            c->quiet = a[2] == 'q';
            c->verbose = !c->quiet;
            continue;
        }
        if (!strcmp(a, "--fork-each-seed")) {
            c->fork_each_seed = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "margay sim: unexpected argument '%s' (see margay sim --help)\n", a);
            return 2;
        }
        const char *key = a + 2;
        int rc = 0;
        bool used = true;
        if (!strcmp(key, "seed") || !strcmp(key, "seeds")) {
            rc = v ? parse_seeds(c, v) : -EINVAL;
            if (rc)
                snprintf(err, sizeof(err), "--%s needs N or A..B", key);
            have_seed = true;
        } else if (!strcmp(key, "scenario")) {
            rc = v ? mg_sim_options_load_file(&c->opts, v, err, sizeof(err)) : -EINVAL;
        } else if (!strcmp(key, "load")) {
            rc = v ? load_program(c, v, err, sizeof(err)) : -EINVAL;
        } else if (!strcmp(key, "pcap")) {
            c->pcap_prefix = v;
        } else if (!strcmp(key, "trace")) {
            c->trace_path = v;
        } else {
            rc = mg_sim_option(&c->opts, key, v, &used, err, sizeof(err));
        }
        if (rc || (used && !v)) {
            fprintf(stderr, "margay sim: %s\n", err[0] ? err : "option needs a value");
            return 2;
        }
        if (used)
            i++;
    }
    char err[512] = "";
    if (!have_seed) {
        fprintf(stderr, "margay sim: say --seed N or --seeds A..B\n");
        return 2;
    }
    if (c->opts.sc.nprocs == 0) {
        fprintf(stderr, "margay sim: no processes (--proc 'HOST:PROGRAM ARGS'; --list-programs)\n");
        return 2;
    }
    if (!c->opts.hosts_set && c->opts.sc.nhosts < 2)
        c->opts.sc.nhosts = 2;
    if (mg_sim_options_finish(&c->opts, err, sizeof(err)) != 0) {
        fprintf(stderr, "margay sim: %s\n", err);
        return 2;
    }
    for (unsigned i = 0; i < c->opts.sc.nprocs; i++)
        if (!mg_sim_program_find(c->programs, c->opts.sc.procs[i].argv[0])) {
            fprintf(stderr, "margay sim: no program '%s' (margay sim --list-programs)\n", c->opts.sc.procs[i].argv[0]);
            return 2;
        }
    c->opts.sc.programs = c->programs;
    return 0;
}

/* The command line that reruns exactly one seed: ours, with the seed options replaced. */
static void print_replay(FILE *out, const struct sim_cmd *c, uint64_t seed) {
    fprintf(out, "  replay: margay sim");
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (!strcmp(a, "--seed") || !strcmp(a, "--seeds") || !strcmp(a, "--quiet")) {
            if (a[2] == 's')
                i++;
            continue;
        }
        if (strpbrk(a, " \t'\"*$&;|<>()") || !a[0]) {
            fputc(' ', out);
            fputc('\'', out);
            for (const char *p = a; *p; p++)
                fputs(*p == '\'' ? "'\\''" : (char[]){*p, 0}, out);
            fputc('\'', out);
        } else {
            fprintf(out, " %s", a);
        }
    }
    fprintf(out, " --seed %" PRIu64 "\n", seed);
}

static void fill_scenario(const struct sim_cmd *c, uint64_t seed, struct mg_sim_scenario *sc, char *pcap,
                          size_t pcap_len) {
    mg_sim_scenario_for_seed(&c->opts, seed, sc);
    sc->programs = c->programs;
    sc->trace_path = c->trace_path;
    if (c->pcap_prefix) {
        snprintf(pcap, pcap_len, "%s-seed%" PRIu64, c->pcap_prefix, seed);
        sc->pcap_prefix = pcap;
    }
}

/* ---- one seed in a child process ---- */

#ifdef MARGAY_SANITIZERS
#define SANITIZER_BUILD 1
#else
#define SANITIZER_BUILD 0
#endif

/* Where the child writes its result. Only the sanitizer's death callback needs it as
 * a global: it is called with no argument, from inside the failing run. */
static int result_fd = -1;

static void send_result(const struct mg_sim_result *r) {
    const char *p = (const char *)r;
    size_t left = sizeof(*r);
    while (left > 0) {
        ssize_t n = write(result_fd, p, left);
        if (n <= 0)
            return;
        p += n;
        left -= (size_t)n;
    }
}

#ifdef MARGAY_SANITIZERS
/* ASan and UBSan call this just before they end the process after a report: the
 * seed's verdict says so (the report itself went to the run's stderr). */
static void on_sanitizer_death(void) {
    struct mg_sim_result r;
    memset(&r, 0, sizeof(r));
    r.outcome = MG_SIM_FAILED;
    snprintf(r.why, sizeof(r.why),
             "sanitizer report (AddressSanitizer/UndefinedBehaviorSanitizer; it is on the "
             "run's stderr: replay the seed without --quiet to see it)");
    send_result(&r);
}
#endif

static __attribute__((noreturn)) void child_run(struct sim_cmd *c, uint64_t seed, int fd) {
    result_fd = fd;
#ifdef MARGAY_SANITIZERS
    __sanitizer_set_death_callback(on_sanitizer_death);
#endif
    if (c->quiet) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    }
    struct mg_sim_scenario sc;
    char pcap[4096];
    fill_scenario(c, seed, &sc, pcap, sizeof(pcap));
    struct mg_sim_result res;
    mg_sim_run(&sc, seed, &res);
#ifdef MARGAY_SANITIZERS
    /* _exit below skips LeakSanitizer's check at exit: run it now, on the run's memory. */
    if (__lsan_do_recoverable_leak_check() && res.outcome == MG_SIM_PASSED) {
        res.outcome = MG_SIM_FAILED;
        snprintf(res.why, sizeof(res.why),
                 "memory leaked (the LeakSanitizer report is on the run's stderr: replay "
                 "the seed without --quiet to see it)");
    }
#endif
    fflush(NULL);
    send_result(&res);
    /* _exit: the parent's atexit work (and its buffers) is not the child's to do. */
    _exit(0);
}

/* Short names of the signals a crashing run dies of ("SIGSEGV"). */
static void signal_name(int sig, char *buf, size_t len) {
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGSEGV, "SIGSEGV"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGSYS, "SIGSYS"},   {SIGKILL, "SIGKILL"},
        {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGHUP, "SIGHUP"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].sig == sig) {
            snprintf(buf, len, "%s", names[i].name);
            return;
        }
    snprintf(buf, len, "%d", sig);
}

/* The verdict on a child that ended without a result, or that ended badly after it
 * sent one (valgrind's --error-exitcode, a sanitizer's report at exit). */
static void judge_exit(int status, bool have_result, struct mg_sim_result *r) {
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (have_result && (clean || r->outcome != MG_SIM_PASSED))
        return;
    if (!have_result)
        memset(r, 0, sizeof(*r));
    r->outcome = MG_SIM_FAILED;
    if (WIFSIGNALED(status)) {
        char name[16];
        signal_name(WTERMSIG(status), name, sizeof(name));
        snprintf(r->why, sizeof(r->why), "crashed (signal %s)", name);
    } else if (have_result) {
        snprintf(r->why, sizeof(r->why),
                 "the run passed, then its process exited with status %d (a report of valgrind or a sanitizer at "
                 "exit: replay the seed to see it)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
        /* A sanitizer that reports, then ends the process, exits with 1; the death
         * callback above tells ASan's reports apart, but not those of a UBSan runtime
         * linked on its own (GCC links libubsan beside libasan). */
        snprintf(r->why, sizeof(r->why),
                 "%sthe run's process exited with status %d before finishing (replay the seed without --quiet "
                 "to see why)",
                 SANITIZER_BUILD ? "sanitizer report, or an exit outside a simulated process: "
                                 : "an exit outside a simulated process: ",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}

/* Runs one seed in a child: its result, or how it died. True when the run itself
 * finished and reported (its times and counts are then meaningful). */
static bool run_child(struct sim_cmd *c, uint64_t seed, struct mg_sim_result *r) {
    int fds[2];
    memset(r, 0, sizeof(*r));
    if (pipe(fds) != 0) {
        r->outcome = MG_SIM_SETUP_ERROR;
        snprintf(r->why, sizeof(r->why), "pipe: %s", strerror(errno));
        return false;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_run(c, seed, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        r->outcome = MG_SIM_SETUP_ERROR;
        snprintf(r->why, sizeof(r->why), "fork: %s", strerror(errno));
        return false;
    }
    size_t got = 0;
    while (got < sizeof(*r)) {
        ssize_t n = read(fds[0], (char *)r + got, sizeof(*r) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    bool have_result = got == sizeof(*r);
    judge_exit(status, have_result, r);
    return have_result && r->wall_s > 0; /* a sanitizer's death callback sends no times */
}

static int run_one(struct sim_cmd *c) {
    struct mg_sim_result r;
    uint64_t seed = c->seed_first;
    bool finished = run_child(c, seed, &r);
    if (!finished) {
        /* It died: there are no times or counts to show, only how. */
        fprintf(stderr, "margay sim: seed %" PRIu64 " FAILED: %s\n", seed, r.why);
        print_replay(stderr, c, seed);
        return 1;
    }
    double ratio = r.wall_s > 0 ? (double)r.sim_ns / 1e9 / r.wall_s : 0;
    fprintf(stderr,
            "margay sim: seed %" PRIu64 " %s: %.3f s simulated in %.3f s wall (%.1fx), %" PRIu64 " frames, %" PRIu64
            " rounds\n",
            seed, r.outcome == MG_SIM_PASSED ? "passed" : "FAILED", (double)r.sim_ns / 1e9, r.wall_s, ratio, r.frames,
            r.rounds);
    if (r.outcome != MG_SIM_PASSED) {
        fprintf(stderr, "  why: %s\n", r.why);
        print_replay(stderr, c, seed);
        return 1;
    }
    return 0;
}

/* ---- workers: many seeds per child ---- */

/* A fork costs milliseconds on some machines, and a fresh process pays a page fault
 * for every page it touches: together far more than the simulation of a short seed.
 * So a sweep of built-in programs runs its seeds in a worker, a child that runs one
 * seed after another, each in a world built from nothing, in memory the previous seeds
 * already faulted in. The built-in programs keep no state between runs; a program
 * loaded with --load might (globals), so those get a fresh child per seed. If a seed
 * fails in a worker, or the worker dies in it, the seed runs again alone in a fresh
 * child and that run is the one reported; should it pass there, the failure came from
 * state an earlier seed left behind, and is reported as such.
 *
 * The worker takes seeds in batches and writes each result into memory it shares with
 * the parent, then says "done" once per batch: two process switches per batch instead
 * of per seed. If it dies, the results it finished are there, and the count of them
 * says which seed it died in. */
#define BATCH_SEEDS 32
#define WORKER_SEEDS 4096 /* then a new worker, so whatever leaks cannot pile up */

struct batch_results {
    uint32_t started; /* seeds of the batch begun: the one in progress is started - 1 */
    uint32_t done;    /* results[0, done) are final (written before done moves) */
    struct mg_sim_result results[BATCH_SEEDS];
};

struct batch_request {
    uint64_t first;
    uint32_t count;
};

struct worker {
    pid_t pid;                    /* 0: none running */
    int fd;                       /* the parent's end of a socketpair */
    struct batch_results *shared; /* mapped before the first worker, shared with each */
    unsigned seeds_run;
};

static bool io_full(int fd, void *buf, size_t len, bool writing) {
    for (size_t done = 0; done < len;) {
        ssize_t n =
            writing ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL) : read(fd, (char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

static void silence_output(void) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    close(null);
}

static _Noreturn void worker_main(struct sim_cmd *c, int fd, struct batch_results *shared) {
    if (c->quiet)
        silence_output();
#ifdef M_MMAP_THRESHOLD
    /* Freed memory stays in the heap for the next seed (pools, stacks of buffers). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    struct batch_request req;
    while (io_full(fd, &req, sizeof(req), false) && req.count <= BATCH_SEEDS) {
        for (uint32_t i = 0; i < req.count; i++) {
            __atomic_store_n(&shared->started, i + 1, __ATOMIC_RELEASE);
            struct mg_sim_scenario sc;
            char pcap[4096];
            fill_scenario(c, req.first + i, &sc, pcap, sizeof(pcap));
            mg_sim_run(&sc, req.first + i, &shared->results[i]);
            fflush(NULL);
            __atomic_store_n(&shared->done, i + 1, __ATOMIC_RELEASE);
        }
        char ok = 1;
        if (!io_full(fd, &ok, 1, true))
            break;
    }
    _exit(0);
}

static void worker_stop(struct worker *w) {
    if (w->pid <= 0)
        return;
    close(w->fd); /* the worker reads end of input and exits */
    int status;
    waitpid(w->pid, &status, 0);
    w->pid = 0;
}

static bool worker_start(struct sim_cmd *c, struct worker *w) {
    if (!w->shared) {
        void *m = mmap(NULL, sizeof(*w->shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return false;
        w->shared = m;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        worker_main(c, sv[1], w->shared);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return false;
    }
    w->pid = pid;
    w->fd = sv[0];
    w->seeds_run = 0;
    return true;
}

static void worker_free(struct worker *w) {
    worker_stop(w);
    if (w->shared)
        munmap(w->shared, sizeof(*w->shared));
    w->shared = NULL;
}

/* Seeds first.. (at most count) in the worker, started if need be. Returns how many
 * leading results it filled in. When that is fewer than count, the worker is gone:
 * *died_in_seed says whether it died running the seed after those (else it died
 * between seeds, or could not start). */
static uint32_t worker_run(struct sim_cmd *c, struct worker *w, uint64_t first, uint32_t count,
                           struct mg_sim_result *out, bool *died_in_seed) {
    *died_in_seed = false;
    if (w->pid <= 0 && !worker_start(c, w))
        return 0;
    struct batch_request req = {.first = first, .count = count};
    __atomic_store_n(&w->shared->started, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&w->shared->done, 0, __ATOMIC_RELAXED);
    char ok;
    bool finished = io_full(w->fd, &req, sizeof(req), true) && io_full(w->fd, &ok, 1, false);
    uint32_t done = finished ? count : __atomic_load_n(&w->shared->done, __ATOMIC_ACQUIRE);
    if (done > count)
        done = count;
    *died_in_seed = !finished && __atomic_load_n(&w->shared->started, __ATOMIC_ACQUIRE) > done;
    memcpy(out, w->shared->results, done * sizeof(*out));
    w->seeds_run += done;
    if (!finished || w->seeds_run >= WORKER_SEEDS)
        worker_stop(w);
    return done;
}

/* True when every program of the scenario is built in (keeps no state between runs). */
static bool programs_reusable(const struct sim_cmd *c) {
    for (unsigned i = 0; i < c->opts.sc.nprocs; i++) {
        const struct mg_sim_program *p = mg_sim_program_find(c->programs, c->opts.sc.procs[i].argv[0]);
        if (!p || p >= c->programs + (c->nprograms - c->nloaded))
            return false;
    }
    return true;
}

/* A seed that went wrong in a worker, run again alone in a fresh child: that run is
 * the result. If it passes alone, the worker's failure (`there`, NULL: the worker
 * died) is still one: what differed was what earlier seeds left in the process. */
static void rerun_alone(struct sim_cmd *c, uint64_t seed, const char *there, struct mg_sim_result *r) {
    run_child(c, seed, r);
    if (r->outcome != MG_SIM_PASSED)
        return;
    r->outcome = MG_SIM_FAILED;
    if (there)
        snprintf(r->why, sizeof(r->why),
                 "failed after other seeds in the same process but passed alone, so an earlier seed left state "
                 "behind (a global in a program, or a simulator bug); there: %.300s",
                 there);
    else
        snprintf(r->why, sizeof(r->why),
                 "the process running it after other seeds died in it, but it passed alone: an earlier seed left "
                 "state behind (a global in a program, or a simulator bug), or the process was killed from outside");
}

/* Seeds first..first+count-1 of a sweep: in the worker when allowed; alone in a fresh
 * child otherwise, and whenever a seed failed in the worker or the worker died in it. */
static void run_seeds(struct sim_cmd *c, struct worker *w, bool reuse, uint64_t first, uint32_t count,
                      struct mg_sim_result *out) {
    unsigned starts = 0;
    for (uint32_t i = 0; i < count;) {
        bool died_in_seed = false;
        uint32_t got = 0;
        if (reuse && starts++ < 3) /* a worker that keeps dying between seeds: fresh children */
            got = worker_run(c, w, first + i, count - i, out + i, &died_in_seed);
        for (uint32_t k = i; k < i + got; k++)
            if (out[k].outcome != MG_SIM_PASSED) {
                char there[sizeof(out[k].why)];
                snprintf(there, sizeof(there), "%s", out[k].why);
                rerun_alone(c, first + k, there, &out[k]);
            }
        i += got;
        if (i == count)
            break;
        if (died_in_seed) {
            rerun_alone(c, first + i, NULL, &out[i]);
            i++;
        } else if (!reuse || starts >= 3) {
            run_child(c, first + i, &out[i]);
            i++;
        }
    }
}

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(uint64_t done, uint64_t total, uint64_t failed) {
    static int last_shown = -1;
    int pct = (int)(done * 100 / total);
    if (isatty(2)) {
        int width = 40, filled = (int)(done * (uint64_t)width / total);
        fprintf(stderr, "\r[%.*s%*s] %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " failed", filled,
                "########################################", width - filled, "", done, total, failed);
        if (done == total)
            fputc('\n', stderr);
    } else if (pct / 10 != last_shown / 10 || done == total) {
        fprintf(stderr, "margay sim: %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " failed\n", done, total, failed);
    }
    last_shown = pct;
}

static int run_sweep(struct sim_cmd *c) {
    uint64_t total = c->seed_last - c->seed_first + 1, failed = 0, passed = 0, frames = 0, slowest_seed = 0;
    double sim_s = 0, run_wall = 0, slowest = -1, t0 = wall_now();
    struct worker worker = {0};
    bool reuse = !c->fork_each_seed && programs_reusable(c);
    struct mg_sim_result batch[BATCH_SEEDS];
    uint32_t in_batch = 0, next = 0;
    for (uint64_t seed = c->seed_first;; seed++) {
        if (next == in_batch) {
            uint64_t left = c->seed_last - seed + 1;
            in_batch = !reuse ? 1 : left < BATCH_SEEDS ? (uint32_t)left : BATCH_SEEDS;
            run_seeds(c, &worker, reuse, seed, in_batch, batch);
            next = 0;
        }
        const struct mg_sim_result r = batch[next++];
        if (r.outcome == MG_SIM_PASSED) {
            passed++;
        } else {
            failed++;
            if (isatty(2))
                fputc('\n', stderr);
            fprintf(stderr, "FAIL seed %" PRIu64 ": %s\n", seed, r.why);
            print_replay(stderr, c, seed);
        }
        sim_s += (double)r.sim_ns / 1e9;
        run_wall += r.wall_s;
        frames += r.frames;
        if (r.wall_s > slowest) {
            slowest = r.wall_s;
            slowest_seed = seed;
        }
        progress(seed - c->seed_first + 1, total, failed);
        if (seed == c->seed_last)
            break;
    }
    worker_free(&worker); /* before counting the children's CPU time */
    double wall = wall_now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    printf("margay sim: %" PRIu64 " seeds: %" PRIu64 " passed, %" PRIu64 " failed\n", total, passed, failed);
    printf("  slowest: seed %" PRIu64 " (%.3f s wall)\n", slowest_seed, slowest);
    printf("  simulated %.1f s in %.1f s wall (%.1fx); %" PRIu64 " frames, %.0f simulated frames per wall second "
           "(inside the runs: %.0f)\n",
           sim_s, wall, wall > 0 ? sim_s / wall : 0, frames, wall > 0 ? (double)frames / wall : 0,
           run_wall > 0 ? (double)frames / run_wall : 0);
    printf("  CPU time of the runs %.2f s: %.0f simulated frames per CPU second (one core; the wall-clock figures "
           "include time the machine gave to others)\n",
           cpu, cpu > 0 ? (double)frames / cpu : 0);
    return failed ? 1 : 0;
}

int mg_cmd_sim(int argc, char **argv) {
    struct sim_cmd c;
    memset(&c, 0, sizeof(c));
    mg_sim_options_init(&c.opts);
    add_builtins(&c);
    c.argc = argc;
    c.argv = argv;
    int rc = parse_args(&c, argc, argv);
    if (rc == 0) {
        if (c.sweep && !c.verbose)
            c.quiet = true;
        rc = c.sweep ? run_sweep(&c) : run_one(&c);
    } else if (rc == 1) {
        rc = 0;
    }
    mg_sim_options_free(&c.opts);
    return rc;
}
