/* tests/unit/test_coro.c — the simulator's coroutines (sim/coro.c): resume order over
 * many coroutines, deep recursion close to the stack's size, exit from nested frames,
 * callee-saved and floating-point state across switches, stack alignment, abandoning a
 * suspended coroutine, the guard page. Built twice: against libmargay (the switch of
 * this architecture) and as test_coro_ucontext with sim/coro.c compiled in
 * -DMG_CORO_UCONTEXT, so the fallback other architectures use is tested here too. */
#include <fcntl.h>
#include <fenv.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cunit_main.h"
#include "sim/coro.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

/* ---- resume order over many coroutines ---- */

#define MANY 200
#define MANY_STEPS 5

struct step_log {
    uint16_t who[MANY * MANY_STEPS];
    uint8_t step[MANY * MANY_STEPS];
    unsigned n;
};

struct worker {
    unsigned id;
    struct step_log *log;
    struct mg_coro *self;
    bool saw_self;
};

static void worker_main(void *arg) {
    struct worker *w = arg;
    w->saw_self = mg_coro_current() == w->self;
    for (unsigned s = 0; s < MANY_STEPS; s++) {
        w->log->who[w->log->n] = (uint16_t)w->id;
        w->log->step[w->log->n] = (uint8_t)s;
        w->log->n++;
        if (s + 1 < MANY_STEPS)
            mg_coro_yield();
    }
}

static void test_many_in_order(void) {
    static struct worker workers[MANY];
    static struct step_log log;
    struct mg_coro *cs[MANY];
    memset(&log, 0, sizeof(log));
    for (unsigned i = 0; i < MANY; i++) {
        workers[i] = (struct worker){.id = i, .log = &log};
        cs[i] = mg_coro_create(worker_main, &workers[i], 64 * 1024);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cs[i]);
        workers[i].self = cs[i];
    }
    /* Round-robin, but odd coroutines resumed in reverse: the order is ours, not theirs. */
    for (unsigned round = 0; round < MANY_STEPS; round++) {
        for (unsigned k = 0; k < MANY; k++) {
            unsigned i = round % 2 ? MANY - 1 - k : k;
            bool alive = mg_coro_resume(cs[i]);
            CU_ASSERT_EQUAL(alive, round + 1 < MANY_STEPS);
            CU_ASSERT_PTR_NULL(mg_coro_current());
        }
    }
    CU_ASSERT_EQUAL_FATAL(log.n, MANY * MANY_STEPS);
    for (unsigned round = 0; round < MANY_STEPS; round++)
        for (unsigned k = 0; k < MANY; k++) {
            unsigned at = round * MANY + k;
            CU_ASSERT_EQUAL(log.who[at], round % 2 ? MANY - 1 - k : k);
            CU_ASSERT_EQUAL(log.step[at], round);
        }
    for (unsigned i = 0; i < MANY; i++) {
        CU_ASSERT_TRUE(workers[i].saw_self);
        CU_ASSERT_TRUE(mg_coro_finished(cs[i]));
        CU_ASSERT_FALSE(mg_coro_resume(cs[i]));
        mg_coro_destroy(cs[i]);
    }
}

/* ---- the contract's edges ---- */

static struct mg_coro *nested_target;
static bool nested_refused;

static void tries_nested_resume(void *arg) {
    (void)arg;
    nested_refused = !mg_coro_resume(nested_target); /* only the scheduler resumes */
    mg_coro_yield();
}

static void returns_at_once(void *arg) {
    *(int *)arg += 1;
}

static void test_contract_edges(void) {
    mg_coro_yield(); /* on the scheduler's stack: nothing to yield to, returns */
    CU_ASSERT_PTR_NULL(mg_coro_current());
    CU_ASSERT_FALSE(mg_coro_resume(NULL));
    mg_coro_destroy(NULL);
    int calls = 0;
    nested_target = mg_coro_create(returns_at_once, &calls, 0);
    struct mg_coro *outer = mg_coro_create(tries_nested_resume, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nested_target);
    CU_ASSERT_PTR_NOT_NULL_FATAL(outer);
    CU_ASSERT_TRUE(mg_coro_resume(outer));
    CU_ASSERT_TRUE(nested_refused);
    CU_ASSERT_EQUAL(calls, 0);
    CU_ASSERT_FALSE(mg_coro_resume(nested_target)); /* ran to its end in one go */
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_FALSE(mg_coro_resume(outer));
    mg_coro_destroy(nested_target);
    mg_coro_destroy(outer);
    CU_ASSERT_PTR_NOT_NULL(mg_coro_backend());
    fprintf(stderr, "[coroutine switch: %s] ", mg_coro_backend());
}

