/* examples/http-server.c — a small HTTP/1.1 server over PDPIX, with keep-alive.
 *
 * It serves generated bodies, so load tools and tests can ask for any size and check
 * what they get:  GET /N  returns N bytes (N up to 16 MiB) of the repeating text
 * "0123456789abcdef...";  GET /  returns a short greeting. HEAD is answered with the
 * headers alone. Connections stay open between requests (HTTP/1.1 keep-alive; HTTP/1.0
 * only with "Connection: keep-alive"), pipelined requests are answered in order, and
 * "Connection: close" closes after the response. Many connections are served at once
 * from one thread, with demi_wait_any. Plain PDPIX only: runs on every libOS.
 *
 *   margay-example-http-server --server IPV4-ADDRESS PORT [MAX_REQUESTS] [--timeout S]
 *
 * MAX_REQUESTS (default: no limit) ends the server after that many responses, --timeout
 * after that many seconds; it then prints how many requests it served. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

#define USAGE "--server IPV4-ADDRESS PORT [MAX_REQUESTS] [--timeout SECONDS]"
#define MAX_CONNS 1024
#define MAX_TOKENS (2 * MAX_CONNS + 1)
#define REQ_BUF 8192               /* request head limit; longer heads get 431 */
#define MAX_BODY (16u * 1024 * 1024) /* largest generated body */
#define MAX_PUSHES_IN_FLIGHT 64    /* per connection; beyond, we stop reading (pipelining) */

enum tok_kind { T_ACCEPT, T_POP, T_PUSH };

struct conn {
    int qd;
    bool used, close_after, peer_done;
    unsigned pushes; /* in flight */
    size_t len;      /* bytes in req */
    char req[REQ_BUF];
};

struct server {
    int lqd;
    demi_qtoken_t qts[MAX_TOKENS];
    struct {
        enum tok_kind kind;
        int conn;
        demi_sgarray_t sga;
    } meta[MAX_TOKENS];
    int ntok;
    struct conn *conns;
    uint64_t served, max_requests;
};

static void add_token(struct server *s, demi_qtoken_t qt, enum tok_kind kind, int conn, demi_sgarray_t sga) {
    s->qts[s->ntok] = qt;
    s->meta[s->ntok].kind = kind;
    s->meta[s->ntok].conn = conn;
    s->meta[s->ntok].sga = sga;
    s->ntok++;
}

static bool start_accept(struct server *s) {
    demi_qtoken_t qt;
    demi_sgarray_t none = {0};
    if (demi_accept(&qt, s->lqd) != 0)
        return false;
    add_token(s, qt, T_ACCEPT, -1, none);
    return true;
}

static void start_pop(struct server *s, int c) {
    demi_qtoken_t qt;
    demi_sgarray_t none = {0};
    if (demi_pop(&qt, s->conns[c].qd) == 0)
        add_token(s, qt, T_POP, c, none);
    else
        s->conns[c].peer_done = true;
}

/* Closes a connection once nothing of it is in flight any more. */
static void maybe_close(struct server *s, int c) {
    struct conn *k = &s->conns[c];
    if (k->used && k->pushes == 0 && (k->peer_done || k->close_after)) {
        demi_close(k->qd);
        k->used = false;
    }
}

static void send_response(struct server *s, int c, int status, const char *reason, uint32_t body_len, bool head_only) {
    struct conn *k = &s->conns[c];
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nServer: margay\r\nContent-Type: text/plain\r\nContent-Length: %u\r\n%s\r\n",
                      status, reason, body_len, k->close_after ? "Connection: close\r\n" : "");
    uint32_t send_body = head_only ? 0 : body_len;
    demi_sgarray_t sga = demi_sgaalloc((size_t)hl + send_body);
    if (sga.sga_numsegs == 0) {
        k->close_after = true;
        return;
    }
    char *p = sga.sga_segs[0].sgaseg_buf;
    memcpy(p, head, (size_t)hl);
    static const char digits[] = "0123456789abcdef";
    for (uint32_t i = 0; i < send_body; i++)
        p[hl + i] = (i % 64 == 63) ? '\n' : digits[i % 16];
    demi_qtoken_t qt;
    if (demi_push(&qt, k->qd, &sga) != 0) {
        demi_sgafree(&sga);
        k->close_after = true;
        return;
    }
    add_token(s, qt, T_PUSH, c, sga);
    k->pushes++;
    s->served++;
}

