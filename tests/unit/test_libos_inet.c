/* tests/unit/test_libos_inet.c — the inet libOS's plumbing that the simulated link
 * does not reach: sleeping on a device's wait_fd (bounded by the caller's timeout,
 * woken by a readable descriptor), and device ownership at teardown. The device
 * here is a fake whose descriptor is a pipe the test writes to. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "libos/inet/proto.h"

struct fake_dev {
    struct mg_netdev dev;
    int pipe_fd[2];
    int rx_calls, destroyed;
};

static uint16_t fake_rx(struct mg_netdev *d, struct mg_buf **bufs, uint16_t n) {
    (void)bufs;
    (void)n;
    /* Like a device whose frames the stack cannot take yet: the descriptor stays
     * readable until the test drains it. */
    ((struct fake_dev *)d->priv)->rx_calls++;
    return 0;
}

static uint16_t fake_tx(struct mg_netdev *d, struct mg_buf **bufs, uint16_t n) {
    (void)d;
    for (uint16_t i = 0; i < n; i++)
        mg_buf_free(bufs[i]);
    return n;
}

static int fake_wait_fd(struct mg_netdev *d) {
    return ((struct fake_dev *)d->priv)->pipe_fd[0];
}

static void fake_destroy(struct mg_netdev *d) {
    ((struct fake_dev *)d->priv)->destroyed++;
}

static const struct mg_netdev_ops fake_ops = {
    .rx_burst = fake_rx, .tx_burst = fake_tx, .wait_fd = fake_wait_fd, .destroy = fake_destroy};

static void fake_init(struct fake_dev *f) {
    memset(f, 0, sizeof(*f));
    CU_ASSERT_EQUAL_FATAL(pipe(f->pipe_fd), 0);
    /* A non-blocking read end, so draining it never blocks. */
    CU_ASSERT_EQUAL_FATAL(fcntl(f->pipe_fd[0], F_SETFL, O_NONBLOCK), 0);
    f->dev.ops = &fake_ops;
    strcpy(f->dev.name, "fake");
    memcpy(f->dev.mac, (const uint8_t[]){2, 0, 0, 0, 0, 1}, 6);
    f->dev.mtu = 1500;
    f->dev.pool = mg_heap_pool_create("fake", 16, 2048, 128);
    f->dev.priv = f;
}

static void fake_fini(struct fake_dev *f) {
    close(f->pipe_fd[0]);
    close(f->pipe_fd[1]);
    mg_heap_pool_destroy(f->dev.pool);
}

static struct mg_rt *runtime_on(struct fake_dev *f, bool owns) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    cfg.local_ipv4_addr = 0x7f000001; /* never used on a wire: the fake has none */
    struct mg_inet_libos_args args = {.dev = &f->dev, .owns_dev = owns};
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .clock = NULL, .libos_arg = &args};
    struct mg_rt *rt = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_rt_create(&rp, &rt), 0);
    mg_config_free(&cfg);
    return rt;
}

static void test_poll_sleeps_on_wait_fd(void) {
    struct fake_dev f;
    fake_init(&f);
    struct mg_rt *rt = runtime_on(&f, false);
    void *state = mg_rt_libos_state(rt);
    /* Zero timeout: one look at the device, no sleeping. */
    CU_ASSERT_EQUAL(mg_libos_inet_ops.poll(state, 0), 0);
    CU_ASSERT_EQUAL(f.rx_calls, 1);
    /* A readable descriptor ends an unbounded wait: look, sleep, look again. */
    CU_ASSERT_EQUAL_FATAL(write(f.pipe_fd[1], "x", 1), 1);
    CU_ASSERT_EQUAL(mg_libos_inet_ops.poll(state, UINT64_MAX), 0);
    CU_ASSERT_EQUAL(f.rx_calls, 3);
    uint8_t byte;
    CU_ASSERT_EQUAL(read(f.pipe_fd[0], &byte, 1), 1);
    /* Nothing to read: the caller's short timeout ends the sleep. */
    CU_ASSERT_EQUAL(mg_libos_inet_ops.poll(state, MG_NS_PER_MS), 0);
    CU_ASSERT_EQUAL(f.rx_calls, 5);
    mg_rt_destroy(rt);
    CU_ASSERT_EQUAL(f.destroyed, 0); /* not ours to destroy */
    fake_fini(&f);
}

static void test_owned_device_destroyed_with_runtime(void) {
    struct fake_dev f;
    fake_init(&f);
    struct mg_rt *rt = runtime_on(&f, true);
    mg_rt_destroy(rt);
    CU_ASSERT_EQUAL(f.destroyed, 1);
    fake_fini(&f);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("libos_inet", NULL, NULL);
    CU_add_test(s, "poll sleeps on the device's wait_fd", test_poll_sleeps_on_wait_fd);
    CU_add_test(s, "an owned device is destroyed with the runtime", test_owned_device_destroyed_with_runtime);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
