/* sim/scenario.c — parsing the options of a simulated run (see scenario.h). Every
 * option has one name that works both as `--name value` on the command line and as
 * `name value` in a scenario file, so a scenario can be tried on the command line
 * and then saved without translation. */
#include "sim/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/random.h"

void mg_sim_options_init(struct mg_sim_options *o) {
    memset(o, 0, sizeof(*o));
    o->sc.nhosts = 2;
    o->sc.fault.delay_ns = 50 * MG_NS_PER_US;
    o->random.max_loss = 0.3;
}

static void stack_config_free(struct mg_sim_stack_config *p) {
    free(p->yaml);
    free(p->source);
    memset(p, 0, sizeof(*p));
}

void mg_sim_options_free(struct mg_sim_options *o) {
    for (unsigned i = 0; i < o->sc.nprocs; i++)
        for (int a = 0; a < o->sc.procs[i].argc; a++)
            free(o->sc.procs[i].argv[a]);
    o->sc.nprocs = 0;
    for (unsigned i = 0; i < o->sc.nstack_config; i++)
        stack_config_free(&o->sc.stack_config[i]);
    o->sc.nstack_config = 0;
}

int mg_sim_parse_duration(const char *s, uint64_t *ns) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -EINVAL;
    double scale = 1e9;
    if (!strcmp(end, "ns"))
        scale = 1;
    else if (!strcmp(end, "us"))
        scale = 1e3;
    else if (!strcmp(end, "ms"))
        scale = 1e6;
    else if (!strcmp(end, "m"))
        scale = 60e9;
    else if (!strcmp(end, "h"))
        scale = 3600e9;
    else if (*end && strcmp(end, "s"))
        return -EINVAL;
    if (v * scale > 1e18)
        return -EINVAL;
    *ns = (uint64_t)(v * scale + 0.5);
    return 0;
}

static int parse_prob(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 1))
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -EINVAL;
    *out = v;
    return 0;
}

/* HOST:PROGRAM ARG... split on blanks. */
static int parse_proc(struct mg_sim_options *o, const char *v, bool daemon, char *err, size_t errlen) {
    if (o->sc.nprocs == MG_SIM_MAX_PROCS) {
        snprintf(err, errlen, "too many processes (at most %d)", MG_SIM_MAX_PROCS);
        return -EINVAL;
    }
    char *end;
    unsigned long host = strtoul(v, &end, 10);
    if (end == v || *end != ':' || host >= MG_SIM_MAX_HOSTS) {
        snprintf(err, errlen, "process '%s': say HOST:PROGRAM ARGS, HOST a number below %d", v, MG_SIM_MAX_HOSTS);
        return -EINVAL;
    }
    struct mg_sim_proc_spec *p = &o->sc.procs[o->sc.nprocs];
    memset(p, 0, sizeof(*p));
    p->host = (unsigned)host;
    p->daemon = daemon;
    const char *s = end + 1;
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        const char *start = s;
        while (*s && !isspace((unsigned char)*s))
            s++;
        if (p->argc == MG_SIM_MAX_ARGS) {
            snprintf(err, errlen, "process '%s': too many arguments", v);
            return -EINVAL;
        }
        p->argv[p->argc++] = strndup(start, (size_t)(s - start));
    }
    if (p->argc == 0) {
        snprintf(err, errlen, "process '%s': no program named", v);
        return -EINVAL;
    }
    if (p->host + 1 > o->sc.nhosts && !o->hosts_set)
        o->sc.nhosts = p->host + 1;
    o->sc.nprocs++;
    return 0;
}

/* A-B@START[+LENGTH], B may be '*' (everyone). */
static int parse_partition(struct mg_sim_options *o, const char *v, char *err, size_t errlen) {
    if (o->sc.npartitions == MG_SIM_MAX_PARTITIONS) {
        snprintf(err, errlen, "too many partitions");
        return -EINVAL;
    }
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", v);
    char *at = strchr(buf, '@'), *dash = strchr(buf, '-');
    if (!at || !dash || dash > at)
        goto bad;
    *at = *dash = '\0';
    char *plus = strchr(at + 1, '+');
    if (plus)
        *plus = '\0';
    struct mg_sim_partition p = {0};
    uint64_t a, b = MG_SIM_ALL_HOSTS;
    if (parse_u64(buf, &a) || a >= MG_SIM_MAX_HOSTS || (strcmp(dash + 1, "*") && parse_u64(dash + 1, &b)) ||
        mg_sim_parse_duration(at + 1, &p.at_ns))
        goto bad;
    uint64_t len = 0;
    if (plus && (mg_sim_parse_duration(plus + 1, &len) || len == 0))
        goto bad;
    p.a = (unsigned)a;
    p.b = (unsigned)b;
    p.heal_ns = plus ? p.at_ns + len : 0;
    o->sc.partitions[o->sc.npartitions++] = p;
    return 0;
bad:
    snprintf(err, errlen, "partition '%s': say A-B@START[+LENGTH], e.g. 0-1@2s+3s or 0-*@1s", v);
    return -EINVAL;
}

