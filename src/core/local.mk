# src/core/local.mk — the runtime every libOS shares: qd and op tables, waits, sga,
# configuration, clock, timers, random source, logging.
libmargay_la_SOURCES += \
	src/core/buf.c \
	src/core/clock.c \
	src/core/log.c \
	src/core/random.c \
	src/core/timer.c
noinst_HEADERS += \
	src/core/buf.h \
	src/core/clock.h \
	src/core/config.h \
	src/core/log.h \
	src/core/random.h \
	src/core/runtime.h \
	src/core/timer.h
include src/core/config.mk
