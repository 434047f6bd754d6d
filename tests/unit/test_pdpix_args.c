/* tests/unit/test_pdpix_args.c — every PDPIX call refuses every kind of bad argument
 * with the documented errno before the libOS sees it: NULL pointers (EINVAL), bad qds
 * (EBADF), malformed addresses and arrays (EINVAL), calls before demi_init (EPERM),
 * demi_init twice (EEXIST), an unknown libOS (EINVAL). */
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <margay/margay.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/log.h"
#include "core/rt_internal.h"
#include "cunit_main.h"
#include "pipe_libos.h"

static struct mg_clock test_clock;
static const struct timespec zero_timeout = {0, 0};

static struct mg_rt *setup_ops(const struct mg_libos_ops *ops) {
    struct mg_rt *rt = pipe_rt_create_manual(ops, NULL, &test_clock);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    return rt;
}

static struct mg_rt *setup(void) {
    return setup_ops(&pipe_libos);
}

/* Log lines captured so tests can check that refusals say why. */
static char captured[4096];

static void capture_sink(enum mg_log_level level, const char *module, const char *msg, void *ctx) {
    (void)level;
    (void)module;
    (void)ctx;
    size_t used = strlen(captured);
    snprintf(captured + used, sizeof(captured) - used, "%s\n", msg);
}

static void capture_start(void) {
    captured[0] = '\0';
    mg_log_set_sink(capture_sink, NULL);
}

static void capture_stop(void) {
    mg_log_set_sink(NULL, NULL);
}

static demi_sgarray_t valid_sga(void) {
    demi_sgarray_t sga = demi_sgaalloc(8);
    CU_ASSERT_EQUAL(sga.sga_numsegs, 1);
    return sga;
}

static void test_calls_before_init(void) {
    CU_ASSERT_PTR_NULL(mg_rt_current());
    int qd;
    demi_qtoken_t qt = 0;
    demi_qresult_t qr;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    demi_sgarray_t sga;
    memset(&sga, 0, sizeof(sga));
    int val = 0, off = 0, n = 0;
    socklen_t len = sizeof(val);
    capture_start();
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0), EPERM);
    CU_ASSERT_STRING_EQUAL(captured, "demi_socket called before demi_init\n");
    captured[0] = '\0';
    CU_ASSERT_EQUAL(demi_wait(&qr, 1, NULL), EPERM);
    CU_ASSERT_STRING_EQUAL(captured, "demi_wait called before demi_init\n");
    capture_stop();
    CU_ASSERT_EQUAL(demi_bind(0, (struct sockaddr *)&sin, sizeof(sin)), EPERM);
    CU_ASSERT_EQUAL(demi_listen(0, 1), EPERM);
    CU_ASSERT_EQUAL(demi_accept(&qt, 0), EPERM);
    CU_ASSERT_EQUAL(demi_connect(&qt, 0, (struct sockaddr *)&sin, sizeof(sin)), EPERM);
    CU_ASSERT_EQUAL(demi_close(0), EPERM);
    CU_ASSERT_EQUAL(demi_push(&qt, 0, &sga), EPERM);
    CU_ASSERT_EQUAL(demi_pushto(&qt, 0, &sga, (struct sockaddr *)&sin, sizeof(sin)), EPERM);
    CU_ASSERT_EQUAL(demi_pop(&qt, 0), EPERM);
    CU_ASSERT_EQUAL(demi_setsockopt(0, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val)), EPERM);
    CU_ASSERT_EQUAL(demi_getsockopt(0, SOL_SOCKET, SO_RCVBUF, &val, &len), EPERM);
    CU_ASSERT_EQUAL(demi_getpeername(0, (struct sockaddr *)&sin, &len), EPERM);
    CU_ASSERT_EQUAL(demi_wait(&qr, 1, &zero_timeout), EPERM);
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &off, &qt, 1, &zero_timeout), EPERM);
    CU_ASSERT_EQUAL(demi_wait_next_n(&qr, 1, &n, &zero_timeout), EPERM);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), EPERM);
    errno = 0;
    sga = demi_sgaalloc(8);
    CU_ASSERT_EQUAL(errno, EPERM);
    CU_ASSERT_EQUAL(sga.sga_numsegs, 0);
    CU_ASSERT_EQUAL(margay_shutdown(), EPERM);
}