/* ---- stack configuration for every host ---- */

/* Loads the scenario's stack configuration as a host will, and refuses what the
 * simulator sets on every host itself (refused rather than silently overridden). One
 * load does both: the pieces go over the defaults with the libOS and device names
 * replaced by a value no key can set (loading never checks those names), so setting
 * them, even to their defaults, shows. 0, or -EINVAL with err naming the problem. */
static int check_stack_config(const struct mg_sim_scenario *sc, const char *source, char *err, size_t errlen) {
    static const char unset[] = "\x01";
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    snprintf(cfg.libos, sizeof(cfg.libos), "%s", unset);
    snprintf(cfg.netdev, sizeof(cfg.netdev), "%s", unset);
    int rc = mg_sim_stack_config_apply(sc, &cfg, err, errlen);
    const char *what = NULL;
    if (rc < 0)
        what = NULL; /* err already names the file or option, line and key */
    else if (strcmp(cfg.libos, unset) || strcmp(cfg.netdev, unset))
        what = "margay.libos and margay.netdev are the simulator's: every host runs the inet libOS on its link";
    else if (cfg.local_ipv4_addr || cfg.ipv4_netmask || cfg.local_link_addr_set)
        what = "addresses are the simulator's: host i is 10.0.0.(i+1)/24 with MAC 02:00:00:00:00:(i+1)";
    else if (cfg.seed_set)
        what = "margay.seed is the simulator's: the run's seed decides every host's";
    else if (cfg.capture_path[0])
        what = "margay.capture: use --pcap PREFIX (one capture per link)";
    else if (mg_config_fault_enabled(&cfg))
        what = "margay.fault: use the scenario's fault options (--loss, --burst, ...)";
    mg_config_free(&cfg);
    if (what) {
        snprintf(err, errlen, "%s: %s", source, what);
        rc = -EINVAL;
    }
    return rc;
}

/* Appends one piece (taking ownership of yaml and source) and checks the pieces so far,
 * so a mistake is reported once, when the scenario is read. */
static int add_stack_config(struct mg_sim_options *o, char *yaml, size_t len, char *source, char *err, size_t errlen) {
    if (o->sc.nstack_config == MG_SIM_MAX_STACK_CONFIG) {
        snprintf(err, errlen, "%s: at most %d pieces of stack configuration", source, MG_SIM_MAX_STACK_CONFIG);
        free(yaml);
        free(source);
        return -EINVAL;
    }
    struct mg_sim_stack_config *p = &o->sc.stack_config[o->sc.nstack_config++];
    *p = (struct mg_sim_stack_config){.yaml = yaml, .len = len, .source = source};
    int rc = check_stack_config(&o->sc, p->source, err, errlen);
    if (rc < 0) {
        stack_config_free(p);
        o->sc.nstack_config--;
    }
    return rc;
}

