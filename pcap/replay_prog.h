/* pcap/replay_prog.h — a user's PDPIX program as the application of a replay, in
 * place of the built-in echo, sink or HTTP responder.
 *
 * The program (compiled with margay/sim_program.h, loaded with
 * mg_sim_program_load) runs as a coroutine the way the simulator runs its processes,
 * with the simulator's shared pieces (sim/program.h, sim/coro.h, core/sim_hooks.h):
 * its demi_init gets the replay's runtime, its demi_wait gives control back to the
 * replay, which resumes it when one of its operations completed or its timeout (or
 * sleep) is due on the capture's timeline; its clocks read the replay's virtual time
 * and exit() ends only the program. The replay decides when time moves. */
#ifndef MARGAY_PCAP_REPLAY_PROG_H
#define MARGAY_PCAP_REPLAY_PROG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "pcap/replay.h"

struct mg_rt;
struct mg_replay_prog;

/* Installs the hooks and starts the program (it first runs at the first
 * mg_replay_prog_run) with argv[0] = its name and its arguments, each "{ip}" replaced
 * by the endpoint's address (host order). 0 or -errno. */
int mg_replay_prog_start(const struct mg_replay_program *pg, uint32_t endpoint_ip, struct mg_rt *rt,
                         struct mg_clock *clock, struct mg_replay_prog **out);
/* Resumes the program if it may go on now. 1 when it made progress (started a new
 * wait, or ended), 0 otherwise. */
int mg_replay_prog_run(struct mg_replay_prog *p);
/* When the program wants to run again by itself (its wait's timeout or its sleep);
 * UINT64_MAX when it waits without a timeout or has ended. */
uint64_t mg_replay_prog_deadline(const struct mg_replay_prog *p);
/* True once the program returned from main or called exit; *status gets its status. */
bool mg_replay_prog_ended(const struct mg_replay_prog *p, int *status);
/* Removes the hooks and frees the program (a program still blocked is abandoned). */
void mg_replay_prog_stop(struct mg_replay_prog *p);

#endif /* MARGAY_PCAP_REPLAY_PROG_H */
