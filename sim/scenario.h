/* sim/scenario.h — describing a simulated run in words: the options of `margay sim`,
 * given as command-line flags (--loss 0.1) or as lines of a scenario file (loss 0.1),
 * parsed into a struct mg_sim_scenario. Also the seeded randomisation of faults that
 * seed sweeps use: from one seed, a fault mix within the limits the scenario sets. */
#ifndef MARGAY_SIM_SCENARIO_H
#define MARGAY_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "sim/world.h"

/* What randomize draws from, per seed. */
struct mg_sim_random_faults {
    bool enabled;
    double max_loss;    /* independent loss in [0, max_loss] */
    bool partition;     /* a partition between two random hosts that heals */
};

struct mg_sim_options {
    struct mg_sim_scenario sc;
    struct mg_sim_random_faults random;
    bool hosts_set;
};

/* Defaults: 2 hosts, 50 us latency, no faults. */
void mg_sim_options_init(struct mg_sim_options *o);
/* Frees the argument strings the processes hold. */
void mg_sim_options_free(struct mg_sim_options *o);
/* One option by name (without the leading --) with its value (NULL for a flag).
 * 0, or -EINVAL with a message in err. *used_value says whether value was consumed. */
int mg_sim_option(struct mg_sim_options *o, const char *key, const char *value, bool *used_value, char *err,
                  size_t errlen);
/* Every line of a scenario file: `key value`, `#` comments. 0 or -errno with err set. */
int mg_sim_options_load_file(struct mg_sim_options *o, const char *path, char *err, size_t errlen);
/* Fills in what depends on everything else (host count from the processes). */
int mg_sim_options_finish(struct mg_sim_options *o, char *err, size_t errlen);
/* The scenario one seed runs: sc with the random faults of that seed applied. */
void mg_sim_scenario_for_seed(const struct mg_sim_options *o, uint64_t seed, struct mg_sim_scenario *out);
/* Parses 10, 10s, 250ms, 40us, 100ns, 2m, 1h into nanoseconds. */
int mg_sim_parse_duration(const char *s, uint64_t *ns);

#endif /* MARGAY_SIM_SCENARIO_H */
