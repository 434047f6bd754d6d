/* sim/programs/crash.c — a PDPIX program that fails on purpose, to test how `margay sim`
 * reports a seed whose run crashes rather than exits:
 *
 *   crash [--after-ms N] [--how segv|abort|overflow|leak|exit] [--seed S --only-seed K]
 *
 * It initialises PDPIX, sleeps N milliseconds (simulated time inside the simulator),
 * then dies as --how says: segv raises SIGSEGV, abort calls abort(), overflow reads
 * one byte past a heap block (a report under AddressSanitizer; nothing visible
 * without it), leak loses a heap block and exits 0 (LeakSanitizer's or valgrind's
 * business), exit exits with status 3. With --only-seed K it does so only when
 * --seed S (pass "{seed}") equals K, and otherwise exits 0, so a sweep has seeds
 * that pass around the one that crashes. Nothing here knows about the simulator. */
#include <demi/libos.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void) {
    fprintf(stderr, "usage: crash [--after-ms N] [--how segv|abort|overflow|leak|exit] [--seed S --only-seed K]\n");
    exit(2);
}

static unsigned long long number(const char *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end)
        usage();
    return v;
}

/* Reads past the end of a heap block through a volatile index the compiler cannot
 * see through. */
static int read_past_the_end(void) {
    char *block = malloc(16);
    if (!block)
        return 0;
    memset(block, 1, 16);
    volatile size_t index = 16;
    int value = block[index];
    free(block);
    return value;
}

/* Where the leaked block's address lives until it is forgotten (volatile: the
 * allocation must happen). */
static void *volatile leaked;

static void lose_a_block(void) {
    leaked = malloc(4096);
    if (leaked)
        memset(leaked, 7, 4096);
    leaked = NULL;
}

int main(int argc, char **argv) {
    unsigned long long after_ms = 0, seed = 0, only_seed = 0;
    const char *how = "segv";
    int only = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--after-ms"))
            after_ms = number(argv[++i]);
        else if (!strcmp(argv[i], "--how"))
            how = argv[++i];
        else if (!strcmp(argv[i], "--seed"))
            seed = number(argv[++i]);
        else if (!strcmp(argv[i], "--only-seed"))
            only_seed = number(argv[++i]), only = 1;
        else
            usage();
    }
    struct demi_args da = {.argc = argc, .argv = argv};
    int rc = demi_init(&da);
    if (rc != 0) {
        fprintf(stderr, "crash: demi_init: %s\n", strerror(rc));
        exit(1);
    }
    usleep((unsigned)(after_ms * 1000));
    if (only && seed != only_seed) {
        printf("crash: seed %llu is not %llu: exiting cleanly\n", seed, only_seed);
        exit(0);
    }
    fprintf(stderr, "crash: dying by %s\n", how);
    fflush(stderr);
    if (!strcmp(how, "segv"))
        raise(SIGSEGV);
    else if (!strcmp(how, "abort"))
        abort();
    else if (!strcmp(how, "overflow"))
        printf("crash: read %d past the end\n", read_past_the_end());
    else if (!strcmp(how, "leak"))
        lose_a_block();
    else if (!strcmp(how, "exit"))
        exit(3);
    else
        usage();
    return 0;
}
