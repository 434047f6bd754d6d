/* pcap/replay_app.c — echo, sink and HTTP responder over PDPIX (see replay_app.h). */
#include "config.h"

#include "pcap/replay_app.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>

#define MAX_LISTENERS 16
#define MAX_CONNS 1024
#define MAX_PUSHES 8

static const char http_body[] = "<html><body>margay replay</body></html>\n";

struct listener {
    int qd;
    uint16_t port;
    demi_qtoken_t accept_qt;
    bool accepting;
};

struct conn {
    int qd;
    bool open;
    uint32_t peer_ip;
    uint16_t peer_port, local_port;
    demi_qtoken_t pop_qt;
    bool popping;
    demi_qtoken_t push_qt[MAX_PUSHES];
    demi_sgarray_t push_sga[MAX_PUSHES];
    unsigned npush;
    uint64_t bytes;
    bool eof;
    bool close_after_push; /* HTTP: close once the response has gone */
    uint32_t http_tail;    /* the last four bytes seen, to find "\r\n\r\n" across segments */
};

struct mg_replay_app_state {
    enum mg_replay_app app;
    struct listener ls[MAX_LISTENERS];
    unsigned nls;
    struct conn *conns;
    unsigned nconns;
};

static const struct timespec zero_timeout = {0, 0};

int mg_replay_app_create(enum mg_replay_app app, uint32_t ip, const uint16_t *ports, unsigned nports,
                         struct mg_replay_app_state **out) {
    struct mg_replay_app_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->conns = calloc(MAX_CONNS, sizeof(*st->conns));
    if (!st->conns) {
        free(st);
        return -ENOMEM;
    }
    st->app = app;
    for (unsigned i = 0; i < nports && i < MAX_LISTENERS; i++) {
        struct listener *l = &st->ls[st->nls];
        int rc = demi_socket(&l->qd, AF_INET, SOCK_STREAM, 0);
        if (rc != 0)
            goto fail;
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(ports[i]), .sin_addr.s_addr = htonl(ip)};
        rc = demi_bind(l->qd, (const struct sockaddr *)&sin, sizeof(sin));
        if (rc == 0)
            rc = demi_listen(l->qd, 128);
        if (rc != 0) {
            demi_close(l->qd);
            goto fail_rc;
        }
        l->port = ports[i];
        st->nls++;
        continue;
    fail_rc:
        mg_replay_app_destroy(st);
        return -rc;
    fail:
        mg_replay_app_destroy(st);
        return -rc;
    }
    *out = st;
    return 0;
}

static void conn_close(struct conn *c) {
    if (!c->open)
        return;
    /* Closing cancels the pending operations; their tokens die with the queue. */
    demi_close(c->qd);
    for (unsigned i = 0; i < c->npush; i++)
        demi_sgafree(&c->push_sga[i]);
    c->npush = 0;
    c->popping = false;
    c->open = false;
}

static int push(struct conn *c, const void *data, size_t len, const demi_sgarray_t *reuse) {
    if (c->npush == MAX_PUSHES)
        return -ENOBUFS;
    demi_sgarray_t sga;
    if (reuse) {
        sga = *reuse;
    } else {
        sga = demi_sgaalloc(len);
        if (sga.sga_numsegs == 0)
            return -ENOMEM;
        memcpy(sga.sga_segs[0].sgaseg_buf, data, len);
    }
    demi_qtoken_t qt;
    if (demi_push(&qt, c->qd, &sga) != 0) {
        demi_sgafree(&sga);
        return -EIO;
    }
    c->push_qt[c->npush] = qt;
    c->push_sga[c->npush] = sga;
    c->npush++;
    return 0;
}

static void http_scan(struct conn *c, const demi_sgarray_t *sga) {
    for (uint32_t s = 0; s < sga->sga_numsegs; s++) {
        const uint8_t *p = sga->sga_segs[s].sgaseg_buf;
        for (uint32_t i = 0; i < sga->sga_segs[s].sgaseg_len; i++) {
            c->http_tail = c->http_tail << 8 | p[i];
            if (c->http_tail == 0x0d0a0d0au && !c->close_after_push) {
                char resp[256];
                int n = snprintf(resp, sizeof(resp),
                                 "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n"
                                 "Connection: close\r\n\r\n%s",
                                 sizeof(http_body) - 1, http_body);
                if (push(c, resp, (size_t)n, NULL) == 0)
                    c->close_after_push = true;
            }
        }
    }
}

