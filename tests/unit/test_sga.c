/* tests/unit/test_sga.c — demi_sgaalloc and demi_sgafree: size limits, arrays from the
 * heap and from a libOS pool, and refusal of NULL, forged and double-freed arrays
 * without touching freed memory (ASan checks that half). */
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/rt_internal.h"
#include "cunit_main.h"
#include "pipe_libos.h"

static struct mg_clock test_clock;

static struct mg_rt *setup_ops(const struct mg_libos_ops *ops, uint32_t pool_buffers) {
    struct pipe_options opts = {.pool_buffers = pool_buffers, .pool_buffer_size = 1024};
    struct mg_rt *rt = pipe_rt_create_manual(ops, &opts, &test_clock);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    return rt;
}

static struct mg_rt *setup(void) {
    return setup_ops(&pipe_libos, 0);
}

static void assert_failed_alloc(size_t size, int expected_errno) {
    errno = 0;
    demi_sgarray_t sga = demi_sgaalloc(size);
    CU_ASSERT_EQUAL(sga.sga_numsegs, 0);
    CU_ASSERT_PTR_NULL(sga.sga_buf);
    CU_ASSERT_PTR_NULL(sga.sga_segs[0].sgaseg_buf);
    CU_ASSERT_EQUAL(errno, expected_errno);
}

static void test_alloc_sizes(void) {
    struct mg_rt *rt = setup();
    assert_failed_alloc(0, EINVAL);
    assert_failed_alloc((size_t)MG_SGA_MAX_SIZE + 1, EINVAL);
    assert_failed_alloc(SIZE_MAX, EINVAL);

    demi_sgarray_t one = demi_sgaalloc(1);
    CU_ASSERT_EQUAL(one.sga_numsegs, 1);
    CU_ASSERT_PTR_NOT_NULL(one.sga_buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one.sga_segs[0].sgaseg_buf);
    CU_ASSERT_EQUAL(one.sga_segs[0].sgaseg_len, 1);
    *(uint8_t *)one.sga_segs[0].sgaseg_buf = 0xab;
    /* Heap arrays keep room in front for headers. */
    struct mg_buf *b = one.sga_buf;
    CU_ASSERT(mg_buf_headroom(b) >= 128);
    CU_ASSERT_PTR_EQUAL(b->data, one.sga_segs[0].sgaseg_buf);
    CU_ASSERT_EQUAL(b->len, 1);

    demi_sgarray_t max = demi_sgaalloc(MG_SGA_MAX_SIZE);
    CU_ASSERT_EQUAL(max.sga_numsegs, 1);
    CU_ASSERT_EQUAL(max.sga_segs[0].sgaseg_len, MG_SGA_MAX_SIZE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(max.sga_segs[0].sgaseg_buf);
    uint8_t *bytes = max.sga_segs[0].sgaseg_buf;
    bytes[0] = 1;
    bytes[MG_SGA_MAX_SIZE - 1] = 2;
    CU_ASSERT_EQUAL(rt->sgas.used, 2);
    CU_ASSERT_EQUAL(demi_sgafree(&max), 0);
    CU_ASSERT_EQUAL(demi_sgafree(&one), 0);
    CU_ASSERT_EQUAL(rt->sgas.used, 0);
    mg_rt_destroy(rt);
}

static void test_free_null_double_and_forged(void) {
    struct mg_rt *rt = setup();
    CU_ASSERT_EQUAL(demi_sgafree(NULL), EINVAL);
    demi_sgarray_t sga = demi_sgaalloc(64);
    CU_ASSERT_EQUAL_FATAL(sga.sga_numsegs, 1);
    demi_sgarray_t copy = sga;
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
    /* The freed array is cleared; a copy of it still names freed memory and is refused
     * by pointer value alone. */
    CU_ASSERT_PTR_NULL(sga.sga_buf);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), EINVAL);
    CU_ASSERT_EQUAL(demi_sgafree(&copy), EINVAL);

    demi_sgarray_t forged;
    memset(&forged, 0, sizeof(forged));
    CU_ASSERT_EQUAL(demi_sgafree(&forged), EINVAL); /* sga_buf NULL */
    uint8_t not_a_buffer[256];
    forged.sga_buf = not_a_buffer;
    forged.sga_numsegs = 1;
    forged.sga_segs[0].sgaseg_buf = not_a_buffer;
    forged.sga_segs[0].sgaseg_len = sizeof(not_a_buffer);
    CU_ASSERT_EQUAL(demi_sgafree(&forged), EINVAL);
    forged.sga_buf = (void *)(uintptr_t)0xdeadbeefull;
    CU_ASSERT_EQUAL(demi_sgafree(&forged), EINVAL);
    forged.sga_buf = (void *)(uintptr_t)UINTPTR_MAX;
    CU_ASSERT_EQUAL(demi_sgafree(&forged), EINVAL);
    /* A real buffer inside a forged array is fine to free once: the buffer is what counts. */
    demi_sgarray_t real = demi_sgaalloc(16);
    forged = real;
    forged.sga_segs[0].sgaseg_buf = not_a_buffer;
    CU_ASSERT_PTR_NULL(mg_rt_sga_to_buf(rt, &forged)); /* segment outside the buffer */
    CU_ASSERT_PTR_EQUAL(mg_rt_sga_to_buf(rt, &real), real.sga_buf);
    CU_ASSERT_EQUAL(demi_sgafree(&forged), 0);
    CU_ASSERT_EQUAL(demi_sgafree(&real), EINVAL);
    CU_ASSERT_PTR_NULL(mg_rt_sga_to_buf(rt, &real));
    CU_ASSERT_PTR_NULL(mg_rt_sga_to_buf(rt, NULL));
    mg_rt_destroy(rt);
}

