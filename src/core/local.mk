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
libmargay_la_SOURCES += \
	src/core/libos_registry.c \
	src/core/op_complete.c \
	src/core/op_table.c \
	src/core/pdpix_args.c \
	src/core/pdpix_control.c \
	src/core/pdpix_data.c \
	src/core/pdpix_init.c \
	src/core/qd_table.c \
	src/core/runtime.c \
	src/core/sga.c \
	src/core/sga_registry.c \
	src/core/wait.c
noinst_HEADERS += \
	src/core/pdpix_args.h \
	src/core/pdpix_internal.h \
	src/core/rt_internal.h
