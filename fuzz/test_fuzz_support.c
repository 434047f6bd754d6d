/* fuzz/test_fuzz_support.c — unit tests of what the fuzz targets stand on: the
 * snapshot arena (fuzz/arena.c: a restore gives back every byte, the allocator's own
 * state and, under AddressSanitizer, every poisoned range; the wrapped malloc goes to
 * the arena only while it is active) and the capture reader's stream entry point the
 * capture target uses (mg_cap_open_stream over fmemopen). */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/arena.h"
#ifdef HAVE_PCAP
#include "pcap/reader.h"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

static void test_alloc_counts_and_fill(void) {
    fa_reset();
    uint8_t *a = fa_alloc(100, false, FA_STACK);
    uint8_t *b = fa_alloc(40, true, FA_STACK);
    uint8_t *h = fa_alloc(64, true, FA_HARNESS);
    CU_ASSERT_TRUE(fa_owns(a) && fa_owns(b) && fa_owns(h));
    CU_ASSERT_EQUAL((uintptr_t)a % 16, 0);
    CU_ASSERT_EQUAL(a[0], 0xbe); /* malloc'd bytes are the same in every run */
    CU_ASSERT_EQUAL(a[99], 0xbe);
    CU_ASSERT_EQUAL(b[0], 0);
    CU_ASSERT_EQUAL(b[39], 0);
    CU_ASSERT_EQUAL(fa_stack_live_blocks(), 2); /* the harness's block is not the stack's */
    CU_ASSERT_EQUAL(fa_stack_live_bytes(), 140);
    fa_free(a);
    CU_ASSERT_EQUAL(fa_stack_live_blocks(), 1);
    CU_ASSERT_EQUAL(fa_stack_live_bytes(), 40);
    fa_free(b);
    CU_ASSERT_EQUAL(fa_stack_live_blocks(), 0);
}

static void test_restore_gives_back_bytes_and_allocator_state(void) {
    fa_reset();
    CU_ASSERT_FALSE(fa_snapshot_restore()); /* none yet */
    uint32_t *kept = fa_alloc(4 * sizeof(uint32_t), true, FA_STACK);
    kept[0] = 11;
    kept[3] = 44;
    uint8_t *dropped = fa_alloc(32, false, FA_STACK);
    fa_free(dropped);
    fa_snapshot_take();
    CU_ASSERT_TRUE(fa_snapshot_bytes() > 0);
    size_t top = fa_used_bytes();
    uint64_t blocks = fa_stack_live_blocks();

    /* An "execution": changes, frees and allocates. */
    kept[0] = 99;
    uint8_t *later = fa_alloc(200, false, FA_STACK);
    memset(later, 7, 200);
    fa_free(kept);
    CU_ASSERT_NOT_EQUAL(fa_used_bytes(), top);

    CU_ASSERT_TRUE(fa_snapshot_restore());
    CU_ASSERT_EQUAL(kept[0], 11);
    CU_ASSERT_EQUAL(kept[3], 44);
    CU_ASSERT_EQUAL(fa_used_bytes(), top);
    CU_ASSERT_EQUAL(fa_stack_live_blocks(), blocks);
    /* The next allocation lands where the first execution's did: runs repeat. */
    uint8_t *again = fa_alloc(200, false, FA_STACK);
    CU_ASSERT_PTR_EQUAL(again, later);
    CU_ASSERT_EQUAL(again[0], 0xbe);
    /* kept is live again: freeing it is fine (it was freed before the restore). */
    fa_free(kept);
    fa_free(again);
    fa_reset();
    CU_ASSERT_EQUAL(fa_snapshot_bytes(), 0);
}

static void test_poison_follows_the_snapshot(void) {
#ifdef TEST_ASAN
    fa_reset();
    uint8_t *live = fa_alloc(20, false, FA_STACK);
    uint8_t *freed = fa_alloc(20, false, FA_STACK);
    fa_free(freed);
    CU_ASSERT_FALSE(__asan_address_is_poisoned(live));
    CU_ASSERT_FALSE(__asan_address_is_poisoned(live + 19));
    CU_ASSERT_TRUE(__asan_address_is_poisoned(live + 20)); /* redzone, byte exact */
    CU_ASSERT_TRUE(__asan_address_is_poisoned(live - 1));  /* header */
    CU_ASSERT_TRUE(__asan_address_is_poisoned(freed));
    fa_snapshot_take();
    CU_ASSERT_FALSE(__asan_address_is_poisoned(live));
    CU_ASSERT_TRUE(__asan_address_is_poisoned(freed));
    fa_free(live);
    uint8_t *later = fa_alloc(64, false, FA_STACK);
    CU_ASSERT_TRUE(__asan_address_is_poisoned(live));
    CU_ASSERT_TRUE(fa_snapshot_restore());
    CU_ASSERT_FALSE(__asan_address_is_poisoned(live)); /* live again */
    CU_ASSERT_TRUE(__asan_address_is_poisoned(live + 20));
    CU_ASSERT_TRUE(__asan_address_is_poisoned(freed)); /* still freed */
    CU_ASSERT_TRUE(__asan_address_is_poisoned(later)); /* beyond the snapshot */
    fa_reset();
#else
    CU_PASS("poisoning is only observable under AddressSanitizer");
#endif
}

