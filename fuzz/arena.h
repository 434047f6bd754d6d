/* fuzz/arena.h — a heap that can be snapshotted and restored, for the stack targets.
 *
 * Building the whole-stack target's starting state (an instance, a handshake, data in
 * flight both ways) costs far more than running most inputs. The stack has no globals:
 * everything it owns hangs off its instance and was allocated with malloc. So the
 * fuzz programs route the stack's malloc/calloc/realloc/free into this arena (the link
 * wraps them: -Wl,--wrap=malloc,...), build the state once, copy the arena's used bytes
 * aside, and before every input copy them back. The arena sits at one address for the
 * life of the process, so every pointer inside the copy is valid again after the copy
 * back; the allocator's own state (its top, its counters) lives inside the arena too
 * and comes back with it. Nothing an input did survives it: isolation is a memcpy.
 *
 * Blocks are never reused within an input (bump allocation), freed blocks and every
 * header and redzone are poisoned for AddressSanitizer, so use-after-free, double free
 * and overflows inside the arena are still reported. Allocations made outside
 * fa_active periods (libFuzzer's, the harness's own) go to the real malloc. */
#ifndef MARGAY_FUZZ_ARENA_H
#define MARGAY_FUZZ_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes reserved (address space only; pages are touched as the arena grows). One
 * input allocating this much in total is unbounded growth (fuzz_fail). */
#define FA_RESERVE (256u << 20)

/* Who owns a block: the stack (through the wrapped malloc), or the harness (fa_alloc).
 * The leak check counts the stack's blocks only. */
enum fa_owner { FA_STACK = 1, FA_HARNESS = 2 };

/* Maps the arena (once). */
void fa_init(void);
/* Routes the wrapped malloc family into the arena (true) or to the real one (false). */
void fa_set_active(bool on);
/* Empties the arena (drops the snapshot too). */
void fa_reset(void);
/* A block of n bytes (16-byte aligned), zeroed when `zero`, else filled with 0xbe. */
void *fa_alloc(size_t n, bool zero, enum fa_owner owner);
void fa_free(void *p);
bool fa_owns(const void *p);
/* Poisons / unpoisons a range for AddressSanitizer (no-ops without it). */
void fa_poison(const void *p, size_t n);
void fa_unpoison(const void *p, size_t n);

/* Copies the arena's used bytes aside. */
void fa_snapshot_take(void);
/* Copies them back (the arena is then exactly as when the snapshot was taken).
 * false when there is no snapshot. */
bool fa_snapshot_restore(void);
/* Bytes the snapshot covers (0 without one). */
size_t fa_snapshot_bytes(void);

/* Live blocks and bytes the stack holds. */
uint64_t fa_stack_live_blocks(void);
uint64_t fa_stack_live_bytes(void);
/* Arena bytes in use (allocated since the last reset, freed or not). */
size_t fa_used_bytes(void);

/* The link-time wrappers (-Wl,--wrap=malloc etc.) and the functions they fall back to. */
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t count, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__real_malloc(size_t n);
void *__real_calloc(size_t count, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

#endif /* MARGAY_FUZZ_ARENA_H */
