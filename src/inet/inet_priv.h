/* inet/inet_priv.h — what the files of src/inet share among themselves and no one
 * else needs: the transmit queue, the neighbour cache (arp.c), ICMP input (icmp.c)
 * and the address classification the IP layer and its neighbours agree on. */
#ifndef MARGAY_INET_INET_PRIV_H
#define MARGAY_INET_INET_PRIV_H

#include "inet/inet.h"

/* Room every outgoing frame needs in front of its L4 header. */
#define MG_INET_L2L3_ROOM (MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN)

/* Queues a complete Ethernet frame for the device (flushing first when the queue is
 * full). Takes ownership; a frame the device cannot take is dropped and counted. */
void mg_inet_queue_frame(struct mg_inet *inet, struct mg_buf *frame);

/* Whether addr is the limited broadcast or our subnet's directed broadcast. */
bool mg_inet_is_broadcast(const struct mg_inet *inet, uint32_t addr);
/* Whether addr can never be the source of a datagram we accept or answer. */
bool mg_inet_is_bad_source(const struct mg_inet *inet, uint32_t addr);

/* The neighbour a datagram for dst goes to (dst itself on link, else the gateway):
 * 0, or -ENETUNREACH. */
int mg_inet_next_hop(struct mg_inet *inet, uint32_t dst, uint32_t *next_hop);
/* Prepends the IPv4 header (id and flags/offset as given) and Ethernet, and hands
 * the frame to the neighbour cache (or the device, for a broadcast). Takes
 * ownership; 0 or a negative errno (the frame then freed and counted). */
int mg_inet_ipv4_send_packet(struct mg_inet *inet, struct mg_buf *buf, uint32_t dst, uint32_t next_hop, uint8_t proto,
                             uint16_t id, uint16_t frag);

/* ---- neighbour cache (arp.c) ---- */
int mg_arp_create(struct mg_inet *inet, struct mg_arp_cache **out);
void mg_arp_destroy(struct mg_arp_cache *arp);
/* An ARP packet (buf->data at the ARP header); takes ownership. */
void mg_arp_input(struct mg_inet *inet, struct mg_buf *buf);
/* Sends a frame whose Ethernet header is in place except the destination, to the
 * neighbour next_hop: now when its address is known, later when a pending
 * resolution completes. Takes ownership. 0, or a negative errno with the frame
 * dropped and counted (-EHOSTUNREACH: resolution failed; -ENOBUFS: too many frames
 * already wait for it). */
int mg_arp_output(struct mg_inet *inet, uint32_t next_hop, struct mg_buf *frame);
/* A valid IPv4 datagram for us came from src in a frame from `mac`: when the
 * neighbour entry of src's next hop (src on link, else the gateway) holds that very
 * address, the neighbour is there, and its entry lives on (a probing or failed one
 * becomes reachable again). Never learns nor changes an address: only ARP does. */
void mg_arp_confirm(struct mg_inet *inet, uint32_t src, const uint8_t *mac);
/* Looks a neighbour up without side effects (tests, diagnostics): 0 with mac filled
 * when it is resolved, -ENOENT otherwise. */
int mg_arp_lookup(struct mg_arp_cache *arp, uint32_t addr, uint8_t mac[MG_ETH_ALEN]);

/* ---- ICMP (icmp.c) ---- */
/* An ICMP message (buf->data at the ICMP header, trimmed to the IP payload); takes
 * ownership. */
void mg_icmp_input(struct mg_inet *inet, struct mg_buf *buf, const struct mg_ipv4_hdr *ip);

#endif /* MARGAY_INET_INET_PRIV_H */
