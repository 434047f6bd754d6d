/* tools/cmd_sim.c — `margay sim`: runs PDPIX programs on simulated hosts under faults,
 * for one seed or a sweep of seeds, and prints for every failure the one command line
 * that replays exactly that run.
 *
 * Every seed runs in a child process (fork), a single --seed as much as each seed of a
 * sweep, so that a crash, an assertion or a sanitizer report is recorded as that seed's
 * failure with its replay line instead of taking `margay sim` down; the child sends its
 * result back through a pipe. A single seed shows the programs' output (and any
 * report) unless --quiet; a sweep hides it unless --verbose. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
            fprintf(stderr, "margay sim: no program '%s' (margay sim --list-programs)\n",
                    c->opts.sc.procs[i].argv[0]);
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
    for (uint64_t seed = c->seed_first;; seed++) {
        struct mg_sim_result r;
        run_child(c, seed, &r);
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
