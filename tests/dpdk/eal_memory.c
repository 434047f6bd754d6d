/* tests/dpdk/eal_memory.c — hugepages when the machine has them, --no-huge otherwise,
 * for the DPDK test programs (see eal_memory.h). */
#include "tests/dpdk/eal_memory.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void mg_test_hugepages_probe(struct mg_test_hugepages *out) {
    memset(out, 0, sizeof(*out));
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long free_pages = 0, kb = 0;
        while (fgets(line, sizeof(line), f)) {
            sscanf(line, "HugePages_Free: %lu", &free_pages);
            sscanf(line, "Hugepagesize: %lu kB", &kb);
        }
        fclose(f);
        out->page_kb = kb;
        out->free_mb = free_pages * kb / 1024;
    }
    f = fopen("/proc/mounts", "r");
    if (f) {
        char dev[256], dir[256], type[64];
        while (fscanf(f, "%255s %255s %63s%*[^\n]", dev, dir, type) == 3)
            if (strcmp(type, "hugetlbfs") == 0)
                out->mounted = true;
        fclose(f);
    }
}

static int add(struct mg_test_eal *e, const char *arg) {
    if (e->argc >= MG_TEST_EAL_MAX_ARGS || strlen(arg) >= sizeof(e->store[0])) {
        fprintf(stderr, "DPDK test: too many or too long EAL arguments (at '%s')\n", arg);
        return -1;
    }
    snprintf(e->store[e->argc], sizeof(e->store[0]), "%s", arg);
    e->argv[e->argc] = e->store[e->argc];
    e->argc++;
    return 0;
}

/* Decides between hugepages and --no-huge; -1 when hugepages are demanded but absent. */
static int choose_memory(struct mg_test_eal *e, unsigned needs_mb) {
    const char *want = getenv("MARGAY_TEST_HUGEPAGES");
    if (want && strcasecmp(want, "no") == 0) {
        e->memory = MG_TEST_MEMORY_NO_HUGE;
        snprintf(e->why, sizeof(e->why), "MARGAY_TEST_HUGEPAGES=no");
        return 0;
    }
    struct mg_test_hugepages hp;
    mg_test_hugepages_probe(&hp);
    if (hp.mounted && hp.free_mb >= needs_mb) {
        e->memory = MG_TEST_MEMORY_HUGE;
        snprintf(e->why, sizeof(e->why), "%lu MB free in %lu kB pages, hugetlbfs mounted", hp.free_mb, hp.page_kb);
        return 0;
    }
    e->memory = MG_TEST_MEMORY_NO_HUGE;
    snprintf(e->why, sizeof(e->why), "%lu MB of hugepages free (needs %u), hugetlbfs %s", hp.free_mb, needs_mb,
             hp.mounted ? "mounted" : "not mounted");
    if (want && strcasecmp(want, "yes") == 0) {
        fprintf(stderr, "MARGAY_TEST_HUGEPAGES=yes but no usable hugepages: %s (run ci/hugepages.sh as root)\n",
                e->why);
        return -1;
    }
    return 0;
}

int mg_test_eal_setup(struct mg_test_eal *e, const char *name, unsigned needs_mb, bool multiprocess,
                      const char *const *extra, int nextra) {
    memset(e, 0, sizeof(*e));
    if (choose_memory(e, needs_mb) != 0)
        return -1;
    for (int i = 0; i < nextra; i++)
        if (add(e, extra[i]) != 0)
            return -1;
    snprintf(e->prefix, sizeof(e->prefix), "mgt_%s_%ld", name, (long)getpid());
    char arg[128];
    snprintf(arg, sizeof(arg), "--file-prefix=%s", e->prefix);
    int rc = add(e, arg);
    if (e->memory == MG_TEST_MEMORY_HUGE) {
        if (rc == 0)
            rc = add(e, multiprocess ? "--huge-unlink" : "--in-memory");
    } else {
        snprintf(arg, sizeof(arg), "%u", needs_mb);
        /* One at a time: the order of the arguments matters. */
        if (rc == 0)
            rc = add(e, "--no-huge");
        if (rc == 0)
            rc = add(e, "-m");
        if (rc == 0)
            rc = add(e, arg);
        if (rc == 0 && !multiprocess)
            rc = add(e, "--no-shconf");
    }
    if (rc != 0)
        return -1;
    printf("%s: DPDK memory: %s (%s)\n", name,
           e->memory == MG_TEST_MEMORY_HUGE ? (multiprocess ? "hugepages, --huge-unlink" : "hugepages, --in-memory")
                                            : "--no-huge",
           e->why);
    fflush(stdout);
    return 0;
}

/* EAL's runtime directory: /var/run/dpdk/<prefix> for root, else under
 * $XDG_RUNTIME_DIR or /tmp (as EAL decides it). */
static void runtime_dir(const struct mg_test_eal *e, char *out, size_t len) {
    const char *base = "/var/run";
    if (getuid() != 0) {
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        base = xdg ? xdg : "/tmp";
    }
    snprintf(out, len, "%s/dpdk/%s", base, e->prefix);
}

void mg_test_eal_remove_runtime_dir(const struct mg_test_eal *e) {
    if (!e->prefix[0])
        return;
    char dir[512];
    runtime_dir(e, dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        char path[800];
        snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
