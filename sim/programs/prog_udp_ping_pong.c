/* sim/programs/prog_udp_ping_pong.c — examples/udp-ping-pong.c, unchanged, built to run inside the
 * simulator: the one build step of margay/sim_program.h (main renamed; exit, clocks
 * and sleeps go to the simulator). */
#define MARGAY_SIM_MAIN margay_sim_main_udp_ping_pong
#include "margay/sim_program.h"
#include "examples/udp-ping-pong.c"
