/* sim/coro.h — cooperative coroutines for the simulator: one per simulated process.
 *
 * A coroutine runs on its own mmap'ed stack (with a guard page below it, so an
 * overflow faults instead of corrupting the heap) and gives control back to whoever
 * resumed it with mg_coro_yield. Switches are announced to AddressSanitizer (fiber
 * switch hooks) and to valgrind (stack registration), so both follow them soundly. A
 * coroutine can also end for good from anywhere on its stack (mg_coro_exit), which is
 * how a simulated process's exit() returns to the scheduler. A switch preserves what
 * a function call does (callee-saved registers, the floating-point control words: a
 * coroutine's rounding mode is its own) and makes no system call on x86-64.
 * Single-threaded. */
#ifndef MARGAY_SIM_CORO_H
#define MARGAY_SIM_CORO_H

#include <stdbool.h>
#include <stddef.h>

struct mg_coro;
typedef void (*mg_coro_fn)(void *arg);

/* stack_size 0 = 1 MiB. NULL on failure. */
struct mg_coro *mg_coro_create(mg_coro_fn fn, void *arg, size_t stack_size);
/* Frees a coroutine that is not running (finished, or suspended: then abandoned). */
void mg_coro_destroy(struct mg_coro *c);
/* Runs c until it yields or finishes. Returns true while c can be resumed again. */
bool mg_coro_resume(struct mg_coro *c);
/* From inside a coroutine: back to the resumer. */
void mg_coro_yield(void);
/* From inside a coroutine: finish it now (its stack is never used again). */
_Noreturn void mg_coro_exit(void);
/* The running coroutine, NULL on the scheduler's stack. */
struct mg_coro *mg_coro_current(void);
bool mg_coro_finished(const struct mg_coro *c);
/* How switches are made in this build: "x86-64 stack switch" or "ucontext". */
const char *mg_coro_backend(void);

#endif /* MARGAY_SIM_CORO_H */