/* Finds a header's value in a request head (case-insensitive name). */
static bool header_has(const char *head, const char *name, const char *token) {
    size_t nl = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *end = strstr(h, "\r\n");
            for (const char *v = h + nl + 1; v + strlen(token) <= end; v++)
                if (strncasecmp(v, token, strlen(token)) == 0)
                    return true;
        }
    }
    return false;
}

static long header_number(const char *head, const char *name) {
    size_t nl = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':')
            return strtol(h + nl + 1, NULL, 10);
    }
    return 0;
}

/* Answers one complete request head of `head_len` bytes (ending in CRLFCRLF, which
 * has been replaced by NULs so the head is a string). */
static void answer(struct server *s, int c, char *head) {
    struct conn *k = &s->conns[c];
    char method[16], target[256], version[16];
    if (sscanf(head, "%15s %255s %15s", method, target, version) != 3 || strncmp(version, "HTTP/1.", 7) != 0) {
        k->close_after = true;
        send_response(s, c, 400, "Bad Request", 0, false);
        return;
    }
    bool http10 = strcmp(version, "HTTP/1.0") == 0;
    k->close_after = http10 ? !header_has(head, "Connection", "keep-alive") : header_has(head, "Connection", "close");
    bool head_only = strcmp(method, "HEAD") == 0;
    if (!head_only && strcmp(method, "GET") != 0) {
        send_response(s, c, 405, "Method Not Allowed", 0, false);
        return;
    }
    if (strcmp(target, "/") == 0) {
        send_response(s, c, 200, "OK", 16, head_only); /* "0123456789abcdef" */
        return;
    }
    char *end = NULL;
    unsigned long n = strtoul(target + 1, &end, 10);
    if (target[0] != '/' || target[1] < '0' || target[1] > '9' || *end != '\0') {
        send_response(s, c, 404, "Not Found", 0, false);
        return;
    }
    if (n > MAX_BODY) {
        send_response(s, c, 413, "Content Too Large", 0, false);
        return;
    }
    send_response(s, c, 200, "OK", (uint32_t)n, head_only);
}

/* Answers every complete request in the connection's buffer. */
static void process(struct server *s, int c) {
    struct conn *k = &s->conns[c];
    for (;;) {
        if (k->close_after)
            return; /* nothing after a closing response */
        char *end = NULL;
        for (size_t i = 0; i + 3 < k->len; i++)
            if (memcmp(k->req + i, "\r\n\r\n", 4) == 0) {
                end = k->req + i;
                break;
            }
        if (!end) {
            if (k->len == REQ_BUF) {
                k->close_after = true;
                send_response(s, c, 431, "Request Header Fields Too Large", 0, false);
            }
            return;
        }
        size_t head_len = (size_t)(end - k->req) + 4;
        end[2] = '\0'; /* keeps the last CRLF so header scans stop at it */
        long body = header_number(k->req, "Content-Length");
        if (body < 0 || (size_t)body > REQ_BUF - head_len) {
            k->close_after = true;
            send_response(s, c, 413, "Content Too Large", 0, false);
            return;
        }
        if (head_len + (size_t)body > k->len) {
            end[2] = '\r';
            return; /* the request body is still on its way */
        }
        end[2] = '\r';
        end[3] = '\0';
        answer(s, c, k->req);
        size_t used = head_len + (size_t)body;
        memmove(k->req, k->req + used, k->len - used);
        k->len -= used;
    }
}

static void on_pop(struct server *s, int c, const demi_qresult_t *qr) {
    struct conn *k = &s->conns[c];
    if (qr->qr_opcode != DEMI_OPC_POP) {
        k->peer_done = true;
        return;
    }
    demi_sgarray_t sga = qr->qr_value.sga;
    size_t len = sga.sga_segs[0].sgaseg_len;
    if (len == 0) {
        k->peer_done = true;
    } else {
        const char *p = sga.sga_segs[0].sgaseg_buf;
        while (len > 0 && !k->close_after) {
            size_t room = REQ_BUF - k->len, take = len < room ? len : room;
            memcpy(k->req + k->len, p, take);
            k->len += take;
            p += take;
            len -= take;
            process(s, c);
            if (take == 0)
                break;
        }
    }
    demi_sgafree(&sga);
    if (!k->peer_done && !k->close_after && k->pushes < MAX_PUSHES_IN_FLIGHT)
        start_pop(s, c);
}

