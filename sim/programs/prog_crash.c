/* sim/programs/prog_crash.c — sim/programs/crash.c built to run inside the simulator. */
#define MARGAY_SIM_MAIN margay_sim_main_crash
#include "margay/sim_program.h"
#include "sim/programs/crash.c"
