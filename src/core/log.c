/* core/log.c — leveled logging to stderr or a sink (the simulator's trace). */
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

enum mg_log_level mg_log_threshold = MG_LOG_WARN;

static mg_log_sink log_sink;
static void *log_sink_ctx;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

int mg_log_level_parse(const char *name) {
    if (!name)
        return -1;
    for (int i = 0; i <= MG_LOG_TRACE; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warning") == 0)
        return MG_LOG_WARN;
    return -1;
}

void mg_log_set_level(enum mg_log_level level) { mg_log_threshold = level; }

void mg_log_init_from_env(void) {
    const char *v = getenv("DEMI_LOG");
    if (!v || !*v)
        return;
    int level = mg_log_level_parse(v);
    if (level < 0) {
        fprintf(stderr, "margay: DEMI_LOG=%s is not a level (error, warn, info, debug, trace); using warn\n", v);
        return;
    }
    mg_log_threshold = (enum mg_log_level)level;
}

void mg_log_set_sink(mg_log_sink sink, void *ctx) {
    log_sink = sink;
    log_sink_ctx = ctx;
}

void mg_log_write(enum mg_log_level level, const char *module, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_sink) {
        log_sink(level, module, msg, log_sink_ctx);
        return;
    }
    fprintf(stderr, "margay %s [%s] %s\n", level_names[level], module, msg);
}
