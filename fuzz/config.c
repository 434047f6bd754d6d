/* fuzz/config.c — fuzz target: the YAML configuration loader (mg_config_load_string).
 * Any input is either accepted or refused with -EINVAL and a one-line message; it
 * never crashes, leaks (eal_args are freed by mg_config_free) or leaves a string
 * field unterminated. Loading twice over the same config checks that a second file
 * replaces what the first one allocated. */
#include <errno.h>
#include <string.h>

#include "core/config.h"
#include "fuzz/fuzz_common.h"

static void check_config(const struct mg_config *cfg) {
    FUZZ_CHECK(memchr(cfg->libos, 0, sizeof(cfg->libos)) != NULL);
    FUZZ_CHECK(memchr(cfg->netdev, 0, sizeof(cfg->netdev)) != NULL);
    FUZZ_CHECK(memchr(cfg->capture_path, 0, sizeof(cfg->capture_path)) != NULL);
    FUZZ_CHECK(memchr(cfg->dpdk_port, 0, sizeof(cfg->dpdk_port)) != NULL);
    FUZZ_CHECK(memchr(cfg->linux_interface_name, 0, sizeof(cfg->linux_interface_name)) != NULL);
    FUZZ_CHECK(cfg->eal_argc >= 0 && cfg->eal_argc <= MG_CONFIG_MAX_EAL_ARGS);
    for (int i = 0; i < cfg->eal_argc; i++)
        FUZZ_CHECK(cfg->eal_args[i] != NULL);
    FUZZ_CHECK(cfg->arp_table_len <= MG_CONFIG_MAX_ARP_ENTRIES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    char err[512];
    for (int pass = 0; pass < 2; pass++) {
        memset(err, 'x', sizeof(err));
        err[sizeof(err) - 1] = '\0';
        int rc = mg_config_load_string(&cfg, (const char *)data, size, err, sizeof(err));
        FUZZ_CHECK(rc == 0 || rc < 0);
        if (rc != 0)
            FUZZ_CHECK(strlen(err) > 0 && strlen(err) < sizeof(err));
        check_config(&cfg);
    }
    mg_config_free(&cfg);
    return 0;
}