/* ---- deep recursion near the stack's size ---- */

#define DEEP_STACK (256u * 1024u)
#define FRAME_BYTES 1024

struct deep {
    uintptr_t top, lowest;
    unsigned depth_reached;
    uint64_t sum;
};

static uint64_t recurse(struct deep *d, unsigned depth, unsigned max);
static uint64_t (*volatile recurse_ptr)(struct deep *, unsigned, unsigned) = recurse;

/* Each frame holds FRAME_BYTES the compiler cannot drop; the deepest one yields, so
 * the whole stack survives a round trip through the scheduler. */
static uint64_t recurse(struct deep *d, unsigned depth, unsigned max) {
    volatile uint8_t pad[FRAME_BYTES];
    for (unsigned i = 0; i < FRAME_BYTES; i += 64)
        pad[i] = (uint8_t)(depth + i);
    uintptr_t here = (uintptr_t)&pad[0];
    if (here < d->lowest)
        d->lowest = here;
    uint64_t below = 0;
    if (depth < max) {
        below = recurse_ptr(d, depth + 1, max);
    } else {
        d->depth_reached = depth;
        mg_coro_yield();
    }
    uint64_t mine = 0;
    for (unsigned i = 0; i < FRAME_BYTES; i += 64)
        mine += pad[i];
    return below + mine;
}

static void deep_main(void *arg) {
    struct deep *d = arg;
    volatile char mark;
    d->top = d->lowest = (uintptr_t)&mark;
    /* ASan's redzones make frames larger: aim at most of the stack, not past it. */
    d->sum = recurse_ptr(d, 0, (DEEP_STACK * 3 / 4) / (FRAME_BYTES + 256));
}

static uint64_t expected_sum(unsigned max) {
    uint64_t s = 0;
    for (unsigned depth = 0; depth <= max; depth++)
        for (unsigned i = 0; i < FRAME_BYTES; i += 64)
            s += (uint8_t)(depth + i);
    return s;
}

