/* fuzz/arena.c — the snapshot-able heap of the stack targets (see arena.h). */
#include "fuzz/arena.h"

#include <string.h>
#include <sys/mman.h>

#include "fuzz/fuzz_common.h"

#if defined(__SANITIZE_ADDRESS__)
#define FA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FA_ASAN 1
#endif
#endif
#ifdef FA_ASAN
#include <sanitizer/asan_interface.h>
#define FA_NO_ASAN __attribute__((no_sanitize_address))
#else
#define FA_NO_ASAN
#endif

#define FA_ALIGN 16u
#define FA_REDZONE 16u /* after every block; the next block's header is another 16 */
#define FA_MAGIC 0x6d67417265614221ull
enum { BLOCK_LIVE = 1, BLOCK_FREED = 2 };

/* In front of every block; poisoned, so only the allocator reads it. */
struct fa_hdr {
    uint32_t size;
    uint8_t owner; /* enum fa_owner */
    uint8_t state;
    uint16_t pad;
    uint64_t magic;
};

/* The allocator's state: at the arena's base, so a snapshot restores it too. */
struct fa_state {
    size_t top; /* offset of the first unallocated byte */
    uint64_t stack_blocks, stack_bytes;
    uint8_t pad[8];
};

/* A poisoned range of the snapshot, to poison again after copying it back. */
struct fa_range {
    size_t off, len;
};

/* The arena's address is fixed for the life of the process: that is what makes a
 * byte copy of it a valid snapshot. These are the harness's, not the stack's. */
static uint8_t *arena;
static bool active;
static uint8_t *snap;
static size_t snap_len;
static struct fa_range *snap_poison;
static size_t snap_npoison;

static struct fa_state *state(void) {
    return (struct fa_state *)arena;
}

static size_t round_up(size_t n) {
    return (n + FA_ALIGN - 1) & ~(size_t)(FA_ALIGN - 1);
}

void fa_poison(const void *p, size_t n) {
#ifdef FA_ASAN
    __asan_poison_memory_region(p, n);
#else
    (void)p;
    (void)n;
#endif
}

void fa_unpoison(const void *p, size_t n) {
#ifdef FA_ASAN
    __asan_unpoison_memory_region(p, n);
#else
    (void)p;
    (void)n;
#endif
}

