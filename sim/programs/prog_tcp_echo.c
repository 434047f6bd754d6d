/* sim/programs/prog_tcp_echo.c — examples/tcp-echo.c, unchanged, built to run inside the
 * simulator: the one build step of margay/sim_program.h (main renamed; exit, clocks
 * and sleeps go to the simulator). */
#define MARGAY_SIM_MAIN margay_sim_main_tcp_echo
#include "margay/sim_program.h"
#include "examples/tcp-echo.c"