static int on_pop(struct mg_replay_app_state *st, struct conn *c, demi_qresult_t *qr) {
    if (qr->qr_opcode != DEMI_OPC_POP) {
        conn_close(c);
        return 1;
    }
    demi_sgarray_t *sga = &qr->qr_value.sga;
    uint64_t n = 0;
    for (uint32_t s = 0; s < sga->sga_numsegs; s++)
        n += sga->sga_segs[s].sgaseg_len;
    if (n == 0) {
        /* End of stream: answer the client's FIN with ours. */
        c->eof = true;
        demi_sgafree(sga);
        if (c->npush == 0)
            conn_close(c);
        else
            c->close_after_push = true;
        return 1;
    }
    c->bytes += n;
    if (st->app == MG_REPLAY_APP_ECHO) {
        if (push(c, NULL, 0, sga) < 0)
            demi_sgafree(sga);
    } else {
        if (st->app == MG_REPLAY_APP_HTTP)
            http_scan(c, sga);
        demi_sgafree(sga);
    }
    return 1;
}

static int run_conn(struct mg_replay_app_state *st, struct conn *c) {
    int done = 0;
    demi_qresult_t qr;
    for (unsigned i = 0; i < c->npush && c->open;) {
        if (demi_wait(&qr, c->push_qt[i], &zero_timeout) != 0) {
            i++;
            continue;
        }
        demi_sgafree(&c->push_sga[i]);
        c->npush--;
        c->push_qt[i] = c->push_qt[c->npush];
        c->push_sga[i] = c->push_sga[c->npush];
        done++;
        if (qr.qr_opcode != DEMI_OPC_PUSH) {
            conn_close(c);
            return done;
        }
    }
    if (c->open && c->close_after_push && c->npush == 0) {
        conn_close(c);
        return done + 1;
    }
    while (c->open && !c->eof) {
        if (!c->popping) {
            if (demi_pop(&c->pop_qt, c->qd) != 0) {
                conn_close(c);
                return done + 1;
            }
            c->popping = true;
        }
        if (demi_wait(&qr, c->pop_qt, &zero_timeout) != 0)
            break;
        c->popping = false;
        done += on_pop(st, c, &qr);
    }
    return done;
}

static int run_listener(struct mg_replay_app_state *st, struct listener *l) {
    int done = 0;
    demi_qresult_t qr;
    for (;;) {
        if (!l->accepting) {
            if (demi_accept(&l->accept_qt, l->qd) != 0)
                return done;
            l->accepting = true;
        }
        if (demi_wait(&qr, l->accept_qt, &zero_timeout) != 0)
            return done;
        l->accepting = false;
        done++;
        if (qr.qr_opcode != DEMI_OPC_ACCEPT)
            continue;
        if (st->nconns == MAX_CONNS) {
            demi_close(qr.qr_value.ares.qd);
            continue;
        }
        struct conn *c = &st->conns[st->nconns++];
        memset(c, 0, sizeof(*c));
        c->qd = qr.qr_value.ares.qd;
        c->open = true;
        c->peer_ip = ntohl(qr.qr_value.ares.addr.sin_addr.s_addr);
        c->peer_port = ntohs(qr.qr_value.ares.addr.sin_port);
        c->local_port = l->port;
    }
}

int mg_replay_app_run(struct mg_replay_app_state *st) {
    int done = 0;
    for (unsigned i = 0; i < st->nls; i++)
        done += run_listener(st, &st->ls[i]);
    for (unsigned i = 0; i < st->nconns; i++)
        if (st->conns[i].open)
            done += run_conn(st, &st->conns[i]);
    return done;
}

void mg_replay_app_flow_bytes(const struct mg_replay_app_state *st, uint32_t client_ip, uint16_t client_port,
                              uint16_t server_port, uint64_t *bytes, bool *eof) {
    *bytes = 0;
    *eof = false;
    if (!st)
        return;
    for (unsigned i = 0; i < st->nconns; i++) {
        const struct conn *c = &st->conns[i];
        if (c->peer_ip == client_ip && c->peer_port == client_port && c->local_port == server_port) {
            *bytes += c->bytes;
            *eof = *eof || c->eof;
        }
    }
}

void mg_replay_app_destroy(struct mg_replay_app_state *st) {
    if (!st)
        return;
    for (unsigned i = 0; i < st->nconns; i++)
        conn_close(&st->conns[i]);
    for (unsigned i = 0; i < st->nls; i++)
        demi_close(st->ls[i].qd);
    free(st->conns);
    free(st);
}

const char *mg_replay_app_name(enum mg_replay_app app) {
    switch (app) {
    case MG_REPLAY_APP_ECHO:
        return "echo";
    case MG_REPLAY_APP_SINK:
        return "sink";
    case MG_REPLAY_APP_HTTP:
        return "http";
    default:
        return "auto";
    }
}

int mg_replay_app_parse(const char *name, enum mg_replay_app *out) {
    static const enum mg_replay_app all[] = {MG_REPLAY_APP_AUTO, MG_REPLAY_APP_ECHO, MG_REPLAY_APP_SINK,
                                             MG_REPLAY_APP_HTTP};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(name, mg_replay_app_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -EINVAL;
}
