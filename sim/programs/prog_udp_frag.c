/* sim/programs/prog_udp_frag.c — sim/programs/udp_frag.c built to run inside the simulator. */
#define MARGAY_SIM_MAIN margay_sim_main_udp_frag
#include "margay/sim_program.h"
#include "sim/programs/udp_frag.c"
