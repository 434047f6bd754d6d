/* examples/common.h — what every margay example shares: the command line, deadlines,
 * waiting with a deadline, and the byte pattern the examples check.
 *
 * The examples use only PDPIX (<demi/libos.h>, <demi/sga.h>, <demi/wait.h>), so they
 * run unchanged on every libOS; pick one with DEMI_LIBOS (posix, inet, ...).
 * Command line, as in Demikernel's C examples:
 *   PROGRAM --server|--client IPV4-ADDRESS PORT [DATA_SIZE] [MAX_MSGS] [--timeout SECONDS]
 * plus, for tcp-echo, --nclients N --nrequests N --bufsize BYTES. */
#ifndef MARGAY_EXAMPLES_COMMON_H
#define MARGAY_EXAMPLES_COMMON_H

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/types.h>
#include <demi/wait.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ex_args {
    bool server;             /* --server or --client */
    struct sockaddr_in addr; /* IPV4-ADDRESS PORT */
    uint32_t data_size;      /* DATA_SIZE, bytes per message */
    uint32_t max_msgs;       /* MAX_MSGS */
    unsigned timeout_s;      /* --timeout: wall-clock limit of the whole run */
    uint32_t nclients;       /* --nclients */
    uint32_t nrequests;      /* --nrequests */
    uint32_t bufsize;        /* --bufsize */
};

/* Parses the command line; on a bad one prints `usage` and exits with status 2. The
 * defaults for the optional values must be filled in before the call. */
void ex_parse_args(int argc, char *const argv[], const char *usage, struct ex_args *args);

/* demi_init with the program's arguments; exits with a message on failure. */
void ex_init(int argc, char *const argv[]);

/* Monotonic time in nanoseconds, and the deadline `seconds` from now. */
uint64_t ex_now_ns(void);
uint64_t ex_deadline(unsigned seconds);

/* demi_wait / demi_wait_any bounded by an absolute deadline. Return 0, ETIMEDOUT once
 * the deadline has passed, or what the call returned. */
int ex_wait(demi_qresult_t *qr, demi_qtoken_t qt, uint64_t deadline_ns);
int ex_wait_any(demi_qresult_t *qr, int *offset, const demi_qtoken_t *qts, int n, uint64_t deadline_ns);

/* The byte the examples put at `offset` of message number `msg`. */
static inline uint8_t ex_pattern(uint64_t msg, uint64_t offset) {
    return (uint8_t)(msg * 131u + offset * 7u + 1u);
}
void ex_fill(uint8_t *p, size_t len, uint64_t msg, uint64_t first_offset);
/* Returns the index of the first byte that differs from the pattern, or len. */
size_t ex_check(const uint8_t *p, size_t len, uint64_t msg, uint64_t first_offset);
/* Whether sga holds exactly message `msg` of `size` bytes, in its one segment. */
bool ex_message_ok(const demi_sgarray_t *sga, uint32_t size, uint64_t msg);

/* A one-segment array of `len` bytes filled with the pattern of message `msg`; exits on
 * allocation failure. */
demi_sgarray_t ex_alloc_message(uint32_t len, uint64_t msg);

/* A TCP socket bound to addr and listening (backlog 1024), or a UDP socket bound to
 * addr. Prints "PROGRAM: ready" on stdout once it is, so scripts know when to start a
 * client. Exits on failure. */
int ex_server_socket(const struct sockaddr_in *addr, int type);
/* A TCP socket connected to addr; exits on failure or when the deadline passes. */
int ex_connect(const struct sockaddr_in *addr, uint64_t deadline_ns);
/* The next connection accepted on the listening lqd; exits on failure or when the
 * deadline passes. */
int ex_accept(int lqd, uint64_t deadline_ns);
/* A UDP client socket: bound to any local address and an ephemeral port, since the
 * client runs on another host than the server (on loopback both are 127.0.0.1) and
 * replies come back to that port. Exits on failure. */
int ex_udp_client_socket(void);
/* Waits for qt; on failure or timeout prints what happened and exits with status 1. */
void ex_wait_or_die(demi_qresult_t *qr, demi_qtoken_t qt, uint64_t deadline_ns, const char *what);

/* Prints "PROGRAM: strerror(err)" to stderr. */
void ex_error(const char *what, int err);
/* The program name for messages (set by ex_parse_args). */
extern const char *ex_progname;

/* Sorts `n` samples and returns the value at percentile p (0..100). */
uint64_t ex_percentile(uint64_t *samples, size_t n, unsigned p);
/* Prints the ping-pong clients' summary: n round trips of `size` bytes and the median
 * and 99th percentile of their times (rtt, in ns; sorted in place). */
void ex_print_round_trips(uint64_t *rtt, uint32_t n, uint32_t size);

#endif /* MARGAY_EXAMPLES_COMMON_H */