static void test_deep_recursion(void) {
    struct deep d = {0};
    struct mg_coro *c = mg_coro_create(deep_main, &d, DEEP_STACK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_TRUE(mg_coro_resume(c)); /* suspended at the deepest frame */
    unsigned max = (DEEP_STACK * 3 / 4) / (FRAME_BYTES + 256);
    CU_ASSERT_EQUAL(d.depth_reached, max);
    size_t used = d.top - d.lowest;
    CU_ASSERT(used >= DEEP_STACK / 2); /* the test really went deep */
    CU_ASSERT(used < DEEP_STACK);
    CU_ASSERT_FALSE(mg_coro_resume(c));
    CU_ASSERT_EQUAL(d.sum, expected_sum(max));
    mg_coro_destroy(c);
}

/* ---- exit from nested frames ---- */

static char order[64];
static size_t order_len;
static void note(char ch) {
    if (order_len + 1 < sizeof(order))
        order[order_len++] = ch;
}

static void nested_exit(int depth);
static void (*volatile nested_exit_ptr)(int) = nested_exit;
static void nested_exit(int depth) {
    volatile char pad[200];
    pad[depth % 200] = (char)depth;
    if (depth > 0)
        nested_exit_ptr(depth - 1);
    note('x');
    mg_coro_exit();
    note('!'); /* never reached */
    (void)pad;
}

static void exits_deep(void *arg) {
    note(*(char *)arg);
    mg_coro_yield();
    nested_exit(100);
    note('?');
}

static void keeps_going(void *arg) {
    (void)arg;
    for (int i = 0; i < 3; i++) {
        note((char)('1' + i));
        mg_coro_yield();
    }
}

static void test_exit_from_nested_frames(void) {
    order_len = 0;
    char tag = 'a';
    struct mg_coro *a = mg_coro_create(exits_deep, &tag, 128 * 1024);
    struct mg_coro *b = mg_coro_create(keeps_going, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_TRUE(mg_coro_resume(a));
    CU_ASSERT_TRUE(mg_coro_resume(b));
    CU_ASSERT_FALSE(mg_coro_resume(a)); /* exited 100 frames down */
    CU_ASSERT_TRUE(mg_coro_finished(a));
    CU_ASSERT_TRUE(mg_coro_resume(b)); /* the other one is unaffected */
    CU_ASSERT_TRUE(mg_coro_resume(b));
    CU_ASSERT_FALSE(mg_coro_resume(b));
    order[order_len] = '\0';
    CU_ASSERT_STRING_EQUAL(order, "a1x23");
    mg_coro_destroy(a);
    mg_coro_destroy(b);
}

/* ---- registers and floating point across switches ---- */

/* Many values live across every yield: the compiler keeps some in callee-saved
 * registers (rbx, r12-r15 on x86-64), which the scheduler and the other coroutine
 * clobber with values of their own in between. */
struct regs_arg {
    uint64_t seed;
    uint64_t result;
    double fresult;
};

static uint64_t mix(uint64_t x) {
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29);
}

static uint64_t churn(uint64_t seed, bool yield, double *fout) {
    uint64_t a = seed, b = mix(seed + 1), c = mix(seed + 2), d = mix(seed + 3), e = mix(seed + 4), f = mix(seed + 5),
             g = mix(seed + 6), h = mix(seed + 7);
    double x = (double)(seed % 1000) + 0.5, y = 1.25, z = -3.0;
    for (int i = 0; i < 40; i++) {
        a += b ^ (uint64_t)i;
        b = mix(b + c);
        c ^= d + a;
        d = (d << 7 | d >> 57) + e;
        e += f * 3;
        f ^= g >> 3;
        g += h;
        h = mix(h ^ a);
        x = x * 1.0000001 + y;
        y = sqrt(y * y + 1.0);
        z = z / 1.5 - x * 1e-9;
        if (yield)
            mg_coro_yield();
    }
    *fout = x + y + z;
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h;
}

static void regs_main(void *arg) {
    struct regs_arg *r = arg;
    r->result = churn(r->seed, true, &r->fresult);
}

static void test_registers_survive_switches(void) {
    struct regs_arg r1 = {.seed = 11}, r2 = {.seed = 977};
    struct mg_coro *c1 = mg_coro_create(regs_main, &r1, 0), *c2 = mg_coro_create(regs_main, &r2, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    double scratch;
    uint64_t noise = 0;
    bool alive1 = true, alive2 = true;
    while (alive1 || alive2) {
        if (alive1)
            alive1 = mg_coro_resume(c1);
        noise ^= churn(noise + 5, false, &scratch); /* the scheduler's own register traffic */
        if (alive2)
            alive2 = mg_coro_resume(c2);
    }
    double f1, f2;
    CU_ASSERT_EQUAL(r1.result, churn(11, false, &f1));
    CU_ASSERT_EQUAL(r2.result, churn(977, false, &f2));
    CU_ASSERT_EQUAL(r1.fresult, f1); /* bit for bit: same operations, same rounding */
    CU_ASSERT_EQUAL(r2.fresult, f2);
    mg_coro_destroy(c1);
    mg_coro_destroy(c2);
}

/* A coroutine's rounding mode is its own: the scheduler's stays as it was. */
static volatile double third_num = 1.0, third_den = 3.0;
static int rounding_seen;
static double up_result;

static void rounds_up(void *arg) {
    (void)arg;
    fesetround(FE_UPWARD);
    mg_coro_yield();
    rounding_seen = fegetround();
    up_result = third_num / third_den;
}

static void test_rounding_mode_is_per_coroutine(void) {
    CU_ASSERT_EQUAL_FATAL(fegetround(), FE_TONEAREST);
    struct mg_coro *c = mg_coro_create(rounds_up, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_TRUE(mg_coro_resume(c));
    CU_ASSERT_EQUAL(fegetround(), FE_TONEAREST);
    double nearest = third_num / third_den;
    CU_ASSERT_FALSE(mg_coro_resume(c));
    CU_ASSERT_EQUAL(rounding_seen, FE_UPWARD);
#ifdef RUNNING_ON_VALGRIND
    if (!RUNNING_ON_VALGRIND) /* valgrind computes in round-to-nearest whatever the mode */
#endif
        CU_ASSERT(up_result > nearest); /* 1/3 rounded up is the next double above */
    CU_ASSERT_EQUAL(fegetround(), FE_TONEAREST);
    mg_coro_destroy(c);
}

/* ---- stack alignment (what SSE code and printf of doubles need) ---- */

static bool aligned_ok;
static char formatted[64];

__attribute__((noinline)) static bool frame_aligned(void) {
    /* With a frame pointer, rbp is 16-aligned when rsp was correctly aligned at entry. */
    return ((uintptr_t)__builtin_frame_address(0) % 16) == 0;
}

__attribute__((noinline)) static void format_doubles(void) {
    volatile double v[4] = {1.5, 2.5, 3.5, 4.5};
    snprintf(formatted, sizeof(formatted), "%.2f %.2f", v[0] + v[1], v[2] * v[3]);
}

/* No over-aligned locals here: those would make the compiler realign this frame and
 * hide a misaligned entry. */
static void checks_alignment(void *arg) {
    (void)arg;
    aligned_ok = frame_aligned();
    format_doubles();
    mg_coro_yield();
    aligned_ok = aligned_ok && frame_aligned();
}

static void test_stack_alignment(void) {
    struct mg_coro *c = mg_coro_create(checks_alignment, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_TRUE(mg_coro_resume(c));
    CU_ASSERT_FALSE(mg_coro_resume(c));
    CU_ASSERT_TRUE(aligned_ok);
    CU_ASSERT_STRING_EQUAL(formatted, "4.00 15.75");
    mg_coro_destroy(c);
}

/* ---- abandoning suspended coroutines, then reusing the memory ---- */

static void suspends_forever(void *arg) {
    volatile char buf[4096];
    buf[0] = (char)(uintptr_t)arg;
    for (;;)
        mg_coro_yield();
    (void)buf[0];
}

static void test_abandon_and_reuse(void) {
    for (int round = 0; round < 50; round++) {
        struct mg_coro *c = mg_coro_create(suspends_forever, (void *)(uintptr_t)round, 64 * 1024);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_TRUE(mg_coro_resume(c));
        CU_ASSERT_TRUE(mg_coro_resume(c));
        CU_ASSERT_FALSE(mg_coro_finished(c));
        mg_coro_destroy(c); /* abandoned mid-yield */
    }
    int calls = 0;
    struct mg_coro *c = mg_coro_create(returns_at_once, &calls, 64 * 1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FALSE(mg_coro_resume(c));
    CU_ASSERT_EQUAL(calls, 1);
    mg_coro_destroy(c);
}

/* ---- the guard page ---- */

static unsigned overflow_depth;
static void overflow(unsigned depth);
static void (*volatile overflow_ptr)(unsigned) = overflow;
static void overflow(unsigned depth) {
    volatile char pad[512];
    pad[0] = (char)depth;
    overflow_depth = depth;
    overflow_ptr(depth + 1);
    (void)pad[0];
}

static void overflows(void *arg) {
    (void)arg;
    overflow(0);
}

/* Unbounded recursion on a small stack must kill the process (the guard page faults,
 * or ASan reports the overflow), not run on into other memory. In a child, so the
 * suite goes on. The stack is one kept from the tests above (same size): a reused
 * stack keeps its guard page. */
static void test_guard_page(void) {
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY); /* the expected report is noise here */
        if (devnull >= 0)
            dup2(devnull, 2);
        struct mg_coro *c = mg_coro_create(overflows, NULL, 64 * 1024);
        if (c)
            mg_coro_resume(c);
        _exit(0); /* reached only if the overflow went unnoticed */
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static const struct mg_test_case cases[] = {
    {"many coroutines resume in the scheduler's order", test_many_in_order},
    {"contract edges: nested resume, yield outside, NULL", test_contract_edges},
    {"deep recursion near the stack size survives a yield", test_deep_recursion},
    {"exit from nested frames leaves the others running", test_exit_from_nested_frames},
    {"callee-saved and FP values survive switches", test_registers_survive_switches},
    {"rounding mode is per coroutine", test_rounding_mode_is_per_coroutine},
    {"coroutine stacks are ABI-aligned", test_stack_alignment},
    {"abandoned coroutines free cleanly, memory reused", test_abandon_and_reuse},
    {"stack overflow hits the guard page", test_guard_page},
    {NULL, NULL},
};

int main(void) {
    return mg_run_tests("coro", cases);
}
