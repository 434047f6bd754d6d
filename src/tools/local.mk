# src/tools/local.mk — the `margay` command: a dispatcher (margay.c) and one file per
# subcommand (cmd_<name>.c).
bin_PROGRAMS += margay
margay_SOURCES = \
	src/tools/margay.c \
	src/tools/cmd_info.c \
	src/tools/cmd_replay.c \
	src/tools/cmd_sim.c \
	$(MG_SIM_PROGRAM_SOURCES)
noinst_HEADERS += src/tools/commands.h
margay_CFLAGS = $(AM_CFLAGS) $(PCAP_CFLAGS)
margay_LDADD = libmargay.la $(YAML_LIBS) -lm
if HAVE_DPDK
margay_LDADD += $(DPDK_LIBS)
endif
