/* sim/programs/prog_common.c — examples/common.c built for the simulator (exit and
 * clock_gettime go to the simulator; see margay/sim_program.h). */
#include "margay/sim_program.h"
#include "examples/common.c"
