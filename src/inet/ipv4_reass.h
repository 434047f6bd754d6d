/* inet/ipv4_reass.h — IPv4 fragment reassembly (RFC 791, RFC 815) for one stack.
 * Fragments are held in the buffers they arrived in until their datagram is
 * complete, then copied once into one buffer that goes up the stack exactly as an
 * unfragmented datagram would. Everything an attacker can make it hold is bounded
 * by the stack's configuration (inetstack_config.ipv4_reassembly_*). */
#ifndef MARGAY_INET_IPV4_REASS_H
#define MARGAY_INET_IPV4_REASS_H

#include <stdint.h>

#include "core/buf.h"
#include "wire/wire.h"

struct mg_inet;
struct mg_ipv4_reass;

/* Creates the reassembly state from inet->cfg (slots, bounds, and the arena for
 * datagrams larger than a device buffer). 0 or -ENOMEM; *out is NULL when the
 * configuration disables reassembly (ipv4_reassembly_max_datagrams 0). */
int mg_ipv4_reass_create(struct mg_inet *inet, struct mg_ipv4_reass **out);
/* Frees every held fragment and the arena; call before the timers are finalized. */
void mg_ipv4_reass_destroy(struct mg_ipv4_reass *r);

/* A fragment for us: buf->data at its (valid) IPv4 header, trimmed to total_len.
 * Takes ownership. Returns NULL when the fragment is held or dropped (counted), or
 * the complete datagram: buf->data at its IPv4 header, now rewritten as
 * unfragmented (total length, no MF, offset 0, checksum), with *ip updated. */
struct mg_buf *mg_ipv4_reass_input(struct mg_ipv4_reass *r, struct mg_buf *buf, struct mg_ipv4_hdr *ip);

/* Datagrams being reassembled, and the fragment buffers they hold (tests). */
uint32_t mg_ipv4_reass_pending(const struct mg_ipv4_reass *r);
uint32_t mg_ipv4_reass_buffers_held(const struct mg_ipv4_reass *r);
/* Arena buffers not back in the arena (held by the stack or the application). */
uint32_t mg_ipv4_reass_arena_in_use(const struct mg_ipv4_reass *r);

#endif /* MARGAY_INET_IPV4_REASS_H */
