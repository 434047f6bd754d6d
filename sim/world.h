/* sim/world.h — one simulated run: N hosts (each a full margay stack with the inet
 * libOS) on one simulated switch, each joined to it by a link of its own (link i:
 * host i <-> switch; a run can capture each link to a pcapng file), the fault model
 * on every direction between two hosts, a schedule of partitions, and unmodified
 * PDPIX programs running on the hosts as coroutines.
 *
 * Everything that happens is decided by the seed: the link's and every fault model's
 * random sources, every host's runtime (ISNs, ports) and the order in which the
 * scheduler runs things. Time is virtual: when nothing can happen now, the clock
 * jumps to the next event (a frame arriving, a timer, a process's timeout, a
 * partition). Same seed, same binary: the same frames, byte for byte, the same trace. */
#ifndef MARGAY_SIM_WORLD_H
#define MARGAY_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "drivers/fault.h"

#define MG_SIM_MAX_HOSTS 16
#define MG_SIM_MAX_PROCS 32
#define MG_SIM_MAX_ARGS 32
#define MG_SIM_MAX_PARTITIONS 32
#define MG_SIM_MAX_STACK_CONFIG 32

struct mg_config;

/* A piece of stack configuration every simulated host applies: one YAML document
 * with the configuration file's keys (doc/man5/margay-config.5). */
struct mg_sim_stack_config {
    char *yaml;
    size_t len;
    char *source; /* where it came from, for messages: a file's path or a scenario line */
};

/* A program the simulator can run: a renamed main (see margay/sim_program.h). */
struct mg_sim_program {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

struct mg_sim_proc_spec {
    unsigned host;
    bool daemon; /* the run does not wait for it to exit (a server) */
    int argc;    /* argv[0] is the program's name; "{seed}" in an argument becomes the run's seed */
    char *argv[MG_SIM_MAX_ARGS + 1];
};

/* From at_ns (simulated time since the start) until heal_ns (0 = never), host a
 * cannot reach host b nor b reach a; b == MG_SIM_ALL_HOSTS cuts a off from everyone. */
#define MG_SIM_ALL_HOSTS 0xffffu
struct mg_sim_partition {
    uint64_t at_ns, heal_ns;
    unsigned a, b;
};

struct mg_sim_scenario {
    unsigned nhosts;              /* host i is 10.0.0.(i+1)/24, MAC 02:00:00:00:00:(i+1) */
    struct mg_fault_params fault; /* every direction between two hosts */
    struct mg_sim_proc_spec procs[MG_SIM_MAX_PROCS];
    unsigned nprocs;
    struct mg_sim_partition partitions[MG_SIM_MAX_PARTITIONS];
    unsigned npartitions;
    /* Applied in order over the defaults on every host; the simulator then sets each
     * host's libOS, device, address, netmask and seed itself. */
    struct mg_sim_stack_config stack_config[MG_SIM_MAX_STACK_CONFIG];
    unsigned nstack_config;
    uint64_t duration_ns;                  /* fail if the processes have not finished by then; 0 = 10 min */
    uint64_t hang_ns;                      /* fail if no process makes progress for this long; 0 = 2 min */
    const char *pcap_prefix;               /* NULL: no captures; else <prefix>-link-host<i>-switch.pcapng per link */
    const char *trace_path;                /* NULL: no trace; "-" = stdout */
    bool trace_frames;                     /* trace every frame event too, not only process events */
    const struct mg_sim_program *programs; /* table ending with a NULL name */
};

enum mg_sim_outcome { MG_SIM_PASSED = 0, MG_SIM_FAILED = 1, MG_SIM_SETUP_ERROR = 2 };

struct mg_sim_result {
    enum mg_sim_outcome outcome;
    char why[512];   /* the first failure, one line */
    uint64_t sim_ns; /* simulated time the run took */
    uint64_t frames; /* frames put on the wire */
    uint64_t rounds; /* scheduler rounds */
    double wall_s;
};

/* Runs the scenario with one seed. The programs' stdout/stderr are the process's. */
void mg_sim_run(const struct mg_sim_scenario *sc, uint64_t seed, struct mg_sim_result *out);

/* Applies the scenario's pieces of stack configuration in order over *cfg (a host
 * starts from the defaults). 0, or -EINVAL with the loader's message (source, line,
 * key). */
int mg_sim_stack_config_apply(const struct mg_sim_scenario *sc, struct mg_config *cfg, char *err, size_t errlen);

/* Looks a program up by name in a table; NULL if absent. */
const struct mg_sim_program *mg_sim_program_find(const struct mg_sim_program *table, const char *name);

#endif /* MARGAY_SIM_WORLD_H */