static void test_wrapped_malloc_routes_by_activity(void) {
    fa_reset();
    void *outside = __wrap_malloc(32);
    CU_ASSERT_FALSE(fa_owns(outside));
    fa_set_active(true);
    void *inside = __wrap_malloc(32);
    void *zeroed = __wrap_calloc(4, 8);
    CU_ASSERT_TRUE(fa_owns(inside) && fa_owns(zeroed));
    CU_ASSERT_EQUAL(((uint8_t *)zeroed)[31], 0);
    CU_ASSERT_PTR_NULL(__wrap_calloc(SIZE_MAX / 2, 4)); /* overflow refused */
    memcpy(inside, "margay", 7);
    char *grown = __wrap_realloc(inside, 4096);
    CU_ASSERT_TRUE(fa_owns(grown));
    CU_ASSERT_STRING_EQUAL(grown, "margay");
    CU_ASSERT_EQUAL(fa_stack_live_blocks(), 2);
    __wrap_free(outside); /* a block from before stays the real malloc's */
    __wrap_free(grown);
    __wrap_free(zeroed);
    __wrap_free(NULL);
    CU_ASSERT_EQUAL(fa_stack_live_blocks(), 0);
    fa_set_active(false);
    void *real = __wrap_malloc(16);
    CU_ASSERT_FALSE(fa_owns(real));
    __wrap_free(real);
    fa_reset();
}

#ifdef HAVE_PCAP
/* A classic pcap file (little endian, microseconds) with the given link type and
 * packets of `len` bytes each. Returns its length. */
static size_t make_pcap(uint8_t *buf, uint32_t linktype, int npkts, size_t len) {
    uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, linktype};
    memcpy(buf, hdr, sizeof(hdr));
    size_t off = sizeof(hdr);
    for (int i = 0; i < npkts; i++) {
        uint32_t rec[4] = {1000 + (uint32_t)i, 500, (uint32_t)len, (uint32_t)len};
        memcpy(buf + off, rec, sizeof(rec));
        off += sizeof(rec);
        for (size_t j = 0; j < len; j++)
            buf[off + j] = (uint8_t)(i + j);
        off += len;
    }
    return off;
}

static void test_stream_reads_a_capture_from_memory(void) {
    uint8_t file[512];
    size_t n = make_pcap(file, MG_CAP_LINK_EN10MB, 2, 60);
    FILE *f = fmemopen(file, n, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct mg_cap_reader *r;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(mg_cap_open_stream(f, "mem", &r, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(mg_cap_linktype(r), MG_CAP_LINK_EN10MB);
    struct mg_cap_frame fr;
    CU_ASSERT_EQUAL(mg_cap_next(r, &fr, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(fr.len, 60);
    CU_ASSERT_EQUAL(fr.ts_ns, 1000 * 1000000000ull + 500 * 1000ull);
    CU_ASSERT_EQUAL(fr.data[59], 59);
    CU_ASSERT_EQUAL(mg_cap_next(r, &fr, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(fr.data[0], 1);
    CU_ASSERT_EQUAL(mg_cap_next(r, &fr, err, sizeof(err)), 0);
    mg_cap_close(r); /* closes the stream */
}

static void test_stream_refusals_close_the_stream(void) {
    /* Not a capture at all: refused with the name in the message, and the stream
     * closed (LeakSanitizer would report it otherwise). */
    char text[] = "this is not a capture file, just text long enough to read";
    FILE *f = fmemopen(text, sizeof(text), "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct mg_cap_reader *r = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL(mg_cap_open_stream(f, "mem-text", &r, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "mem-text: not a readable pcap or pcapng capture"));
    /* A link type margay does not read. */
    uint8_t file[256];
    size_t n = make_pcap(file, 147, 1, 20);
    f = fmemopen(file, n, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(mg_cap_open_stream(f, "mem-user0", &r, err, sizeof(err)), -EPROTONOSUPPORT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "link type 147"));
    /* A missing file through the path entry point keeps its message. */
    CU_ASSERT_EQUAL(mg_cap_open("/nonexistent/margay.pcap", &r, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a readable pcap or pcapng capture"));
}
#endif

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("fuzz arena", NULL, NULL);
    CU_add_test(s, "allocation, fill and live counts", test_alloc_counts_and_fill);
    CU_add_test(s, "restore gives back bytes and allocator state", test_restore_gives_back_bytes_and_allocator_state);
    CU_add_test(s, "poison follows the snapshot", test_poison_follows_the_snapshot);
    CU_add_test(s, "wrapped malloc routes by activity", test_wrapped_malloc_routes_by_activity);
#ifdef HAVE_PCAP
    CU_pSuite c = CU_add_suite("capture stream", NULL, NULL);
    CU_add_test(c, "reads a capture from memory", test_stream_reads_a_capture_from_memory);
    CU_add_test(c, "refusals close the stream", test_stream_refusals_close_the_stream);
#endif
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
