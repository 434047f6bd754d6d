/* inet/udp.h — UDP sockets over the stack: bind, sendto, recvfrom with the sender's
 * address, checksums (or offload), ICMP port unreachable for closed ports. */
#ifndef MARGAY_INET_UDP_H
#define MARGAY_INET_UDP_H

#include <stdint.h>

#include "core/buf.h"
#include "wire/wire.h"

struct mg_inet;
struct mg_udp_layer;
struct mg_udp_sock;

enum { MG_UDP_EV_READABLE = 1u << 0 };
/* The most payload one datagram carries over IPv4: 65535 - 20 - 8. */
#define MG_UDP_MAX_PAYLOAD 65507u
typedef void (*mg_udp_notify_fn)(struct mg_udp_sock *sock, unsigned events, void *user);

int mg_udp_layer_create(struct mg_inet *inet, struct mg_udp_layer **out);
void mg_udp_layer_destroy(struct mg_udp_layer *udp);
/* buf->data at the UDP header; takes ownership. */
void mg_udp_input(struct mg_udp_layer *udp, struct mg_buf *buf, const struct mg_ipv4_hdr *ip);

struct mg_udp_sock *mg_udp_open(struct mg_udp_layer *udp, mg_udp_notify_fn notify, void *user);
/* port 0 = ephemeral. -EADDRINUSE, -EADDRNOTAVAIL. */
int mg_udp_bind(struct mg_udp_sock *s, uint32_t addr, uint16_t port);
/* Sends `len` bytes at `data` (which may lie inside `buf`, a buffer the caller keeps)
 * to addr:port; binds an ephemeral port first if unbound. Zero copy when buf has
 * headroom and no one else holds it and the datagram fits the MTU; in IPv4
 * fragments (copied) when it does not. 0 or a negative errno (-EMSGSIZE past
 * MG_UDP_MAX_PAYLOAD). */
int mg_udp_sendto(struct mg_udp_sock *s, struct mg_buf *buf, const uint8_t *data, uint32_t len, uint32_t addr,
                  uint16_t port);
/* One datagram: > = 0 bytes with *out set (caller owns), or -EAGAIN. */
int mg_udp_recvfrom(struct mg_udp_sock *s, struct mg_buf **out, uint32_t *addr, uint16_t *port);
void mg_udp_close(struct mg_udp_sock *s);
int mg_udp_local(const struct mg_udp_sock *s, uint32_t *addr, uint16_t *port);

#endif /* MARGAY_INET_UDP_H */
