/* pcap/replay_app.h — the built-in applications a replay runs on margay: echo (sends
 * back what it receives), sink (reads and discards) and a minimal HTTP responder.
 * They are ordinary PDPIX programs written as non-blocking state machines (every
 * demi_wait has a zero timeout), so the replay can run them between frames on
 * virtual time. They count the payload each connection delivers, for the judge. */
#ifndef MARGAY_PCAP_REPLAY_APP_H
#define MARGAY_PCAP_REPLAY_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "pcap/replay.h"

struct mg_replay_app_state;

/* Listens on every port of ip (host order) on the current runtime. 0 or -errno. */
int mg_replay_app_create(enum mg_replay_app app, uint32_t ip, const uint16_t *ports, unsigned nports,
                         struct mg_replay_app_state **out);
/* Completes whatever operations are ready and starts the next ones. Returns how
 * many completions it handled (0 = nothing to do). */
int mg_replay_app_run(struct mg_replay_app_state *st);
/* Payload bytes the connection from client_ip:client_port to server_port delivered,
 * and whether it ended with end of stream. Zero when no such connection was accepted. */
void mg_replay_app_flow_bytes(const struct mg_replay_app_state *st, uint32_t client_ip, uint16_t client_port,
                              uint16_t server_port, uint64_t *bytes, bool *eof);
void mg_replay_app_destroy(struct mg_replay_app_state *st);

#endif /* MARGAY_PCAP_REPLAY_APP_H */