static bool config_key_char(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* `stack KEY VALUE` or `stack KEY=VALUE`: one key of the configuration file, dotted
 * (tcp.retries, tcp_socket_options.nodelay), turned into a YAML document. */
static int parse_stack_key(struct mg_sim_options *o, const char *v, char *err, size_t errlen) {
    size_t klen = strcspn(v, "= \t");
    const char *value = v + klen;
    while (*value == '=' || *value == ' ' || *value == '\t')
        value++;
    bool ok = klen > 0 && *value && v[0] != '.' && v[klen - 1] != '.';
    for (size_t i = 0; ok && i < klen; i++)
        ok = config_key_char(v[i]) || (v[i] == '.' && v[i + 1] != '.');
    if (!ok) {
        snprintf(err, errlen, "stack '%s': say KEY VALUE with a configuration file key, e.g. tcp.retries 30", v);
        return -EINVAL;
    }
    size_t cap = 3 * klen + strlen(value) + 64;
    char *yaml = malloc(cap), *source = malloc(strlen(v) + 16);
    if (!yaml || !source) {
        free(yaml);
        free(source);
        snprintf(err, errlen, "stack: out of memory");
        return -ENOMEM;
    }
    size_t n = 0, depth = 0;
    for (size_t i = 0, start = 0; i <= klen; i++) {
        if (i < klen && v[i] != '.')
            continue;
        n += (size_t)snprintf(yaml + n, cap - n, "%*s%.*s:%s", (int)(2 * depth), "", (int)(i - start), v + start,
                              i < klen ? "\n" : " ");
        depth++;
        start = i + 1;
    }
    n += (size_t)snprintf(yaml + n, cap - n, "%s\n", value);
    sprintf(source, "stack %s", v);
    return add_stack_config(o, yaml, n, source, err, errlen);
}

/* `config FILE`: a margay configuration file for every host, read once. */
static int parse_stack_file(struct mg_sim_options *o, const char *path, char *err, size_t errlen) {
    enum { MAX_CONFIG_FILE = 1 << 20 };
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "config %s: %s", path, strerror(e));
        return -e;
    }
    char *yaml = malloc(MAX_CONFIG_FILE + 1);
    size_t len = yaml ? fread(yaml, 1, MAX_CONFIG_FILE + 1, f) : 0;
    bool failed = !yaml || ferror(f);
    fclose(f);
    if (failed || len > MAX_CONFIG_FILE) {
        snprintf(err, errlen, "config %s: %s", path, failed ? "cannot read it" : "larger than 1 MiB");
        free(yaml);
        return -EINVAL;
    }
    char *source = strdup(path);
    if (!source) {
        free(yaml);
        snprintf(err, errlen, "config: out of memory");
        return -ENOMEM;
    }
    return add_stack_config(o, yaml, len, source, err, errlen);
}

int mg_sim_option(struct mg_sim_options *o, const char *key, const char *v, bool *used, char *err, size_t errlen) {
    struct mg_fault_params *f = &o->sc.fault;
    *used = true;
    int rc = 0;
    uint64_t u = 0;
    if (!strcmp(key, "trace-frames")) {
        o->sc.trace_frames = true;
        *used = false;
        return 0;
    }
    if (!strcmp(key, "random-faults")) {
        o->random.enabled = true;
        o->random.partition = true;
        *used = false;
        return 0;
    }
    if (!v) {
        snprintf(err, errlen, "option %s needs a value", key);
        return -EINVAL;
    }
    if (!strcmp(key, "hosts")) {
        rc = parse_u64(v, &u);
        if (!rc && (u < 1 || u > MG_SIM_MAX_HOSTS))
            rc = -EINVAL;
        o->sc.nhosts = (unsigned)u;
        o->hosts_set = true;
    } else if (!strcmp(key, "proc") || !strcmp(key, "daemon")) {
        return parse_proc(o, v, key[0] == 'd', err, errlen);
    } else if (!strcmp(key, "partition")) {
        return parse_partition(o, v, err, errlen);
    } else if (!strcmp(key, "stack")) {
        return parse_stack_key(o, v, err, errlen);
    } else if (!strcmp(key, "config")) {
        return parse_stack_file(o, v, err, errlen);
    } else if (!strcmp(key, "loss")) {
        rc = parse_prob(v, &f->loss);
    } else if (!strcmp(key, "burst")) {
        f->burst = true;
        rc = sscanf(v, "%lf,%lf,%lf", &f->burst_enter, &f->burst_exit, &f->burst_loss) == 3 ? 0 : -EINVAL;
    } else if (!strcmp(key, "duplicate")) {
        rc = parse_prob(v, &f->duplicate);
    } else if (!strcmp(key, "corrupt")) {
        rc = parse_prob(v, &f->corrupt);
    } else if (!strcmp(key, "reorder")) {
        char p[64];
        snprintf(p, sizeof(p), "%s", v);
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        rc = parse_prob(p, &f->reorder);
        if (!rc)
            rc = comma ? mg_sim_parse_duration(comma + 1, &f->reorder_delay_ns) : 0;
        if (!rc && !f->reorder_delay_ns)
            f->reorder_delay_ns = 200 * MG_NS_PER_US;
    } else if (!strcmp(key, "latency")) {
        rc = mg_sim_parse_duration(v, &f->delay_ns);
    } else if (!strcmp(key, "jitter")) {
        rc = mg_sim_parse_duration(v, &f->jitter_ns);
    } else if (!strcmp(key, "rate")) {
        rc = parse_u64(v, &f->rate_bps);
    } else if (!strcmp(key, "queue")) {
        rc = parse_u64(v, &u);
        if (!rc && u > UINT32_MAX)
            rc = -EINVAL;
        f->queue_bytes = (uint32_t)u;
    } else if (!strcmp(key, "mtu")) {
        rc = parse_u64(v, &u);
        if (!rc && (u < 68 || u > 9000))
            rc = -EINVAL;
        f->mtu = (uint32_t)u;
    } else if (!strcmp(key, "duration")) {
        rc = mg_sim_parse_duration(v, &o->sc.duration_ns);
    } else if (!strcmp(key, "hang")) {
        rc = mg_sim_parse_duration(v, &o->sc.hang_ns);
    } else if (!strcmp(key, "max-loss")) {
        rc = parse_prob(v, &o->random.max_loss);
    } else {
        *used = false;
        snprintf(err, errlen, "unknown option '%s'", key);
        return -EINVAL;
    }
    if (rc)
        snprintf(err, errlen, "bad value for %s: '%s'", key, v);
    return rc;
}

