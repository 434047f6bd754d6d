/* sim/programs/prog_xfer.c — sim/programs/xfer.c built to run inside the simulator. */
#define MARGAY_SIM_MAIN margay_sim_main_xfer
#include "margay/sim_program.h"
#include "sim/programs/xfer.c"
