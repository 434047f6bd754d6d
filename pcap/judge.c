/* pcap/judge.c — per-flow TCP conformance verdicts (see judge.h). */
#include "config.h"

#include "pcap/judge.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *mg_judge_verdict_name(enum mg_judge_verdict v) {
    switch (v) {
    case MG_JUDGE_CONFORMS:
        return "conforms";
    case MG_JUDGE_DIFFERS:
        return "differs";
    default:
        return "not judged";
    }
}

struct why {
    char *buf;
    size_t len, used;
    unsigned count;
};

static void add(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct why *w, const char *fmt, ...) {
    if (w->used >= w->len)
        return;
    if (w->count++ > 0) {
        int n = snprintf(w->buf + w->used, w->len - w->used, "; ");
        w->used += n > 0 ? (size_t)n : 0;
        if (w->used >= w->len)
            return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->used, w->len - w->used, fmt, ap);
    va_end(ap);
    w->used += n > 0 ? (size_t)n : 0;
}

static const char *handshake_name(const struct mg_replay_side *s) {
    if (s->answered_syn)
        return "accepted";
    if (s->refused_syn)
        return "refused";
    return "unanswered";
}

/* Options an answer may carry only when the SYN offered them (RFC 7323 1.3, 2018 2);
 * declining an offered option is the server's right, so a different choice from the
 * recorded server's is a note, not a difference. */
static void judge_options(const struct mg_replay_flow *fl, struct why *w, struct why *notes) {
    const struct mg_tcp_opts *c = &fl->client_syn_opts, *m = &fl->margay.synack_opts, *r = &fl->recorded.synack_opts;
    if (m->has_wscale && !c->has_wscale)
        add(w, "margay sent window scale the client did not offer");
    if (m->sack_permitted && !c->sack_permitted)
        add(w, "margay sent SACK-permitted the client did not offer");
    if (m->has_timestamp && !c->has_timestamp)
        add(w, "margay sent timestamps the client did not offer");
    if (!m->has_mss)
        add(w, "margay's SYN-ACK has no MSS option");
    if (c->has_wscale && r->has_wscale != m->has_wscale)
        add(notes, "window scaling negotiated by %s only", m->has_wscale ? "margay" : "the recorded server");
    if (c->sack_permitted && r->sack_permitted != m->sack_permitted)
        add(notes, "SACK negotiated by %s only", m->sack_permitted ? "margay" : "the recorded server");
    if (c->has_timestamp && r->has_timestamp != m->has_timestamp)
        add(notes, "timestamps negotiated by %s only", m->has_timestamp ? "margay" : "the recorded server");
}

enum mg_judge_verdict mg_judge_flow(const struct mg_replay_flow *fl, char *buf, size_t len) {
    struct why w = {.buf = buf, .len = len};
    if (len)
        buf[0] = '\0';
    if (!fl->client_syn) {
        add(&w, "the capture has no SYN from the client");
        return MG_JUDGE_NOT_JUDGED;
    }
    const struct mg_replay_side *r = &fl->recorded, *m = &fl->margay;
    if (!r->answered_syn && !r->refused_syn) {
        add(&w, "the capture has no answer from the server to judge against (margay %s the SYN)", handshake_name(m));
        return MG_JUDGE_NOT_JUDGED;
    }
    if (r->answered_syn != m->answered_syn || r->refused_syn != m->refused_syn) {
        add(&w, "handshake %s by the recorded server, %s by margay", handshake_name(r), handshake_name(m));
        return MG_JUDGE_DIFFERS;
    }
    if (!r->answered_syn) {
        add(&w, "handshake refused by both");
        return MG_JUDGE_CONFORMS;
    }
    char note_buf[256] = "";
    struct why notes = {.buf = note_buf, .len = sizeof(note_buf)};
    judge_options(fl, &w, &notes);
    if (r->max_ack_rel != m->max_ack_rel)
        add(&w, "acknowledged %u payload bytes, the recorded server %u", m->max_ack_rel, r->max_ack_rel);
    if (m->ack_went_back)
        add(&w, "margay's acknowledgments went backwards");
    /* A user's program reads at its own pace: what it was given is not measured. */
    if (fl->app_known && fl->app_bytes != r->max_ack_rel && !(m->rst && fl->app_bytes <= r->max_ack_rel))
        add(&w, "delivered %llu payload bytes to the application, the recorded server acknowledged %u",
            (unsigned long long)fl->app_bytes, r->max_ack_rel);
    if (r->fin != m->fin)
        add(&w, "%s sent a FIN, %s did not", r->fin ? "the recorded server" : "margay",
            r->fin ? "margay" : "the recorded server");
    if (r->rst != m->rst)
        add(&w, "%s sent a RST, %s did not", r->rst ? "the recorded server" : "margay",
            r->rst ? "margay" : "the recorded server");
    if (w.count > 0) {
        if (notes.count)
            add(&w, "(note: %s)", note_buf);
        return MG_JUDGE_DIFFERS;
    }
    snprintf(buf, len, "handshake accepted by both, %u payload bytes acknowledged%s%s%s%s%s%s", m->max_ack_rel,
             fl->app_known ? " and delivered" : "", m->fin ? ", FIN by both" : "", m->rst ? ", RST by both" : "",
             notes.count ? " (note: " : "", note_buf, notes.count ? ")" : "");
    return MG_JUDGE_CONFORMS;
}

size_t mg_judge_print(FILE *out, const struct mg_replay_result *res) {
    size_t differ = 0;
    for (size_t i = 0; i < res->nflows; i++) {
        const struct mg_replay_flow *fl = &res->flows[i];
        char why[1024];
        enum mg_judge_verdict v = mg_judge_flow(fl, why, sizeof(why));
        if (v == MG_JUDGE_DIFFERS)
            differ++;
        uint32_t c = fl->client_ip, s = fl->server_ip;
        fprintf(out, "verdict    %u.%u.%u.%u:%u > %u.%u.%u.%u:%u: %s: %s\n", c >> 24, (c >> 16) & 255, (c >> 8) & 255,
                c & 255, fl->client_port, s >> 24, (s >> 16) & 255, (s >> 8) & 255, s & 255, fl->server_port,
                mg_judge_verdict_name(v), why);
    }
    return differ;
}
