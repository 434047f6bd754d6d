/* pcap/judge.h — conformance by capture: compares, flow by flow, margay's answers to
 * a recorded client with the recorded server's, at the TCP level. ISNs are
 * normalised (everything is relative to each side's own ISN); window sizes, timing
 * and ACK coalescing are not compared, because the RFCs leave them to the
 * implementation. Option values (MSS, scale factor) are not compared either; whether
 * an option was negotiated is, and margay must never agree to an option the client
 * did not offer. */
#ifndef MARGAY_PCAP_JUDGE_H
#define MARGAY_PCAP_JUDGE_H

#include <stddef.h>

#include "pcap/replay.h"

enum mg_judge_verdict {
    MG_JUDGE_CONFORMS = 0,
    MG_JUDGE_DIFFERS,
    MG_JUDGE_NOT_JUDGED, /* the capture lacks the client's SYN or the server's answer */
};

const char *mg_judge_verdict_name(enum mg_judge_verdict v);
/* Judges one flow; why gets the reasons (all differences, "; "-separated) or, for a
 * conforming flow, what was checked. */
enum mg_judge_verdict mg_judge_flow(const struct mg_replay_flow *fl, char *why, size_t len);
/* Prints one line per flow: "verdict <client> > <server>: <verdict>: <why>".
 * Returns how many flows differ. */
size_t mg_judge_print(FILE *out, const struct mg_replay_result *res);

#endif /* MARGAY_PCAP_JUDGE_H */
