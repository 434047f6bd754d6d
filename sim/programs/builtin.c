/* sim/programs/builtin.c — the table of programs built into `margay sim`. A user's own
 * program is added the same way: compile it with margay/sim_program.h and list its
 * renamed main here or in a table of its own (doc/sim.md). */
#include "sim/programs/builtin.h"

int margay_sim_main_tcp_echo(int argc, char **argv);
int margay_sim_main_tcp_push_pop(int argc, char **argv);
int margay_sim_main_tcp_ping_pong(int argc, char **argv);
int margay_sim_main_udp_push_pop(int argc, char **argv);
int margay_sim_main_udp_ping_pong(int argc, char **argv);
int margay_sim_main_xfer(int argc, char **argv);
int margay_sim_main_udp_frag(int argc, char **argv);
int margay_sim_main_crash(int argc, char **argv);

const struct mg_sim_program mg_sim_builtin_programs[] = {
    {"tcp-echo", margay_sim_main_tcp_echo, "examples/tcp-echo.c: echo server and clients"},
    {"tcp-push-pop", margay_sim_main_tcp_push_pop, "examples/tcp-push-pop.c: one-way TCP stream"},
    {"tcp-ping-pong", margay_sim_main_tcp_ping_pong, "examples/tcp-ping-pong.c: TCP request/response"},
    {"udp-push-pop", margay_sim_main_udp_push_pop, "examples/udp-push-pop.c: one-way UDP datagrams"},
    {"udp-ping-pong", margay_sim_main_udp_ping_pong, "examples/udp-ping-pong.c: UDP request/response"},
    {"xfer", margay_sim_main_xfer, "sim/programs/xfer.c: checked transfers both ways on N connections"},
    {"udp-frag", margay_sim_main_udp_frag, "sim/programs/udp_frag.c: UDP datagrams past the MTU, each arrival checked"},
    {"crash", margay_sim_main_crash, "sim/programs/crash.c: dies on purpose (tests how a crash is reported)"},
    {NULL, NULL, NULL},
};