static void test_popped_array(void) {
    struct mg_rt *rt = setup();
    int qd;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    struct sockaddr_in self = {.sin_family = AF_INET, .sin_port = htons(5353)};
    CU_ASSERT_EQUAL(demi_bind(qd, (struct sockaddr *)&self, sizeof(self)), 0);
    demi_sgarray_t out = demi_sgaalloc(5);
    CU_ASSERT_EQUAL_FATAL(out.sga_numsegs, 1);
    memcpy(out.sga_segs[0].sgaseg_buf, "hello", 5);
    demi_qtoken_t push_qt, pop_qt;
    CU_ASSERT_EQUAL(demi_pushto(&push_qt, qd, &out, (struct sockaddr *)&self, sizeof(self)), 0);
    CU_ASSERT_EQUAL(demi_pop(&pop_qt, qd), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
    demi_sgarray_t in = qr.qr_value.sga;
    CU_ASSERT_EQUAL(in.sga_numsegs, 1);
    CU_ASSERT_EQUAL_FATAL(in.sga_segs[0].sgaseg_len, 5);
    CU_ASSERT_EQUAL(memcmp(in.sga_segs[0].sgaseg_buf, "hello", 5), 0);
    CU_ASSERT_EQUAL(in.sga_addr.sin_family, AF_INET);
    CU_ASSERT_EQUAL(ntohs(in.sga_addr.sin_port), 5353);
    CU_ASSERT_PTR_NOT_EQUAL(in.sga_buf, out.sga_buf); /* the pipe copies */
    CU_ASSERT_PTR_EQUAL(mg_rt_sga_to_buf(rt, &in), in.sga_buf);
    demi_sgarray_t in_copy = in;
    CU_ASSERT_EQUAL(demi_sgafree(&in), 0);
    CU_ASSERT_EQUAL(demi_sgafree(&in_copy), EINVAL);
    /* The push result carries the pushed array back. */
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    CU_ASSERT_PTR_EQUAL(qr.qr_value.sga.sga_buf, out.sga_buf);
    CU_ASSERT_EQUAL(demi_sgafree(&out), 0);
    mg_rt_destroy(rt);
}

static void test_pool_arrays(void) {
    struct mg_rt *rt = setup_ops(&pipe_pool_libos, 3);
    demi_sgarray_t a[3];
    for (int i = 0; i < 3; i++) {
        a[i] = demi_sgaalloc(1000);
        CU_ASSERT_EQUAL_FATAL(a[i].sga_numsegs, 1);
        struct mg_buf *b = a[i].sga_buf;
        CU_ASSERT_STRING_EQUAL(b->pool->name, "pipe");
        CU_ASSERT_EQUAL(b->len, 1000);
    }
    CU_ASSERT_EQUAL(((struct mg_buf *)a[0].sga_buf)->pool->in_use, 3);
    assert_failed_alloc(10, ENOMEM);   /* pool exhausted */
    assert_failed_alloc(5000, ENOMEM); /* larger than the pool's buffers */
    CU_ASSERT_EQUAL(demi_sgafree(&a[1]), 0);
    demi_sgarray_t again = demi_sgaalloc(10);
    CU_ASSERT_EQUAL(again.sga_numsegs, 1);
    CU_ASSERT_EQUAL(demi_sgafree(&again), 0);
    /* a[0] and a[2] stay allocated: teardown returns them to the pool before the libOS
     * destroys it (ASan reports it otherwise). */
    mg_rt_destroy(rt);
}

static void test_many_arrays_random_free_order(void) {
    struct mg_rt *rt = setup();
    enum { N = 4000 };
    demi_sgarray_t *arrays = calloc(N, sizeof(*arrays));
    int *order = calloc(N, sizeof(*order));
    CU_ASSERT_PTR_NOT_NULL_FATAL(arrays);
    CU_ASSERT_PTR_NOT_NULL_FATAL(order);
    for (int i = 0; i < N; i++) {
        arrays[i] = demi_sgaalloc((size_t)(i % 97) + 1);
        CU_ASSERT_EQUAL(arrays[i].sga_numsegs, 1);
        order[i] = i;
    }
    CU_ASSERT_EQUAL(rt->sgas.used, N);
    struct mg_rand r;
    mg_rand_seed(&r, 5);
    for (int i = N - 1; i > 0; i--) {
        int j = (int)mg_rand_below(&r, (uint32_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    /* Free half, check the other half is still recognised, free the rest. */
    int ok = 0;
    for (int i = 0; i < N / 2; i++)
        ok += demi_sgafree(&arrays[order[i]]) == 0;
    for (int i = N / 2; i < N; i++)
        ok += mg_rt_sga_to_buf(rt, &arrays[order[i]]) == arrays[order[i]].sga_buf;
    for (int i = N / 2; i < N; i++)
        ok += demi_sgafree(&arrays[order[i]]) == 0;
    CU_ASSERT_EQUAL(ok, N + N / 2);
    CU_ASSERT_EQUAL(rt->sgas.used, 0);
    free(arrays);
    free(order);
    mg_rt_destroy(rt);
}

static void test_same_buffer_registered_twice(void) {
    struct mg_rt *rt = setup();
    /* A libOS may hand one buffer out twice (two references): both arrays free once. */
    struct mg_buf *b = mg_buf_alloc_heap(32, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    b->len = 32;
    mg_buf_ref(b);
    demi_sgarray_t s1, s2;
    mg_rt_sga_from_buf(rt, b, &s1);
    mg_rt_sga_from_buf(rt, b, &s2);
    CU_ASSERT_EQUAL(s1.sga_segs[0].sgaseg_len, 32);
    CU_ASSERT_EQUAL(rt->sgas.used, 1);
    CU_ASSERT_EQUAL(demi_sgafree(&s1), 0);
    CU_ASSERT_EQUAL(b->refcnt, 1);
    CU_ASSERT_EQUAL(demi_sgafree(&s2), 0);
    CU_ASSERT_EQUAL(rt->sgas.used, 0);
    mg_rt_destroy(rt);
}

static void test_sga_before_init(void) {
    CU_ASSERT_PTR_NULL(mg_rt_current());
    assert_failed_alloc(10, EPERM);
    demi_sgarray_t sga;
    memset(&sga, 0, sizeof(sga));
    CU_ASSERT_EQUAL(demi_sgafree(&sga), EPERM);
}

int main(void) {
    static const struct mg_test_case cases[] = {
        {"alloc 0, 1, max, max+1", test_alloc_sizes},
        {"free NULL, double, forged", test_free_null_double_and_forged},
        {"array popped from the pipe libOS", test_popped_array},
        {"arrays from a libOS pool", test_pool_arrays},
        {"many arrays freed in random order", test_many_arrays_random_free_order},
        {"same buffer registered twice", test_same_buffer_registered_twice},
        {"sga calls before demi_init", test_sga_before_init},
        {NULL, NULL},
    };
    return mg_run_tests("sga", cases);
}