static void test_init_arguments_and_twice(void) {
    CU_ASSERT_EQUAL(demi_init(NULL), EINVAL);
    struct demi_args negative = {.argc = -1, .argv = NULL, .callback = NULL};
    CU_ASSERT_EQUAL(demi_init(&negative), EINVAL);
    struct demi_args no_argv = {.argc = 2, .argv = NULL, .callback = NULL};
    CU_ASSERT_EQUAL(demi_init(&no_argv), EINVAL);
    CU_ASSERT_PTR_NULL(mg_rt_current());
    /* Twice: a runtime is already current. */
    struct mg_rt *rt = setup();
    struct demi_args args = {0};
    CU_ASSERT_EQUAL(demi_init(&args), EEXIST);
    CU_ASSERT_PTR_EQUAL(mg_rt_current(), rt);
    CU_ASSERT_EQUAL(margay_shutdown(), 0);
    CU_ASSERT_PTR_NULL(mg_rt_current());
    CU_ASSERT_EQUAL(margay_shutdown(), EPERM);
}

static void test_init_unknown_libos(void) {
    setenv("DEMI_LIBOS", "no-such-libos", 1);
    struct demi_args args = {0};
    capture_start();
    CU_ASSERT_EQUAL(demi_init(&args), EINVAL);
    capture_stop();
    CU_ASSERT_PTR_NULL(mg_rt_current());
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "unknown libOS 'no-such-libos'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, "available: "));
    /* A known name whose libOS is not in this build says so instead. */
    if (!mg_libos_find("rdma")) {
        setenv("DEMI_LIBOS", "catmint", 1);
        capture_start();
        CU_ASSERT_EQUAL(demi_init(&args), EINVAL);
        capture_stop();
        CU_ASSERT_PTR_NOT_NULL(strstr(captured, "libOS 'catmint' is not built"));
    }
    unsetenv("DEMI_LIBOS");
}

static void test_init_default_libos(void) {
    /* The default libOS is posix; whether it is built depends on this build. */
    unsetenv("DEMI_LIBOS");
    unsetenv("LIBOS");
    struct demi_args args = {0};
    if (mg_libos_find("posix")) {
        CU_ASSERT_EQUAL_FATAL(demi_init(&args), 0);
        CU_ASSERT_PTR_NOT_NULL(mg_rt_current());
        CU_ASSERT_EQUAL(demi_init(&args), EEXIST);
        CU_ASSERT_EQUAL(margay_shutdown(), 0);
        CU_ASSERT_EQUAL(demi_init(&args), 0); /* again after shutdown */
        CU_ASSERT_EQUAL(margay_shutdown(), 0);
    } else {
        CU_ASSERT_EQUAL(demi_init(&args), EINVAL);
        CU_ASSERT_PTR_NULL(mg_rt_current());
    }
}