int mg_sim_options_load_file(struct mg_sim_options *o, const char *path, char *err, size_t errlen) {
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        snprintf(err, errlen, "cannot open scenario %s: %s", path, strerror(e));
        return -e;
    }
    char line[1024];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), fp)) {
        lineno++;
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        char *end = s + strlen(s);
        while (end > s && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!*s || *s == '#')
            continue;
        char *value = s;
        while (*value && !isspace((unsigned char)*value))
            value++;
        if (*value) {
            *value++ = '\0';
            while (isspace((unsigned char)*value))
                value++;
        }
        bool used;
        char why[256];
        rc = mg_sim_option(o, s, *value ? value : NULL, &used, why, sizeof(why));
        if (rc == 0 && !used && *value) {
            snprintf(why, sizeof(why), "option %s takes no value", s);
            rc = -EINVAL;
        }
        if (rc)
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
    }
    fclose(fp);
    return rc;
}

int mg_sim_options_finish(struct mg_sim_options *o, char *err, size_t errlen) {
    for (unsigned i = 0; i < o->sc.nprocs; i++)
        if (o->sc.procs[i].host >= o->sc.nhosts) {
            snprintf(err, errlen, "process %u runs on host %u but there are %u hosts", i, o->sc.procs[i].host,
                     o->sc.nhosts);
            return -EINVAL;
        }
    for (unsigned i = 0; i < o->sc.npartitions; i++) {
        const struct mg_sim_partition *p = &o->sc.partitions[i];
        if (p->a >= o->sc.nhosts || (p->b != MG_SIM_ALL_HOSTS && (p->b >= o->sc.nhosts || p->b == p->a))) {
            snprintf(err, errlen, "partition %u names a host that does not exist", i);
            return -EINVAL;
        }
    }
    if (o->random.enabled && o->sc.nhosts < 2) {
        snprintf(err, errlen, "random faults need at least 2 hosts");
        return -EINVAL;
    }
    return 0;
}

void mg_sim_scenario_for_seed(const struct mg_sim_options *o, uint64_t seed, struct mg_sim_scenario *out) {
    *out = o->sc;
    if (!o->random.enabled)
        return;
    /* A random source of its own, so the fault mix of a seed never depends on the run. */
    struct mg_rand r;
    mg_rand_seed(&r, seed ^ 0x5eed5eed5eed5eedull);
    struct mg_fault_params *f = &out->fault;
    f->loss = mg_rand_unit(&r) * o->random.max_loss;
    f->duplicate = mg_rand_unit(&r) * 0.05;
    f->corrupt = mg_rand_unit(&r) * 0.05;
    f->reorder = mg_rand_unit(&r) * 0.1;
    f->reorder_delay_ns = (50 + mg_rand_u64(&r) % 500) * MG_NS_PER_US;
    f->jitter_ns = (mg_rand_u64(&r) % 100) * MG_NS_PER_US;
    if (o->random.partition && out->npartitions < MG_SIM_MAX_PARTITIONS) {
        unsigned a = (unsigned)(mg_rand_u64(&r) % out->nhosts);
        unsigned b = (a + 1 + (unsigned)(mg_rand_u64(&r) % (out->nhosts - 1))) % out->nhosts;
        uint64_t at = (mg_rand_u64(&r) % 2000) * MG_NS_PER_MS;
        uint64_t len = (100 + mg_rand_u64(&r) % 3000) * MG_NS_PER_MS;
        out->partitions[out->npartitions++] = (struct mg_sim_partition){at, at + len, a, b};
    }
}
