/* examples/common.c — helpers shared by the margay examples (see common.h). Only
 * PDPIX calls and the C library here. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *ex_progname = "example";

static bool parse_u32(const char *s, uint32_t min, uint32_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > UINT32_MAX || v < min)
        return false;
    *out = (uint32_t)v;
    return true;
}

static _Noreturn void bad_usage(const char *usage, const char *why, const char *arg) {
    fprintf(stderr, "%s: %s%s%s\nusage: %s %s\n", ex_progname, why, arg ? ": " : "", arg ? arg : "", ex_progname,
            usage);
    exit(2);
}

/* Options that take a value, and where it goes. */
static uint32_t *value_option(struct ex_args *args, const char *name, uint32_t *min) {
    *min = 1;
    if (!strcmp(name, "--nclients"))
        return &args->nclients;
    if (!strcmp(name, "--nrequests"))
        return &args->nrequests;
    if (!strcmp(name, "--bufsize"))
        return &args->bufsize;
    if (!strcmp(name, "--data-size"))
        return &args->data_size;
    if (!strcmp(name, "--max-msgs"))
        return &args->max_msgs;
    return NULL;
}

void ex_parse_args(int argc, char *const argv[], const char *usage, struct ex_args *args) {
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        ex_progname = slash ? slash + 1 : argv[0];
    }
    bool have_mode = false;
    const char *positional[4];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint32_t min, *dst;
        if (!strcmp(a, "--server") || !strcmp(a, "--client")) {
            args->server = !strcmp(a, "--server");
            have_mode = true;
        } else if (!strcmp(a, "--timeout")) {
            uint32_t t = 0;
            if (i + 1 >= argc || !parse_u32(argv[i + 1], 1, &t))
                bad_usage(usage, "--timeout needs a number of seconds >= 1", NULL);
            args->timeout_s = t;
            i++;
        } else if ((dst = value_option(args, a, &min))) {
            if (i + 1 >= argc || !parse_u32(argv[i + 1], min, dst))
                bad_usage(usage, "option needs a positive number", a);
            i++;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: %s %s\n", ex_progname, usage);
            exit(0);
        } else if (a[0] == '-' && a[1] == '-') {
            bad_usage(usage, "unknown option", a);
        } else if (npos < 4) {
            positional[npos++] = a;
        } else {
            bad_usage(usage, "too many arguments", a);
        }
    }
    if (!have_mode)
        bad_usage(usage, "say --server or --client", NULL);
    if (npos < 2)
        bad_usage(usage, "missing IPV4-ADDRESS and PORT", NULL);
    memset(&args->addr, 0, sizeof(args->addr));
    args->addr.sin_family = AF_INET;
    if (inet_pton(AF_INET, positional[0], &args->addr.sin_addr) != 1)
        bad_usage(usage, "not an IPv4 address", positional[0]);
    uint32_t port;
    if (!parse_u32(positional[1], 1, &port) || port > 65535)
        bad_usage(usage, "not a port number (1-65535)", positional[1]);
    args->addr.sin_port = htons((uint16_t)port);
    if (npos > 2 && !parse_u32(positional[2], 1, &args->data_size))
        bad_usage(usage, "DATA_SIZE must be a positive number", positional[2]);
    if (npos > 3 && !parse_u32(positional[3], 1, &args->max_msgs))
        bad_usage(usage, "MAX_MSGS must be a positive number", positional[3]);
}

void ex_init(int argc, char *const argv[]) {
    struct demi_args da;
    memset(&da, 0, sizeof(da));
    da.argc = argc;
    da.argv = argv;
    da.callback = NULL;
    int ret = demi_init(&da);
    if (ret != 0) {
        ex_error("demi_init", ret);
        exit(1);
    }
}

uint64_t ex_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ex_deadline(unsigned seconds) {
    return ex_now_ns() + (uint64_t)seconds * 1000000000u;
}

static bool remaining(uint64_t deadline_ns, struct timespec *ts) {
    uint64_t now = ex_now_ns();
    if (now >= deadline_ns)
        return false;
    uint64_t left = deadline_ns - now;
    ts->tv_sec = (time_t)(left / 1000000000u);
    ts->tv_nsec = (long)(left % 1000000000u);
    return true;
}

int ex_wait(demi_qresult_t *qr, demi_qtoken_t qt, uint64_t deadline_ns) {
    struct timespec ts;
    if (!remaining(deadline_ns, &ts))
        return ETIMEDOUT;
    return demi_wait(qr, qt, &ts);
}

int ex_wait_any(demi_qresult_t *qr, int *offset, const demi_qtoken_t *qts, int n, uint64_t deadline_ns) {
    struct timespec ts;
    if (!remaining(deadline_ns, &ts))
        return ETIMEDOUT;
    return demi_wait_any(qr, offset, qts, n, &ts);
}