static void test_libos_registry(void) {
    CU_ASSERT_STRING_EQUAL(mg_libos_canonical_name("posix"), "posix");
    CU_ASSERT_STRING_EQUAL(mg_libos_canonical_name("CatNap"), "posix");
    CU_ASSERT_STRING_EQUAL(mg_libos_canonical_name("catnip"), "inet");
    CU_ASSERT_STRING_EQUAL(mg_libos_canonical_name("CATPOWDER"), "inet");
    CU_ASSERT_STRING_EQUAL(mg_libos_canonical_name("Inet"), "inet");
    CU_ASSERT_STRING_EQUAL(mg_libos_canonical_name("catmint"), "rdma");
    CU_ASSERT_STRING_EQUAL(mg_libos_canonical_name("rdma"), "rdma");
    CU_ASSERT_PTR_NULL(mg_libos_canonical_name("catloop"));
    CU_ASSERT_PTR_NULL(mg_libos_canonical_name(""));
    CU_ASSERT_PTR_NULL(mg_libos_canonical_name(NULL));
    CU_ASSERT_PTR_NULL(mg_libos_find("nonsense"));
    CU_ASSERT_PTR_NULL(mg_libos_find(NULL));
    /* Aliases resolve to the same table, whatever is built. */
    CU_ASSERT_PTR_EQUAL(mg_libos_find("catnap"), mg_libos_find("posix"));
    CU_ASSERT_PTR_EQUAL(mg_libos_find("catnip"), mg_libos_find("inet"));
    CU_ASSERT_PTR_EQUAL(mg_libos_find("catpowder"), mg_libos_find("inet"));
    CU_ASSERT_PTR_EQUAL(mg_libos_find("catmint"), mg_libos_find("rdma"));
    char list[128];
    mg_libos_list(list, sizeof(list));
    CU_ASSERT(strlen(list) > 0);
    CU_ASSERT_EQUAL(strstr(list, "posix") != NULL, mg_libos_find("posix") != NULL);
    CU_ASSERT_EQUAL(strstr(list, "inet") != NULL, mg_libos_find("inet") != NULL);
    CU_ASSERT_EQUAL(strstr(list, "rdma") != NULL, mg_libos_find("rdma") != NULL);
    if (!mg_libos_find("posix") && !mg_libos_find("inet") && !mg_libos_find("rdma"))
        CU_ASSERT_STRING_EQUAL(list, "none");
    char tiny[3];
    mg_libos_list(tiny, sizeof(tiny));
    CU_ASSERT(strlen(tiny) < sizeof(tiny));
}

