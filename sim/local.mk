# sim/local.mk — the deterministic simulator: the simulated link (link.c), coroutines
# (coro.c), one simulated run (world.c) and its options (scenario.c), and what runs a
# user's program in virtual time (program.c, shared with capture replay). The programs it
# can run by name (the examples, xfer) are built into the `margay` command through
# MG_SIM_PROGRAM_SOURCES (src/tools/local.mk), each with margay/sim_program.h.
libmargay_la_SOURCES += sim/link.c sim/coro.c sim/world.c sim/scenario.c sim/program.c
noinst_HEADERS += sim/link.h sim/coro.h sim/world.h sim/scenario.h sim/program.h sim/programs/builtin.h \
	src/core/sim_hooks.h include/margay/sim_program.h
MG_SIM_PROGRAM_SOURCES = \
	sim/programs/builtin.c \
	sim/programs/prog_common.c \
	sim/programs/prog_tcp_echo.c \
	sim/programs/prog_tcp_push_pop.c \
	sim/programs/prog_tcp_ping_pong.c \
	sim/programs/prog_udp_push_pop.c \
	sim/programs/prog_udp_ping_pong.c \
	sim/programs/prog_xfer.c \
	sim/programs/prog_udp_frag.c \
	sim/programs/prog_crash.c
# Included by the prog_*.c wrappers, not compiled on their own.
EXTRA_DIST += sim/programs/xfer.c sim/programs/crash.c sim/programs/udp_frag.c
