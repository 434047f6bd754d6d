/* fuzz/fuzz_common.h — what every fuzz target shares: the libFuzzer entry points and
 * the one way a target reports a broken property (fuzz_fail: message, then abort(), so
 * libFuzzer, AFL++ and the replay driver all see a crash and keep the input). */
#ifndef MARGAY_FUZZ_COMMON_H
#define MARGAY_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#if defined(__GNUC__)
#define FUZZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FUZZ_PRINTF(a, b)
#endif

static inline void fuzz_failv(const char *file, int line, const char *fmt, ...) FUZZ_PRINTF(3, 4);

#include <stdarg.h>
static inline void fuzz_failv(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz target failure at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
#define fuzz_fail(...) fuzz_failv(__FILE__, __LINE__, __VA_ARGS__)
/* A property that must hold for every input. */
#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            fuzz_fail("%s", #cond);                                                                                    \
    } while (0)

#endif /* MARGAY_FUZZ_COMMON_H */