static void test_null_pointers(void) {
    struct mg_rt *rt = setup();
    int qd;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    demi_qtoken_t qt;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
    demi_sgarray_t sga = valid_sga();
    int val = 1;
    socklen_t len = sizeof(val);
    CU_ASSERT_EQUAL(demi_socket(NULL, AF_INET, SOCK_DGRAM, 0), EINVAL);
    CU_ASSERT_EQUAL(demi_bind(qd, NULL, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_accept(NULL, qd), EINVAL);
    CU_ASSERT_EQUAL(demi_connect(NULL, qd, (struct sockaddr *)&sin, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_connect(&qt, qd, NULL, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_push(NULL, qd, &sga), EINVAL);
    CU_ASSERT_EQUAL(demi_push(&qt, qd, NULL), EINVAL);
    CU_ASSERT_EQUAL(demi_pushto(NULL, qd, &sga, (struct sockaddr *)&sin, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_pushto(&qt, qd, NULL, (struct sockaddr *)&sin, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_pushto(&qt, qd, &sga, NULL, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_pop(NULL, qd), EINVAL);
    CU_ASSERT_EQUAL(demi_setsockopt(qd, SOL_SOCKET, SO_RCVBUF, NULL, sizeof(val)), EINVAL);
    CU_ASSERT_EQUAL(demi_getsockopt(qd, SOL_SOCKET, SO_RCVBUF, NULL, &len), EINVAL);
    CU_ASSERT_EQUAL(demi_getsockopt(qd, SOL_SOCKET, SO_RCVBUF, &val, NULL), EINVAL);
    CU_ASSERT_EQUAL(demi_getpeername(qd, NULL, &len), EINVAL);
    CU_ASSERT_EQUAL(demi_getpeername(qd, (struct sockaddr *)&sin, NULL), EINVAL);
    CU_ASSERT_EQUAL(demi_sgafree(NULL), EINVAL);
    /* Nothing was started and nothing leaked into the libOS. */
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    CU_ASSERT_EQUAL(rt->ops.done_count, 0);
    CU_ASSERT_EQUAL(pipe_open_sockets(mg_rt_libos_state(rt)), 1);
    /* And the good calls still work on the same queue. */
    CU_ASSERT_EQUAL(demi_setsockopt(qd, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val)), 0);
    val = 0;
    CU_ASSERT_EQUAL(demi_getsockopt(qd, SOL_SOCKET, SO_RCVBUF, &val, &len), 0);
    CU_ASSERT_EQUAL(val, 1);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
    mg_rt_destroy(rt);
}

/* Every call that takes a qd, with the given qd: all must say EBADF. */
static void assert_all_ebadf(int bad) {
    demi_qtoken_t qt;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
    demi_sgarray_t sga = valid_sga();
    int val = 1;
    socklen_t len = sizeof(val);
    CU_ASSERT_EQUAL(demi_bind(bad, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
    CU_ASSERT_EQUAL(demi_listen(bad, 4), EBADF);
    CU_ASSERT_EQUAL(demi_accept(&qt, bad), EBADF);
    CU_ASSERT_EQUAL(demi_connect(&qt, bad, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
    CU_ASSERT_EQUAL(demi_close(bad), EBADF);
    CU_ASSERT_EQUAL(demi_push(&qt, bad, &sga), EBADF);
    CU_ASSERT_EQUAL(demi_pushto(&qt, bad, &sga, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
    CU_ASSERT_EQUAL(demi_pop(&qt, bad), EBADF);
    CU_ASSERT_EQUAL(demi_setsockopt(bad, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val)), EBADF);
    CU_ASSERT_EQUAL(demi_getsockopt(bad, SOL_SOCKET, SO_RCVBUF, &val, &len), EBADF);
    CU_ASSERT_EQUAL(demi_getpeername(bad, (struct sockaddr *)&sin, &len), EBADF);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
}

static void test_bad_qds(void) {
    struct mg_rt *rt = setup();
    int qd, closed;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&closed, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL(demi_close(closed), 0);
    assert_all_ebadf(-1);
    assert_all_ebadf(-1000000);
    assert_all_ebadf(0x7fffffff);
    assert_all_ebadf(12345); /* never opened */
    assert_all_ebadf(qd + 2);
    assert_all_ebadf(closed);
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    CU_ASSERT_EQUAL(pipe_open_sockets(mg_rt_libos_state(rt)), 1);
    mg_rt_destroy(rt);
}

static void test_bad_addresses(void) {
    struct mg_rt *rt = setup();
    int qd;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr *sa = (struct sockaddr *)&ss;
    demi_qtoken_t qt;
    demi_sgarray_t sga = valid_sga();
    socklen_t bad_lengths[] = {0, 1, sizeof(struct sockaddr_in) - 1, (socklen_t)sizeof(ss) + 1, (socklen_t)-1};
    ss.ss_family = AF_INET;
    for (size_t i = 0; i < sizeof(bad_lengths) / sizeof(bad_lengths[0]); i++) {
        CU_ASSERT_EQUAL(demi_bind(qd, sa, bad_lengths[i]), EINVAL);
        CU_ASSERT_EQUAL(demi_connect(&qt, qd, sa, bad_lengths[i]), EINVAL);
        CU_ASSERT_EQUAL(demi_pushto(&qt, qd, &sga, sa, bad_lengths[i]), EINVAL);
    }
    ss.ss_family = AF_INET6;
    CU_ASSERT_EQUAL(demi_bind(qd, sa, sizeof(struct sockaddr_in)), EINVAL);
    CU_ASSERT_EQUAL(demi_bind(qd, sa, sizeof(struct sockaddr_in6) - 1), EINVAL);
    CU_ASSERT_EQUAL(demi_connect(&qt, qd, sa, sizeof(struct sockaddr_in6) - 1), EINVAL);
    ss.ss_family = AF_UNSPEC;
    CU_ASSERT_EQUAL(demi_bind(qd, sa, sizeof(struct sockaddr_in)), EINVAL);
    CU_ASSERT_EQUAL(demi_pushto(&qt, qd, &sga, sa, sizeof(struct sockaddr_in)), EINVAL);
    /* A well-formed address of a family the libOS does not speak: the libOS says so. */
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    CU_ASSERT_EQUAL(demi_bind(qd, (struct sockaddr *)&sun, sizeof(sun)), EAFNOSUPPORT);
    CU_ASSERT_EQUAL(demi_connect(&qt, qd, (struct sockaddr *)&sun, sizeof(sun)), EAFNOSUPPORT);
    ss.ss_family = AF_INET6;
    CU_ASSERT_EQUAL(demi_bind(qd, sa, sizeof(struct sockaddr_in6)), EAFNOSUPPORT);
    /* The libOS refused the connect: its op was released, not leaked. */
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    CU_ASSERT_EQUAL(rt->ops.done_count, 0);
    /* Unsupported socket domain and type come from the libOS too. */
    int other;
    CU_ASSERT_EQUAL(demi_socket(&other, AF_UNIX, SOCK_STREAM, 0), EAFNOSUPPORT);
    CU_ASSERT_EQUAL(demi_socket(&other, AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
    CU_ASSERT_EQUAL(demi_listen(qd, -1), EINVAL);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
    mg_rt_destroy(rt);
}

static void test_bad_push_arrays(void) {
    struct mg_rt *rt = setup();
    int qd;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
    demi_qtoken_t qt;
    demi_sgarray_t good = valid_sga();
    demi_sgarray_t bad = good;
    bad.sga_numsegs = 0;
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &bad), EINVAL);
    CU_ASSERT_EQUAL(demi_pushto(&qt, qd, &bad, (struct sockaddr *)&sin, sizeof(sin)), EINVAL);
    bad.sga_numsegs = 2;
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &bad), EINVAL);
    bad.sga_numsegs = UINT32_MAX;
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &bad), EINVAL);
    bad = good;
    bad.sga_segs[0].sgaseg_buf = NULL;
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &bad), EINVAL);
    CU_ASSERT_EQUAL(demi_pushto(&qt, qd, &bad, (struct sockaddr *)&sin, sizeof(sin)), EINVAL);
    bad = good;
    bad.sga_segs[0].sgaseg_len = 0;
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &bad), EINVAL);
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    /* The good array pushes fine. */
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &good), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    CU_ASSERT_EQUAL(demi_sgafree(&good), 0);
    mg_rt_destroy(rt);
}

/* Every call answers the checks in one order: runtime, pointers, qd, then the rest. */
static void test_check_order(void) {
    struct mg_rt *rt = setup();
    int qd;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    int bad = qd + 100;
    demi_qtoken_t qt;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
    demi_sgarray_t sga = valid_sga();
    demi_sgarray_t empty = {0};
    int val = 1;
    socklen_t len = sizeof(val);
    /* A missing pointer is reported before a bad qd. */
    CU_ASSERT_EQUAL(demi_bind(bad, NULL, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_accept(NULL, bad), EINVAL);
    CU_ASSERT_EQUAL(demi_connect(&qt, bad, NULL, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_push(NULL, bad, &sga), EINVAL);
    CU_ASSERT_EQUAL(demi_pushto(&qt, bad, &sga, NULL, sizeof(sin)), EINVAL);
    CU_ASSERT_EQUAL(demi_pop(NULL, bad), EINVAL);
    CU_ASSERT_EQUAL(demi_setsockopt(bad, SOL_SOCKET, SO_RCVBUF, NULL, sizeof(val)), EINVAL);
    CU_ASSERT_EQUAL(demi_getsockopt(bad, SOL_SOCKET, SO_RCVBUF, &val, NULL), EINVAL);
    CU_ASSERT_EQUAL(demi_getpeername(bad, NULL, &len), EINVAL);
    /* A bad qd is reported before a malformed value. */
    CU_ASSERT_EQUAL(demi_bind(bad, (struct sockaddr *)&sin, 1), EBADF);
    CU_ASSERT_EQUAL(demi_listen(bad, -1), EBADF);
    CU_ASSERT_EQUAL(demi_connect(&qt, bad, (struct sockaddr *)&sin, 1), EBADF);
    CU_ASSERT_EQUAL(demi_push(&qt, bad, &empty), EBADF);
    CU_ASSERT_EQUAL(demi_pushto(&qt, bad, &sga, (struct sockaddr *)&sin, 1), EBADF);
    /* The array is checked before the address. */
    CU_ASSERT_EQUAL(demi_pushto(&qt, qd, &empty, (struct sockaddr *)&sin, 1), EINVAL);
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
    mg_rt_destroy(rt);
}

/* A libOS that leaves an entry out: the call says so, and starts no operation. */
static void test_missing_libos_entries(void) {
    struct mg_libos_ops partial = pipe_libos;
    partial.bind = NULL;
    partial.listen = NULL;
    partial.accept = NULL;
    partial.connect = NULL;
    partial.push = NULL;
    partial.pop = NULL;
    partial.setsockopt = NULL;
    partial.getsockopt = NULL;
    partial.getpeername = NULL;
    struct mg_rt *rt = setup_ops(&partial);
    int qd;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0), 0);
    demi_qtoken_t qt = 0;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
    demi_sgarray_t sga = valid_sga();
    int val = 1;
    socklen_t len = sizeof(val);
    CU_ASSERT_EQUAL(demi_bind(qd, (struct sockaddr *)&sin, sizeof(sin)), EOPNOTSUPP);
    CU_ASSERT_EQUAL(demi_listen(qd, 4), EOPNOTSUPP);
    CU_ASSERT_EQUAL(demi_accept(&qt, qd), EOPNOTSUPP);
    CU_ASSERT_EQUAL(demi_connect(&qt, qd, (struct sockaddr *)&sin, sizeof(sin)), EOPNOTSUPP);
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &sga), EOPNOTSUPP);
    CU_ASSERT_EQUAL(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&sin, sizeof(sin)), EOPNOTSUPP);
    CU_ASSERT_EQUAL(demi_pop(&qt, qd), EOPNOTSUPP);
    CU_ASSERT_EQUAL(demi_setsockopt(qd, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val)), ENOPROTOOPT);
    CU_ASSERT_EQUAL(demi_getsockopt(qd, SOL_SOCKET, SO_RCVBUF, &val, &len), ENOPROTOOPT);
    CU_ASSERT_EQUAL(demi_getpeername(qd, (struct sockaddr *)&sin, &len), EOPNOTSUPP);
    CU_ASSERT_EQUAL(qt, 0); /* no token was handed out */
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    CU_ASSERT_EQUAL(rt->ops.done_count, 0);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
    CU_ASSERT_EQUAL(demi_close(qd), 0);
    mg_rt_destroy(rt);
}

