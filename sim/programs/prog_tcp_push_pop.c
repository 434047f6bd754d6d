/* sim/programs/prog_tcp_push_pop.c — examples/tcp-push-pop.c, unchanged, built to run inside the
 * simulator: the one build step of margay/sim_program.h (main renamed; exit, clocks
 * and sleeps go to the simulator). */
#define MARGAY_SIM_MAIN margay_sim_main_tcp_push_pop
#include "margay/sim_program.h"
#include "examples/tcp-push-pop.c"
