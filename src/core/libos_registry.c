/* core/libos_registry.c — which libOSes this library contains, by name.
 *
 * Each libOS defines its table in its own directory. A libOS this build contains is
 * referenced strongly (config.h says which), so even a program linked statically
 * against libmargay.a pulls it in; one whose dependencies were missing at build time
 * (rdma without rdma-core) is referenced weakly, its address is NULL, and demi_init
 * reports it as not built instead of failing to link. Demikernel's names are
 * accepted as aliases. */
#include "config.h"
#include "core/runtime.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

extern const struct mg_libos_ops mg_libos_posix_ops;
extern const struct mg_libos_ops mg_libos_inet_ops;
#ifdef HAVE_RDMA
extern const struct mg_libos_ops mg_libos_rdma_ops;
#else
extern const struct mg_libos_ops mg_libos_rdma_ops __attribute__((weak));
#endif

static const struct {
    const char *name;
    const char *canonical;
} libos_names[] = {
    {"posix", "posix"},    {"catnap", "posix"}, {"inet", "inet"},    {"catnip", "inet"},
    {"catpowder", "inet"}, {"rdma", "rdma"},    {"catmint", "rdma"},
};

static const char *const canonical_names[] = {"posix", "inet", "rdma"};

static const struct mg_libos_ops *builtin(const char *canonical) {
    if (strcmp(canonical, "posix") == 0)
        return &mg_libos_posix_ops;
    if (strcmp(canonical, "inet") == 0)
        return &mg_libos_inet_ops;
    if (strcmp(canonical, "rdma") == 0)
        return &mg_libos_rdma_ops;
    return NULL;
}

const char *mg_libos_canonical_name(const char *name_or_alias) {
    if (!name_or_alias)
        return NULL;
    for (size_t i = 0; i < sizeof(libos_names) / sizeof(libos_names[0]); i++)
        if (strcasecmp(name_or_alias, libos_names[i].name) == 0)
            return libos_names[i].canonical;
    return NULL;
}

const struct mg_libos_ops *mg_libos_find(const char *name_or_alias) {
    const char *canonical = mg_libos_canonical_name(name_or_alias);
    return canonical ? builtin(canonical) : NULL;
}

void mg_libos_list(char *buf, size_t len) {
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < sizeof(canonical_names) / sizeof(canonical_names[0]); i++) {
        if (!builtin(canonical_names[i]))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", canonical_names[i]);
        if (n < 0 || (size_t)n >= len - used)
            return;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, len, "none");
}
