/* sim/coro.c — coroutines on ucontext (see coro.h).
 *
 * Every switch goes through switch_to(), which tells ASan which stack it is about to
 * run on (__sanitizer_start_switch_fiber) and learns the one it came from
 * (__sanitizer_finish_switch_fiber); without that, ASan's view of the stack is wrong
 * after a swap and it reports nonsense or misses real errors. A coroutine that ends
 * passes NULL for its fake stack so ASan frees it. Valgrind learns each stack through
 * VALGRIND_STACK_REGISTER. The one piece of state is the running coroutine: coroutines
 * are a property of the simulator's thread, not of any stack instance. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sim/coro.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define MG_HAVE_VALGRIND 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define MG_CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MG_CORO_ASAN 1
#endif
#endif

#ifdef MG_CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#define DEFAULT_STACK (1u << 20)

struct mg_coro {
    ucontext_t ctx;
    ucontext_t *resumer;
    mg_coro_fn fn;
    void *arg;
    void *map;      /* guard page + stack */
    size_t map_len;
    void *stack;    /* usable stack */
    size_t stack_len;
    bool finished;
    bool started;
    unsigned valgrind_id;
    const void *resumer_stack; /* for ASan: the stack we return to */
    size_t resumer_stack_len;
};

static struct mg_coro *running;
static ucontext_t scheduler_ctx;

static void switch_to(ucontext_t *from, ucontext_t *to, const void *to_stack, size_t to_len, bool from_ends,
                      const void **from_stack, size_t *from_len) {
#ifdef MG_CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(from_ends ? NULL : &fake, to_stack, to_len);
    swapcontext(from, to);
    __sanitizer_finish_switch_fiber(fake, from_stack, from_len);
#else
    (void)to_stack;
    (void)to_len;
    (void)from_ends;
    (void)from_stack;
    (void)from_len;
    swapcontext(from, to);
#endif
}

/* Runs on the coroutine's stack. */
static void trampoline(void) {
    struct mg_coro *c = running;
#ifdef MG_CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->resumer_stack, &c->resumer_stack_len);
#endif
    c->fn(c->arg);
    mg_coro_exit();
}

/* Apart from mg_coro_create: getcontext "returns twice" in the compiler's eyes, which
 * would put every local of the caller at risk. The saved context is only a template
 * for makecontext, never resumed as is. */
__attribute__((noinline)) static int init_context(struct mg_coro *c) {
    if (getcontext(&c->ctx) != 0)
        return -1;
    c->ctx.uc_stack.ss_sp = c->stack;
    c->ctx.uc_stack.ss_size = c->stack_len;
    c->ctx.uc_link = NULL;
    makecontext(&c->ctx, trampoline, 0);
    return 0;
}

struct mg_coro *mg_coro_create(mg_coro_fn fn, void *arg, size_t stack_size) {
    struct mg_coro *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = stack_size ? stack_size : DEFAULT_STACK;
    len = (len + page - 1) / page * page;
    c->map_len = len + page;
    c->map = mmap(NULL, c->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (c->map == MAP_FAILED) {
        free(c);
        return NULL;
    }
    mprotect(c->map, page, PROT_NONE); /* guard page: stacks grow down into it */
    c->stack = (uint8_t *)c->map + page;
    c->stack_len = len;
    c->fn = fn;
    c->arg = arg;
    if (init_context(c) != 0) {
        munmap(c->map, c->map_len);
        free(c);
        return NULL;
    }
#ifdef MG_HAVE_VALGRIND
    c->valgrind_id = VALGRIND_STACK_REGISTER(c->stack, (uint8_t *)c->stack + c->stack_len);
#endif
    return c;
}

void mg_coro_destroy(struct mg_coro *c) {
    if (!c || c == running)
        return;
#ifdef MG_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(c->valgrind_id);
#endif
    munmap(c->map, c->map_len);
    free(c);
}

bool mg_coro_resume(struct mg_coro *c) {
    if (!c || c->finished || running)
        return false; /* coroutines resume only from the scheduler's stack */
    running = c;
    c->started = true;
    const void *ignored_stack;
    size_t ignored_len;
    switch_to(&scheduler_ctx, &c->ctx, c->stack, c->stack_len, false, &ignored_stack, &ignored_len);
    running = NULL;
    return !c->finished;
}

void mg_coro_yield(void) {
    struct mg_coro *c = running;
    if (!c)
        return;
    switch_to(&c->ctx, &scheduler_ctx, c->resumer_stack, c->resumer_stack_len, false, &c->resumer_stack,
              &c->resumer_stack_len);
}

_Noreturn void mg_coro_exit(void) {
    struct mg_coro *c = running;
    c->finished = true;
    switch_to(&c->ctx, &scheduler_ctx, c->resumer_stack, c->resumer_stack_len, true, &c->resumer_stack,
              &c->resumer_stack_len);
    abort(); /* a finished coroutine is never resumed */
}

struct mg_coro *mg_coro_current(void) {
    return running;
}

bool mg_coro_finished(const struct mg_coro *c) {
    return c->finished;
}