static void on_accept(struct server *s, const demi_qresult_t *qr) {
    if (qr->qr_opcode == DEMI_OPC_ACCEPT) {
        int c = -1;
        for (int i = 0; i < MAX_CONNS && c < 0; i++)
            if (!s->conns[i].used)
                c = i;
        if (c < 0) {
            demi_close(qr->qr_value.ares.qd); /* full: refuse */
        } else {
            struct conn *k = &s->conns[c];
            memset(k, 0, sizeof(*k) - sizeof(k->req));
            k->len = 0;
            k->qd = qr->qr_value.ares.qd;
            k->used = true;
            start_pop(s, c);
        }
    }
    start_accept(s);
}

static void on_push(struct server *s, int c, demi_sgarray_t sga, const demi_qresult_t *qr) {
    struct conn *k = &s->conns[c];
    demi_sgafree(&sga);
    k->pushes--;
    if (qr->qr_opcode != DEMI_OPC_PUSH)
        k->peer_done = true;
    /* Reading was paused while too many responses were in flight. */
    if (k->pushes == MAX_PUSHES_IN_FLIGHT - 1 && !k->peer_done && !k->close_after)
        start_pop(s, c);
}

int main(int argc, char *argv[]) {
    struct ex_args a = {.data_size = 0, .timeout_s = 0};
    ex_parse_args(argc, argv, USAGE, &a);
    if (!a.server) {
        fprintf(stderr, "%s: only --server (use curl, wrk or any HTTP client)\n", ex_progname);
        return 2;
    }
    ex_init(argc, argv);
    struct server *s = calloc(1, sizeof(*s));
    if (!s || !(s->conns = calloc(MAX_CONNS, sizeof(*s->conns)))) {
        fprintf(stderr, "%s: out of memory\n", ex_progname);
        return 1;
    }
    s->max_requests = a.data_size; /* the third positional argument */
    uint64_t deadline = a.timeout_s ? ex_deadline(a.timeout_s) : UINT64_MAX;
    s->lqd = ex_server_socket(&a.addr, SOCK_STREAM);
    if (!start_accept(s))
        return 1;
    while (s->max_requests == 0 || s->served < s->max_requests) {
        demi_qresult_t qr;
        int off = -1;
        int rc = ex_wait_any(&qr, &off, s->qts, s->ntok, deadline);
        if (rc == ETIMEDOUT)
            break;
        if (rc != 0) {
            ex_error("demi_wait_any", rc);
            return 1;
        }
        enum tok_kind kind = s->meta[off].kind;
        int c = s->meta[off].conn;
        demi_sgarray_t sga = s->meta[off].sga;
        s->ntok--;
        s->qts[off] = s->qts[s->ntok];
        s->meta[off] = s->meta[s->ntok];
        if (kind == T_ACCEPT)
            on_accept(s, &qr);
        else if (kind == T_POP)
            on_pop(s, c, &qr);
        else
            on_push(s, c, sga, &qr);
        if (c >= 0)
            maybe_close(s, c);
    }
    /* Let the last responses leave before closing (bounded by the deadline). */
    while (s->ntok > 0) {
        bool pushes = false;
        for (int i = 0; i < s->ntok; i++)
            pushes |= s->meta[i].kind == T_PUSH;
        if (!pushes)
            break;
        demi_qresult_t qr;
        int off = -1;
        uint64_t drain = ex_deadline(5);
        if (ex_wait_any(&qr, &off, s->qts, s->ntok, drain < deadline ? drain : deadline) != 0)
            break;
        if (s->meta[off].kind == T_PUSH)
            demi_sgafree(&s->meta[off].sga);
        s->ntok--;
        s->qts[off] = s->qts[s->ntok];
        s->meta[off] = s->meta[s->ntok];
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i].used)
            demi_close(s->conns[i].qd);
    demi_close(s->lqd);
    printf("%s: served %llu requests\n", ex_progname, (unsigned long long)s->served);
    free(s->conns);
    free(s);
    return 0;
}