void fa_init(void) {
    if (arena)
        return;
    void *m = mmap(NULL, FA_RESERVE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        fuzz_fail("cannot reserve the %u-byte fuzz arena", FA_RESERVE);
    arena = m;
    state()->top = round_up(sizeof(struct fa_state));
}

void fa_set_active(bool on) {
    active = on;
}

bool fa_owns(const void *p) {
    return arena && (const uint8_t *)p >= arena && (const uint8_t *)p < arena + FA_RESERVE;
}

static void drop_snapshot(void) {
    __real_free(snap);
    __real_free(snap_poison);
    snap = NULL;
    snap_poison = NULL;
    snap_len = snap_npoison = 0;
}

void fa_reset(void) {
    fa_init();
    size_t top = state()->top;
    size_t base = round_up(sizeof(struct fa_state));
    if (top > base)
        fa_poison(arena + base, top - base);
    memset(state(), 0, sizeof(struct fa_state));
    state()->top = base;
    drop_snapshot();
}

FA_NO_ASAN static void write_hdr(struct fa_hdr *h, size_t size, enum fa_owner owner) {
    h->size = (uint32_t)size;
    h->owner = (uint8_t)owner;
    h->state = BLOCK_LIVE;
    h->pad = 0;
    h->magic = FA_MAGIC;
}

/* Marks a live block freed; returns its size and owner. Fails on anything that is
 * not a live block (a double free, a pointer into the middle of a block). */
FA_NO_ASAN static size_t retire_hdr(struct fa_hdr *h, enum fa_owner *owner) {
    if (h->magic != FA_MAGIC || h->state != BLOCK_LIVE)
        fuzz_fail("free(%p): not a live block of the fuzz arena (double free, or not from malloc)", (void *)(h + 1));
    h->state = BLOCK_FREED;
    *owner = (enum fa_owner)h->owner;
    return h->size;
}

FA_NO_ASAN static size_t block_size(const struct fa_hdr *h) {
    if (h->magic != FA_MAGIC || h->state != BLOCK_LIVE)
        fuzz_fail("realloc(%p): not a live block of the fuzz arena", (const void *)(h + 1));
    return h->size;
}

FA_NO_ASAN static enum fa_owner block_owner(const struct fa_hdr *h) {
    return (enum fa_owner)h->owner;
}

void *fa_alloc(size_t n, bool zero, enum fa_owner owner) {
    fa_init();
    struct fa_state *st = state();
    if (n > FA_RESERVE)
        fuzz_fail("a %zu-byte allocation: memory use is unbounded", n);
    size_t need = sizeof(struct fa_hdr) + round_up(n) + FA_REDZONE;
    if (st->top + need > FA_RESERVE)
        fuzz_fail("one input allocated more than %u bytes in all: memory use is unbounded", FA_RESERVE);
    struct fa_hdr *h = (struct fa_hdr *)(arena + st->top);
    uint8_t *p = (uint8_t *)(h + 1);
    st->top += need;
    fa_poison(h, need);
    write_hdr(h, n, owner);
    fa_unpoison(p, n);
    /* Fresh bytes are the same whatever earlier inputs left there: runs repeat. */
    memset(p, zero ? 0 : 0xbe, n);
    if (owner == FA_STACK) {
        st->stack_blocks++;
        st->stack_bytes += n;
    }
    return p;
}

void fa_free(void *p) {
    if (p == NULL)
        return;
    enum fa_owner owner;
    size_t n = retire_hdr((struct fa_hdr *)p - 1, &owner);
    fa_poison(p, round_up(n));
    if (owner == FA_STACK) {
        state()->stack_blocks--;
        state()->stack_bytes -= n;
    }
}

uint64_t fa_stack_live_blocks(void) {
    return arena ? state()->stack_blocks : 0;
}

uint64_t fa_stack_live_bytes(void) {
    return arena ? state()->stack_bytes : 0;
}

size_t fa_used_bytes(void) {
    return arena ? state()->top : 0;
}

size_t fa_snapshot_bytes(void) {
    return snap_len;
}

/* The poisoned ranges of [0, len), byte exact (ASan only). */
static void record_poison(size_t len) {
#ifdef FA_ASAN
    size_t cap = 0, off = 0;
    while (off < len) {
        const uint8_t *p = __asan_region_is_poisoned(arena + off, len - off);
        if (p == NULL)
            break;
        size_t start = (size_t)(p - arena), end = start;
        while (end < len && __asan_address_is_poisoned(arena + end))
            end++;
        if (snap_npoison == cap) {
            cap = cap ? cap * 2 : 256;
            struct fa_range *grown = __real_realloc(snap_poison, cap * sizeof(*grown));
            if (grown == NULL)
                fuzz_fail("out of memory recording the arena's poison");
            snap_poison = grown;
        }
        snap_poison[snap_npoison++] = (struct fa_range){start, end - start};
        off = end;
    }
#else
    (void)len;
#endif
}

static void apply_poison(void) {
    for (size_t i = 0; i < snap_npoison; i++)
        fa_poison(arena + snap_poison[i].off, snap_poison[i].len);
}

void fa_snapshot_take(void) {
    fa_init();
    drop_snapshot();
    size_t len = state()->top;
    snap = __real_malloc(len);
    if (snap == NULL)
        fuzz_fail("out of memory taking the arena snapshot (%zu bytes)", len);
    record_poison(len);
    fa_unpoison(arena, len);
    memcpy(snap, arena, len);
    snap_len = len;
    apply_poison();
}

bool fa_snapshot_restore(void) {
    if (snap == NULL)
        return false;
    size_t top = state()->top;
    size_t span = top > snap_len ? top : snap_len;
    fa_unpoison(arena, span);
    memcpy(arena, snap, snap_len);
    apply_poison();
    if (top > snap_len)
        fa_poison(arena + snap_len, top - snap_len);
    return true;
}

/* ---- the wrapped malloc family ---- */

void *__wrap_malloc(size_t n) {
    return active ? fa_alloc(n, false, FA_STACK) : __real_malloc(n);
}

void *__wrap_calloc(size_t count, size_t n) {
    if (!active)
        return __real_calloc(count, n);
    if (n != 0 && count > SIZE_MAX / n)
        return NULL;
    return fa_alloc(count * n, true, FA_STACK);
}

void *__wrap_realloc(void *p, size_t n) {
    if (p == NULL)
        return __wrap_malloc(n);
    if (!fa_owns(p))
        return __real_realloc(p, n);
    if (n == 0) {
        fa_free(p);
        return NULL;
    }
    const struct fa_hdr *h = (const struct fa_hdr *)p - 1;
    size_t old = block_size(h);
    void *q = fa_alloc(n, false, block_owner(h));
    memcpy(q, p, old < n ? old : n);
    fa_free(p);
    return q;
}

void __wrap_free(void *p) {
    if (fa_owns(p))
        fa_free(p);
    else
        __real_free(p);
}
