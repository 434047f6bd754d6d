/* wire/tcp_opts.h — TCP option codec shared by tcp.c and the tests.
 * Internal to src/wire; the stack uses mg_tcp_parse / mg_tcp_build, which call
 * these for the options area of the header. */
#ifndef MARGAY_WIRE_TCP_OPTS_H
#define MARGAY_WIRE_TCP_OPTS_H

#include "wire/wire.h"

#define MG_TCP_MAX_OPTS_LEN (MG_TCP_MAX_HDR_LEN - MG_TCP_HDR_LEN)

/* Parses the options area p[0..len) (the bytes between the fixed header and the
 * data offset) into *out, which it clears first. 0 or -EBADMSG. */
int mg_tcp_opts_parse(const uint8_t *p, size_t len, struct mg_tcp_opts *out);
/* Writes exactly mg_tcp_opts_len(o) bytes; 0 if they do not fit in len. */
size_t mg_tcp_opts_build(uint8_t *p, size_t len, const struct mg_tcp_opts *o);
/* How many of o's SACK blocks build writes: all of them (at most 4) when they fit
 * in the 40 option bytes next to the other options, else the leading ones that do. */
uint8_t mg_tcp_opts_sack_blocks_sent(const struct mg_tcp_opts *o);

#endif /* MARGAY_WIRE_TCP_OPTS_H */
