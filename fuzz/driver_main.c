/* fuzz/driver_main.c — a plain main() for the fuzz targets: in every build without
 * --enable-fuzz (gcc, -Werror, sanitizers, coverage) fuzz/fuzz_<target> is the target
 * plus this file, so `make check` replays the committed seed corpora and crash
 * regressions through exactly the code the fuzzers run. Arguments are files or
 * directories (one level deep); with none, the target (named by the program's name)
 * replays $MARGAY_SRCDIR/fuzz/corpus/<target> and $MARGAY_SRCDIR/fuzz/regressions/<target>,
 * which is what `make check` does.
 *
 * A crash or a broken property aborts the program; a SIGABRT handler first prints the
 * input being run, so the failing file is always named. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz/fuzz_common.h"


#define FUZZ_MAX_INPUT (1u << 20) /* libFuzzer's default -max_len is far below this */

static const char *target = "?"; /* from the program's name: fuzz/fuzz_<target> */
static const char *current_input = "(none)";
static unsigned inputs_run;
static unsigned repeat = 1; /* FUZZ_REPEAT=n runs each input n times (speed measurement) */

static void report_crash(int sig) {
    const char *a = "fuzz replay (", *b = "): crashed on input ";
    (void)!write(STDERR_FILENO, a, strlen(a));
    (void)!write(STDERR_FILENO, target, strlen(target));
    (void)!write(STDERR_FILENO, b, strlen(b));
    (void)!write(STDERR_FILENO, current_input, strlen(current_input));
    (void)!write(STDERR_FILENO, "\n", 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Runs one file. Returns 0, or -1 when it cannot be read. */
static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(FUZZ_MAX_INPUT);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    size_t n = fread(buf, 1, FUZZ_MAX_INPUT, f);
    fclose(f);
    /* An exact-size copy, so a read past the input's end is caught by ASan. */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    current_input = path;
    if (getenv("FUZZ_REPLAY_VERBOSE"))
        fprintf(stderr, "running %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    for (unsigned i = 1; i < repeat; i++)
        LLVMFuzzerTestOneInput(exact, n);
    current_input = "(none)";
    free(exact);
    inputs_run++;
    return 0;
}

static int path_compare(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs every regular file in dir, in name order (so a replay is repeatable). A
 * missing directory is fine when `optional`. */
static int run_dir(const char *dir, int optional) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (optional && errno == ENOENT)
            return 0;
        fprintf(stderr, "fuzz replay: cannot open directory %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., .gitkeep */
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL)
                break;
            names = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[count] = malloc(len);
        if (names[count] == NULL)
            break;
        snprintf(names[count], len, "%s/%s", dir, e->d_name);
        count++;
    }
    closedir(d);
    if (count > 0)
        qsort(names, count, sizeof(*names), path_compare);
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

static int run_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return S_ISDIR(st.st_mode) ? run_dir(path, 0) : run_file(path);
}

/* Defined by targets that need one-time setup; weak so the others need not. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/* "fuzz_stack" from ".../fuzz/fuzz_stack" (or libtool's "lt-fuzz_stack"). */
static const char *target_of(const char *argv0) {
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    if (strncmp(base, "lt-", 3) == 0)
        base += 3;
    if (strncmp(base, "fuzz_", 5) == 0)
        base += 5;
    return base;
}

int main(int argc, char **argv) {
    target = target_of(argv[0]);
    signal(SIGABRT, report_crash);
    const char *rep = getenv("FUZZ_REPEAT");
    if (rep && atoi(rep) > 0)
        repeat = (unsigned)atoi(rep);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGSEGV, report_crash);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            if (run_path(argv[i]) != 0)
                rc = 1;
    } else {
        const char *src = getenv("MARGAY_SRCDIR");
        if (src == NULL || *src == '\0') {
            fprintf(stderr, "usage: %s FILE|DIR... (or set MARGAY_SRCDIR to replay the committed corpus)\n", argv[0]);
            return 2;
        }
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", src, target);
        if (run_dir(dir, 0) != 0)
            rc = 1;
        snprintf(dir, sizeof(dir), "%s/fuzz/regressions/%s", src, target);
        if (run_dir(dir, 1) != 0)
            rc = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s: replayed %u inputs%s", target, inputs_run, rc ? " (some could not be read)" : "");
    if (repeat > 1)
        printf(", %u times each: %.0f executions/s", repeat, secs > 0 ? inputs_run * (double)repeat / secs : 0.0);
    printf("\n");
    return rc;
}
