/* sim/coro.c — coroutines (see coro.h): a hand-written stack switch on x86-64,
 * ucontext everywhere else.
 *
 * The simulator switches coroutines twice per process per scheduler round, so a switch
 * must cost a few nanoseconds. swapcontext cannot: it saves and restores the signal
 * mask, a system call each way, for a mask nothing here ever changes. On x86-64 a switch
 * is one call to mg_coro_switch_stack (assembly below), which pushes what the SysV ABI
 * says a callee preserves (rbx, rbp, r12-r15, and the MXCSR and x87 control words, so a
 * coroutine's rounding mode stays its own, as with swapcontext), stores the stack
 * pointer, loads the other context's and pops the same set. A new coroutine's stack is
 * laid out as if it had been switched away from just before entering coro_entry.
 * x86-64 with CET shadow stacks (a plain stack switch would break them), other
 * architectures, and builds with -DMG_CORO_UCONTEXT (the fallback's own test) use
 * ucontext.
 *
 * Every switch goes through switch_to(), which tells ASan which stack it is about to
 * run on (__sanitizer_start_switch_fiber) and learns the one it came from
 * (__sanitizer_finish_switch_fiber); without that, ASan's view of the stack is wrong
 * after a switch and it reports nonsense or misses real errors. A coroutine's first
 * entry finishes the switch that started it, and a coroutine that ends passes NULL for
 * its fake stack so ASan frees it. Valgrind learns each stack through
 * VALGRIND_STACK_REGISTER. The state here is the running coroutine and a few stacks
 * kept for reuse: coroutines are a property of the simulator's thread, not of any
 * stack instance. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sim/coro.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) && !defined(MG_CORO_UCONTEXT) && !(defined(__CET__) && (__CET__ & 2))
#define MG_CORO_SWITCH_X86_64 1
#else
#include <ucontext.h>
#endif

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
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#define DEFAULT_STACK (1u << 20)

/* ---- the machine context and the switch itself ---- */

#ifdef MG_CORO_SWITCH_X86_64

/* A suspended context is its stack pointer: everything else is on that stack. */
struct coro_ctx {
    void *sp;
};

/* Saves the current context's callee-saved state on its stack and *save_sp, then
 * continues the context whose stack pointer is load_sp. Returns when some later switch
 * loads *save_sp again. */
__attribute__((visibility("hidden"))) void mg_coro_switch_stack(void **save_sp, void *load_sp);

