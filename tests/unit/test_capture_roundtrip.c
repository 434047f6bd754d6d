/* tests/unit/test_capture_roundtrip.c — the capture tap records what the wire
 * carried: two simulated hosts exchange UDP datagrams (after ARP), host 0 with the
 * capture tap on (margay.capture), while the simulated link's own frame tap records
 * every frame host 0 sent and every frame delivered to it. Read back through
 * margay's capture reader, the tap's file must hold exactly the link's frames, byte
 * for byte (short frames before the wire's minimum-length padding), in the same order
 * per direction; outbound timestamps must match too. */
#include "config.h"

#include <CUnit/Basic.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcap/reader.h"
#include "tests/harness/simhosts.h"

#define MAX_REC 256

struct rec {
    uint64_t ts;
    size_t len;
    uint8_t data[1600];
};

struct recs {
    struct rec out[MAX_REC], in[MAX_REC];
    size_t nout, nin;
};

static void add(struct rec *r, size_t *n, uint64_t ts, const uint8_t *f, size_t len) {
    CU_ASSERT_FATAL(*n < MAX_REC && len <= sizeof(r->data));
    r[*n].ts = ts;
    r[*n].len = len;
    memcpy(r[*n].data, f, len);
    (*n)++;
}

static void link_tap(void *ctx, enum mg_sim_tap_event ev, uint64_t t, unsigned from, unsigned to, const uint8_t *f,
                     size_t len) {
    struct recs *r = ctx;
    /* A broadcast is SENT once per receiver; host 0's transmission is the first. */
    if (ev == MG_SIM_TAP_SENT && from == 0 && to == 1)
        add(r->out, &r->nout, t, f, len);
    else if (ev == MG_SIM_TAP_DELIVERED && to == 0)
        add(r->in, &r->nin, t, f, len);
}

static char capture_path[64];

static void configure(unsigned i, struct mg_config *cfg, void *ctx) {
    (void)ctx;
    if (i == 0)
        snprintf(cfg->capture_path, sizeof(cfg->capture_path), "%s", capture_path);
}

static void exchange(struct simhosts *sh) {
    int qd0, qd1;
    simhosts_use(sh, 1);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd1, AF_INET, SOCK_DGRAM, 0), 0);
    struct sockaddr_in a1 = simhosts_sockaddr(sh, 1, 9);
    CU_ASSERT_EQUAL_FATAL(demi_bind(qd1, (struct sockaddr *)&a1, sizeof(a1)), 0);
    simhosts_use(sh, 0);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd0, AF_INET, SOCK_DGRAM, 0), 0);
    struct sockaddr_in a0 = simhosts_sockaddr(sh, 0, 10);
    CU_ASSERT_EQUAL_FATAL(demi_bind(qd0, (struct sockaddr *)&a0, sizeof(a0)), 0);
    for (int i = 0; i < 5; i++) {
        simhosts_use(sh, 0);
        demi_sgarray_t sga = demi_sgaalloc(100 + (size_t)i * 200);
        CU_ASSERT_EQUAL_FATAL(sga.sga_numsegs, 1);
        memset(sga.sga_segs[0].sgaseg_buf, 'a' + i, sga.sga_segs[0].sgaseg_len);
        demi_qtoken_t qt;
        demi_qresult_t qr;
        CU_ASSERT_EQUAL_FATAL(demi_pushto(&qt, qd0, &sga, (struct sockaddr *)&a1, sizeof(a1)), 0);
        CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 0, qt, &qr, 5 * MG_NS_PER_S), 0);
        demi_sgafree(&sga);
        simhosts_use(sh, 1);
        CU_ASSERT_EQUAL_FATAL(demi_pop(&qt, qd1), 0);
        CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 1, qt, &qr, 5 * MG_NS_PER_S), 0);
        CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_POP);
        demi_sgarray_t got = qr.qr_value.sga;
        CU_ASSERT_EQUAL_FATAL(demi_pushto(&qt, qd1, &got, (struct sockaddr *)&a0, sizeof(a0)), 0);
        CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 1, qt, &qr, 5 * MG_NS_PER_S), 0);
        demi_sgafree(&got);
        simhosts_use(sh, 0);
        CU_ASSERT_EQUAL_FATAL(demi_pop(&qt, qd0), 0);
        CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 0, qt, &qr, 5 * MG_NS_PER_S), 0);
        CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
        demi_sgafree(&qr.qr_value.sga);
    }
    simhosts_use(sh, 0);
    demi_close(qd0);
    simhosts_use(sh, 1);
    demi_close(qd1);
}

static void test_tap_equals_link(void) {
    snprintf(capture_path, sizeof(capture_path), "/tmp/margay-tap-XXXXXX");
    int fd = mkstemp(capture_path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    struct recs *r = calloc(1, sizeof(*r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct simhosts_params p = {.n = 2, .seed = 7, .tap = link_tap, .tap_ctx = r, .configure = configure};
    struct simhosts *sh;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    exchange(sh);
    simhosts_destroy(sh);    /* flushes and closes the capture */
    CU_ASSERT(r->nout >= 6); /* ARP request (or reply) and five datagrams */
    CU_ASSERT(r->nin >= 6);

    struct mg_cap_reader *rd;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(mg_cap_open(capture_path, &rd, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(mg_cap_linktype(rd), MG_CAP_LINK_EN10MB);
    static const uint8_t mac0[6] = {2, 0, 0, 0, 0, 1};
    size_t iout = 0, iin = 0;
    struct mg_cap_frame f;
    int rc;
    while ((rc = mg_cap_next(rd, &f, err, sizeof(err))) == 1) {
        bool out = memcmp(f.data + 6, mac0, 6) == 0;
        struct rec *want = out ? (iout < r->nout ? &r->out[iout] : NULL) : (iin < r->nin ? &r->in[iin] : NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(want);
        /* The tap sees a frame as the stack hands it to the device, like tcpdump on
         * the sending host; the wire carries it padded with zeros to Ethernet's 60-byte
         * minimum (IEEE 802.3), which the simulated link does as a NIC would. */
        size_t wire_len = f.len < 60 ? 60 : f.len;
        CU_ASSERT_EQUAL(wire_len, want->len);
        CU_ASSERT(wire_len == want->len && memcmp(f.data, want->data, f.len) == 0);
        for (size_t k = f.len; k < want->len && k < 60; k++)
            CU_ASSERT_EQUAL(want->data[k], 0);
        if (out)
            CU_ASSERT_EQUAL(f.ts_ns, want->ts);
        if (out)
            iout++;
        else
            iin++;
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(iout, r->nout);
    CU_ASSERT_EQUAL(iin, r->nin);
    mg_cap_close(rd);
    unlink(capture_path);
    free(r);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite("capture round trip", NULL, NULL);
    CU_add_test(s, "tap equals link", test_tap_equals_link);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
