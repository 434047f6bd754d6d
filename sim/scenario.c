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
#include "core/random.h"

void mg_sim_options_init(struct mg_sim_options *o) {
    memset(o, 0, sizeof(*o));
    o->sc.nhosts = 2;
    o->sc.fault.delay_ns = 50 * MG_NS_PER_US;
    o->random.max_loss = 0.3;
}

void mg_sim_options_free(struct mg_sim_options *o) {
    for (unsigned i = 0; i < o->sc.nprocs; i++)
        for (int a = 0; a < o->sc.procs[i].argc; a++)
            free(o->sc.procs[i].argv[a]);
    o->sc.nprocs = 0;
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