__asm__(".text\n"
        ".p2align 4\n"
        ".globl mg_coro_switch_stack\n"
        ".hidden mg_coro_switch_stack\n"
        ".type mg_coro_switch_stack, @function\n"
        "mg_coro_switch_stack:\n"
#if defined(__CET__) && (__CET__ & 1)
        "    endbr64\n"
#endif
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size mg_coro_switch_stack, .-mg_coro_switch_stack\n");

static void ctx_switch(struct coro_ctx *from, struct coro_ctx *to) {
    mg_coro_switch_stack(&from->sp, to->sp);
}

/* The frame mg_coro_switch_stack pops, from the lowest address up. */
struct initial_frame {
    uint32_t mxcsr;
    uint16_t x87_cw, pad;
    uint64_t r15, r14, r13, r12, rbx, rbp;
    void (*ret)(void);  /* where its `ret` goes: the coroutine's entry */
    uint64_t no_return; /* the entry's own return address: none (ends backtraces) */
};

/* Lays the stack out so that the first switch to it "returns" into entry, with the
 * stack aligned as at any function's entry (rsp + 8 a multiple of 16) and the control
 * words of the creator. */
static int ctx_init(struct coro_ctx *ctx, void *stack, size_t len, void (*entry)(void)) {
    uintptr_t top = ((uintptr_t)stack + len) & ~(uintptr_t)15;
    struct initial_frame *f = (struct initial_frame *)(top - sizeof(*f));
    _Static_assert(sizeof(struct initial_frame) == 72, "the frame mg_coro_switch_stack pops");
    memset(f, 0, sizeof(*f));
    __asm__ volatile("stmxcsr %0" : "=m"(f->mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(f->x87_cw));
    f->ret = entry;
    ctx->sp = f;
    return 0;
}

const char *mg_coro_backend(void) {
    return "x86-64 stack switch";
}

#else /* ucontext */

struct coro_ctx {
    ucontext_t uc;
};

static void ctx_switch(struct coro_ctx *from, struct coro_ctx *to) {
    swapcontext(&from->uc, &to->uc);
}

/* noinline: getcontext "returns twice" in the compiler's eyes, which would put every
 * local of the caller at risk. The saved context is only a template for makecontext,
 * never resumed as is. */
__attribute__((noinline)) static int ctx_init(struct coro_ctx *ctx, void *stack, size_t len, void (*entry)(void)) {
    if (getcontext(&ctx->uc) != 0)
        return -1;
    ctx->uc.uc_stack.ss_sp = stack;
    ctx->uc.uc_stack.ss_size = len;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, entry, 0);
    return 0;
}

const char *mg_coro_backend(void) {
    return "ucontext";
}

#endif

/* ---- coroutines ---- */

struct mg_coro {
    struct coro_ctx ctx;
    mg_coro_fn fn;
    void *arg;
    void *map; /* guard page + stack */
    size_t map_len;
    void *stack; /* usable stack */
    size_t stack_len;
    bool finished;
    unsigned valgrind_id;
    const void *resumer_stack; /* for ASan: the stack we return to */
    size_t resumer_stack_len;
};

static struct mg_coro *running;
static struct coro_ctx scheduler_ctx;

/* ---- stacks ---- */

/* Mappings of destroyed coroutines, kept for the next ones: the simulator creates and
 * destroys a few coroutines per run, many runs per process, and a fresh mapping costs
 * mmap, mprotect, munmap and a page fault for every page the stack touches again. */
#define STACK_CACHE 16
struct stack_map {
    void *map;
    size_t len;
};
static struct stack_map stack_cache[STACK_CACHE];
static unsigned stacks_cached;

/* A mapping of len bytes whose first page is the guard page, or NULL. */
static void *stack_map_get(size_t len, size_t page) {
    for (unsigned i = stacks_cached; i-- > 0;) {
        if (stack_cache[i].len != len)
            continue;
        void *map = stack_cache[i].map;
        stack_cache[i] = stack_cache[--stacks_cached];
        return map;
    }
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, page, PROT_NONE) != 0) { /* guard page: stacks grow down into it */
        munmap(map, len);
        return NULL;
    }
    return map;
}

static void stack_map_put(void *map, size_t len) {
    if (stacks_cached < STACK_CACHE)
        stack_cache[stacks_cached++] = (struct stack_map){map, len};
    else
        munmap(map, len);
}

static void switch_to(struct coro_ctx *from, struct coro_ctx *to, const void *to_stack, size_t to_len, bool from_ends,
                      const void **from_stack, size_t *from_len) {
#ifdef MG_CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(from_ends ? NULL : &fake, to_stack, to_len);
    ctx_switch(from, to);
    __sanitizer_finish_switch_fiber(fake, from_stack, from_len);
#else
    (void)to_stack;
    (void)to_len;
    (void)from_ends;
    (void)from_stack;
    (void)from_len;
    ctx_switch(from, to);
#endif
}

/* Runs on the coroutine's stack, entered by the first switch to it. */
static void coro_entry(void) {
    struct mg_coro *c = running;
#ifdef MG_CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->resumer_stack, &c->resumer_stack_len);
#endif
    c->fn(c->arg);
    mg_coro_exit();
}

struct mg_coro *mg_coro_create(mg_coro_fn fn, void *arg, size_t stack_size) {
    struct mg_coro *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = stack_size ? stack_size : DEFAULT_STACK;
    len = (len + page - 1) / page * page;
    c->map_len = len + page;
    c->map = stack_map_get(c->map_len, page);
    if (!c->map) {
        free(c);
        return NULL;
    }
    c->stack = (uint8_t *)c->map + page;
    c->stack_len = len;
    c->fn = fn;
    c->arg = arg;
    if (ctx_init(&c->ctx, c->stack, c->stack_len, coro_entry) != 0) {
        stack_map_put(c->map, c->map_len);
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
#ifdef MG_CORO_ASAN
    /* A coroutine abandoned while suspended leaves its frames' redzones poisoned; the
     * next coroutine on this stack (or mapping at these addresses) must not inherit them. */
    ASAN_UNPOISON_MEMORY_REGION(c->stack, c->stack_len);
#endif
    stack_map_put(c->map, c->map_len);
    free(c);
}

bool mg_coro_resume(struct mg_coro *c) {
    if (!c || c->finished || running)
        return false; /* coroutines resume only from the scheduler's stack */
    running = c;
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
    if (!c)
        abort(); /* the scheduler's stack has nowhere to exit to */
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