static void test_libos_errors_become_positive(void) {
    struct mg_rt *rt = setup();
    int qd;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0), 0);
    int val = 0;
    socklen_t len = 1;
    CU_ASSERT_EQUAL(demi_setsockopt(qd, SOL_SOCKET, SO_KEEPALIVE, &val, sizeof(val)), ENOPROTOOPT);
    CU_ASSERT_EQUAL(demi_getsockopt(qd, SOL_SOCKET, SO_RCVBUF, &val, &len), EINVAL);
    CU_ASSERT_EQUAL(demi_listen(qd, 4), EDESTADDRREQ); /* not bound */
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL(demi_accept(&qt, qd), EINVAL); /* not listening */
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    mg_rt_destroy(rt);
}

int main(void) {
    static const struct mg_test_case cases[] = {
        {"calls before demi_init", test_calls_before_init},
        {"demi_init arguments and twice", test_init_arguments_and_twice},
        {"demi_init with an unknown libOS", test_init_unknown_libos},
        {"demi_init with the default libOS", test_init_default_libos},
        {"libOS registry names and aliases", test_libos_registry},
        {"NULL pointers", test_null_pointers},
        {"bad qds", test_bad_qds},
        {"bad addresses", test_bad_addresses},
        {"bad push arrays", test_bad_push_arrays},
        {"libOS errors become positive errnos", test_libos_errors_become_positive},
        {"checks in one order", test_check_order},
        {"libOS without an entry", test_missing_libos_entries},
        {NULL, NULL},
    };
    return mg_run_tests("pdpix_args", cases);
}
