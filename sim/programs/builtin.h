/* sim/programs/builtin.h — the programs `margay sim` can run by name: the examples
 * of examples/ and the sweep workload xfer, each built with margay/sim_program.h. */
#ifndef MARGAY_SIM_PROGRAMS_BUILTIN_H
#define MARGAY_SIM_PROGRAMS_BUILTIN_H

#include "sim/world.h"

extern const struct mg_sim_program mg_sim_builtin_programs[];

#endif /* MARGAY_SIM_PROGRAMS_BUILTIN_H */
