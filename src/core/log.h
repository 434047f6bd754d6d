/* core/log.h — leveled logging for margay.
 * The level comes from DEMI_LOG (error, warn, info, debug, trace; default warn).
 * Messages go to stderr with the level and the module; the simulator can redirect
 * them into its trace. A disabled level costs one comparison. */
#ifndef MARGAY_CORE_LOG_H
#define MARGAY_CORE_LOG_H

#include <stdarg.h>

enum mg_log_level { MG_LOG_ERROR = 0, MG_LOG_WARN, MG_LOG_INFO, MG_LOG_DEBUG, MG_LOG_TRACE };

extern enum mg_log_level mg_log_threshold;

typedef void (*mg_log_sink)(enum mg_log_level level, const char *module, const char *msg, void *ctx);

/* Reads DEMI_LOG; an unknown value keeps the default and says so once. */
void mg_log_init_from_env(void);
void mg_log_set_level(enum mg_log_level level);
/* Parses a level name; -1 if unknown. */
int mg_log_level_parse(const char *name);
/* Sends messages somewhere other than stderr (NULL restores stderr). */
void mg_log_set_sink(mg_log_sink sink, void *ctx);
void mg_log_write(enum mg_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define MG_LOG(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((level) <= mg_log_threshold)                                                           \
            mg_log_write((level), (module), __VA_ARGS__);                                          \
    } while (0)
#define MG_ERROR(mod, ...) MG_LOG(MG_LOG_ERROR, mod, __VA_ARGS__)
#define MG_WARN(mod, ...) MG_LOG(MG_LOG_WARN, mod, __VA_ARGS__)
#define MG_INFO(mod, ...) MG_LOG(MG_LOG_INFO, mod, __VA_ARGS__)
#define MG_DEBUG(mod, ...) MG_LOG(MG_LOG_DEBUG, mod, __VA_ARGS__)
#define MG_TRACE(mod, ...) MG_LOG(MG_LOG_TRACE, mod, __VA_ARGS__)

#endif /* MARGAY_CORE_LOG_H */
