# fuzz/local.mk — fuzz targets, their standalone replay drivers and corpora.
# Each target is one source file (fuzz/<target>.c) defining LLVMFuzzerTestOneInput.
# It is built twice from the same source:
#  - fuzz/replay_<target>: the target plus fuzz/driver_main.c, in every build (gcc,
#    -Werror, sanitizers). `make check` runs it, which replays the committed seed
#    corpus fuzz/corpus/<target>/ and the crash regressions fuzz/regressions/<target>/.
#  - fuzz/fuzz_<target>: linked with libFuzzer (or AFL++'s driver under
#    CC=afl-clang-fast), only with ./configure --enable-fuzz.
# doc/fuzzing.md says how to run them; ci/fuzz.sh and ci/fuzz-coverage.sh run them in CI.

FUZZ_REPLAY_LIBS = libmargay.la $(YAML_LIBS) -lm
noinst_HEADERS += fuzz/fuzz_common.h fuzz/stack_harness.h
EXTRA_DIST += fuzz/make-corpora.py fuzz/corpus fuzz/regressions doc/fuzzing.md ci/fuzz.sh ci/fuzz-coverage.sh

# ---- wire_eth: the Ethernet parser ----
check_PROGRAMS += fuzz/replay_wire_eth
TESTS += fuzz/replay_wire_eth
fuzz_replay_wire_eth_SOURCES = fuzz/wire_eth.c fuzz/driver_main.c
fuzz_replay_wire_eth_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"wire_eth"'
fuzz_replay_wire_eth_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_wire_eth_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_wire_eth
fuzz_fuzz_wire_eth_SOURCES = fuzz/wire_eth.c
fuzz_fuzz_wire_eth_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_wire_eth_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif

# ---- wire_arp: the ARP parser ----
check_PROGRAMS += fuzz/replay_wire_arp
TESTS += fuzz/replay_wire_arp
fuzz_replay_wire_arp_SOURCES = fuzz/wire_arp.c fuzz/driver_main.c
fuzz_replay_wire_arp_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"wire_arp"'
fuzz_replay_wire_arp_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_wire_arp_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_wire_arp
fuzz_fuzz_wire_arp_SOURCES = fuzz/wire_arp.c
fuzz_fuzz_wire_arp_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_wire_arp_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif

# ---- wire_ipv4: the IPv4 parser and header checksum ----
check_PROGRAMS += fuzz/replay_wire_ipv4
TESTS += fuzz/replay_wire_ipv4
fuzz_replay_wire_ipv4_SOURCES = fuzz/wire_ipv4.c fuzz/driver_main.c
fuzz_replay_wire_ipv4_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"wire_ipv4"'
fuzz_replay_wire_ipv4_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_wire_ipv4_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_wire_ipv4
fuzz_fuzz_wire_ipv4_SOURCES = fuzz/wire_ipv4.c
fuzz_fuzz_wire_ipv4_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_wire_ipv4_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif

# ---- wire_icmp: the ICMP parser ----
check_PROGRAMS += fuzz/replay_wire_icmp
TESTS += fuzz/replay_wire_icmp
fuzz_replay_wire_icmp_SOURCES = fuzz/wire_icmp.c fuzz/driver_main.c
fuzz_replay_wire_icmp_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"wire_icmp"'
fuzz_replay_wire_icmp_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_wire_icmp_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_wire_icmp
fuzz_fuzz_wire_icmp_SOURCES = fuzz/wire_icmp.c
fuzz_fuzz_wire_icmp_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_wire_icmp_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif

# ---- wire_udp: the UDP parser and L4 checksum ----
check_PROGRAMS += fuzz/replay_wire_udp
TESTS += fuzz/replay_wire_udp
fuzz_replay_wire_udp_SOURCES = fuzz/wire_udp.c fuzz/driver_main.c
fuzz_replay_wire_udp_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"wire_udp"'
fuzz_replay_wire_udp_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_wire_udp_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_wire_udp
fuzz_fuzz_wire_udp_SOURCES = fuzz/wire_udp.c
fuzz_fuzz_wire_udp_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_wire_udp_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif

# ---- wire_tcp: the TCP header and options parser ----
check_PROGRAMS += fuzz/replay_wire_tcp
TESTS += fuzz/replay_wire_tcp
fuzz_replay_wire_tcp_SOURCES = fuzz/wire_tcp.c fuzz/driver_main.c
fuzz_replay_wire_tcp_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"wire_tcp"'
fuzz_replay_wire_tcp_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_wire_tcp_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_wire_tcp
fuzz_fuzz_wire_tcp_SOURCES = fuzz/wire_tcp.c
fuzz_fuzz_wire_tcp_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_wire_tcp_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif

# ---- config: the YAML configuration loader ----
check_PROGRAMS += fuzz/replay_config
TESTS += fuzz/replay_config
fuzz_replay_config_SOURCES = fuzz/config.c fuzz/driver_main.c
fuzz_replay_config_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"config"'
fuzz_replay_config_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_config_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_config
fuzz_fuzz_config_SOURCES = fuzz/config.c
fuzz_fuzz_config_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_config_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif

# ---- stack: the whole stack fed (time, frame) records ----
check_PROGRAMS += fuzz/replay_stack
TESTS += fuzz/replay_stack
fuzz_replay_stack_SOURCES = fuzz/stack.c fuzz/driver_main.c fuzz/stack_harness.c
fuzz_replay_stack_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"stack"'
fuzz_replay_stack_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_stack_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_stack
fuzz_fuzz_stack_SOURCES = fuzz/stack.c fuzz/stack_harness.c
fuzz_fuzz_stack_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_stack_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif

# ---- tcp_sm: TCP state machine driven by structured programs ----
check_PROGRAMS += fuzz/replay_tcp_sm
TESTS += fuzz/replay_tcp_sm
fuzz_replay_tcp_sm_SOURCES = fuzz/tcp_sm.c fuzz/driver_main.c fuzz/stack_harness.c
fuzz_replay_tcp_sm_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET_NAME='"tcp_sm"'
fuzz_replay_tcp_sm_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_replay_tcp_sm_LDFLAGS = $(AM_LDFLAGS) -static
if ENABLE_FUZZ
noinst_PROGRAMS += fuzz/fuzz_tcp_sm
fuzz_fuzz_tcp_sm_SOURCES = fuzz/tcp_sm.c fuzz/stack_harness.c
fuzz_fuzz_tcp_sm_LDADD = $(FUZZ_REPLAY_LIBS)
fuzz_fuzz_tcp_sm_LDFLAGS = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
endif