void ex_fill(uint8_t *p, size_t len, uint64_t msg, uint64_t first_offset) {
    for (size_t i = 0; i < len; i++)
        p[i] = ex_pattern(msg, first_offset + i);
}

size_t ex_check(const uint8_t *p, size_t len, uint64_t msg, uint64_t first_offset) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != ex_pattern(msg, first_offset + i))
            return i;
    return len;
}

bool ex_message_ok(const demi_sgarray_t *sga, uint32_t size, uint64_t msg) {
    uint32_t len = sga->sga_segs[0].sgaseg_len;
    return len == size && ex_check(sga->sga_segs[0].sgaseg_buf, len, msg, 0) == len;
}

demi_sgarray_t ex_alloc_message(uint32_t len, uint64_t msg) {
    demi_sgarray_t sga = demi_sgaalloc(len);
    if (sga.sga_numsegs != 1 || !sga.sga_segs[0].sgaseg_buf) {
        ex_error("demi_sgaalloc", errno ? errno : ENOMEM);
        exit(1);
    }
    sga.sga_segs[0].sgaseg_len = len;
    ex_fill(sga.sga_segs[0].sgaseg_buf, len, msg, 0);
    return sga;
}

int ex_server_socket(const struct sockaddr_in *addr, int type) {
    int qd, ret;
    if ((ret = demi_socket(&qd, AF_INET, type, 0)) != 0) {
        ex_error("demi_socket", ret);
        exit(1);
    }
    if ((ret = demi_bind(qd, (const struct sockaddr *)addr, sizeof(*addr))) != 0) {
        ex_error("demi_bind", ret);
        exit(1);
    }
    if (type == SOCK_STREAM && (ret = demi_listen(qd, 1024)) != 0) {
        ex_error("demi_listen", ret);
        exit(1);
    }
    printf("%s: ready\n", ex_progname);
    fflush(stdout);
    return qd;
}

int ex_connect(const struct sockaddr_in *addr, uint64_t deadline_ns) {
    int qd, ret;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    if ((ret = demi_socket(&qd, AF_INET, SOCK_STREAM, 0)) != 0) {
        ex_error("demi_socket", ret);
        exit(1);
    }
    if ((ret = demi_connect(&qt, qd, (const struct sockaddr *)addr, sizeof(*addr))) != 0) {
        ex_error("demi_connect", ret);
        exit(1);
    }
    ex_wait_or_die(&qr, qt, deadline_ns, "connect");
    return qd;
}

int ex_accept(int lqd, uint64_t deadline_ns) {
    int ret;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    if ((ret = demi_accept(&qt, lqd)) != 0) {
        ex_error("demi_accept", ret);
        exit(1);
    }
    ex_wait_or_die(&qr, qt, deadline_ns, "accept");
    return qr.qr_value.ares.qd;
}

int ex_udp_client_socket(void) {
    int qd, ret;
    if ((ret = demi_socket(&qd, AF_INET, SOCK_DGRAM, 0)) != 0) {
        ex_error("demi_socket", ret);
        exit(1);
    }
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_ANY)};
    if ((ret = demi_bind(qd, (const struct sockaddr *)&local, sizeof(local))) != 0) {
        ex_error("demi_bind", ret);
        exit(1);
    }
    return qd;
}

void ex_wait_or_die(demi_qresult_t *qr, demi_qtoken_t qt, uint64_t deadline_ns, const char *what) {
    int ret = ex_wait(qr, qt, deadline_ns);
    if (ret == ETIMEDOUT) {
        fprintf(stderr, "%s: timed out waiting for %s (raise --timeout?)\n", ex_progname, what);
        exit(1);
    }
    if (ret != 0) {
        ex_error("demi_wait", ret);
        exit(1);
    }
    if (qr->qr_opcode == DEMI_OPC_FAILED) {
        ex_error(what, (int)qr->qr_ret);
        exit(1);
    }
}

void ex_error(const char *what, int err) {
    fprintf(stderr, "%s: %s: %s\n", ex_progname, what, strerror(err));
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t ex_percentile(uint64_t *samples, size_t n, unsigned p) {
    if (n == 0)
        return 0;
    qsort(samples, n, sizeof(*samples), cmp_u64);
    size_t idx = (n * p + 99) / 100;
    if (idx > 0)
        idx--;
    return samples[idx < n ? idx : n - 1];
}

void ex_print_round_trips(uint64_t *rtt, uint32_t n, uint32_t size) {
    uint64_t p50 = ex_percentile(rtt, n, 50), p99 = ex_percentile(rtt, n, 99);
    printf("%s: %u round trips of %u bytes, all checked; rtt median %.1f us, p99 %.1f us\n", ex_progname, n, size,
           p50 / 1e3, p99 / 1e3);
}
