# fuzz/local.mk — fuzz targets and their corpora.
# Each target is one source file (fuzz/<target>.c) defining LLVMFuzzerTestOneInput,
# built as one program, fuzz/fuzz_<target>:
#  - in every build without --enable-fuzz (gcc, -Werror, sanitizers, coverage) it is
#    linked with fuzz/driver_main.c, and `make check` runs it: it replays the committed
#    seed corpus fuzz/corpus/<target>/ and the crash regressions fuzz/regressions/<target>/;
#  - with ./configure --enable-fuzz it is linked with libFuzzer (or AFL++'s driver
#    under CC=afl-clang-fast), and `make check` replays the same files through it
#    (fuzz/replay-corpora.sh).
# The stack targets link the stack's malloc into the snapshot arena (fuzz/arena.h).
# doc/fuzzing.md says how to run them; ci/fuzz.sh and ci/fuzz-coverage.sh run them in CI.
#
# Adding a target is four lines: the program, its sources, its libraries, its link.

FUZZ_PROGS =
FUZZ_LIBS = libmargay.la $(YAML_LIBS) -lm
if ENABLE_FUZZ
FUZZ_MAIN =
FUZZ_LINK = $(AM_LDFLAGS) $(MARGAY_FUZZ_LDFLAGS) -static
else
FUZZ_MAIN = fuzz/driver_main.c
FUZZ_LINK = $(AM_LDFLAGS) -static
endif
# The stack-in-a-box of the stack targets, and its arena: the stack's allocations are
# wrapped into it so one memcpy restores the starting state before every input.
FUZZ_STACK_SRC = fuzz/stack_harness.c fuzz/arena.c $(FUZZ_MAIN)
FUZZ_WRAP = -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=free
FUZZ_STACK_LINK = $(FUZZ_LINK) $(FUZZ_WRAP)

noinst_HEADERS += fuzz/fuzz_common.h fuzz/stack_harness.h fuzz/arena.h
EXTRA_DIST += fuzz/make-corpora.py fuzz/grow-corpora.sh fuzz/corpus fuzz/regressions doc/fuzzing.md ci/fuzz.sh ci/fuzz-coverage.sh \
	fuzz/replay-corpora.sh fuzz/determinism.sh fuzz/coverage-ignore.txt

# wire_eth: the Ethernet parser
FUZZ_PROGS += fuzz/fuzz_wire_eth
fuzz_fuzz_wire_eth_SOURCES = fuzz/wire_eth.c $(FUZZ_MAIN)
fuzz_fuzz_wire_eth_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_wire_eth_LDFLAGS = $(FUZZ_LINK)

# wire_arp: the ARP parser
FUZZ_PROGS += fuzz/fuzz_wire_arp
fuzz_fuzz_wire_arp_SOURCES = fuzz/wire_arp.c $(FUZZ_MAIN)
fuzz_fuzz_wire_arp_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_wire_arp_LDFLAGS = $(FUZZ_LINK)

# wire_ipv4: the IPv4 parser and header checksum
FUZZ_PROGS += fuzz/fuzz_wire_ipv4
fuzz_fuzz_wire_ipv4_SOURCES = fuzz/wire_ipv4.c $(FUZZ_MAIN)
fuzz_fuzz_wire_ipv4_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_wire_ipv4_LDFLAGS = $(FUZZ_LINK)

# wire_icmp: the ICMP parser
FUZZ_PROGS += fuzz/fuzz_wire_icmp
fuzz_fuzz_wire_icmp_SOURCES = fuzz/wire_icmp.c $(FUZZ_MAIN)
fuzz_fuzz_wire_icmp_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_wire_icmp_LDFLAGS = $(FUZZ_LINK)

# wire_udp: the UDP parser and L4 checksum
FUZZ_PROGS += fuzz/fuzz_wire_udp
fuzz_fuzz_wire_udp_SOURCES = fuzz/wire_udp.c $(FUZZ_MAIN)
fuzz_fuzz_wire_udp_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_wire_udp_LDFLAGS = $(FUZZ_LINK)

# wire_tcp: the TCP header and options parser
FUZZ_PROGS += fuzz/fuzz_wire_tcp
fuzz_fuzz_wire_tcp_SOURCES = fuzz/wire_tcp.c $(FUZZ_MAIN)
fuzz_fuzz_wire_tcp_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_wire_tcp_LDFLAGS = $(FUZZ_LINK)

# config: the YAML configuration loader
FUZZ_PROGS += fuzz/fuzz_config
fuzz_fuzz_config_SOURCES = fuzz/config.c $(FUZZ_MAIN)
fuzz_fuzz_config_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)

# stack: the whole stack fed (time, frame) records
FUZZ_PROGS += fuzz/fuzz_stack
fuzz_fuzz_stack_SOURCES = fuzz/stack.c $(FUZZ_STACK_SRC)
fuzz_fuzz_stack_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_stack_LDFLAGS = $(FUZZ_STACK_LINK)

# tcp_sm: TCP state machine driven by structured programs
FUZZ_PROGS += fuzz/fuzz_tcp_sm
fuzz_fuzz_tcp_sm_SOURCES = fuzz/tcp_sm.c $(FUZZ_STACK_SRC)
fuzz_fuzz_tcp_sm_LDADD = $(FUZZ_LIBS)
fuzz_fuzz_tcp_sm_LDFLAGS = $(FUZZ_STACK_LINK)

# pcap_reader: the capture reader (pcap and pcapng from memory, link-type conversion)
if HAVE_PCAP
FUZZ_PROGS += fuzz/fuzz_pcap_reader
fuzz_fuzz_pcap_reader_SOURCES = fuzz/pcap_reader.c $(FUZZ_MAIN)
fuzz_fuzz_pcap_reader_LDADD = $(FUZZ_LIBS) $(PCAP_LIBS)
fuzz_fuzz_pcap_reader_LDFLAGS = $(FUZZ_LINK)
endif

# Every build makes the targets and `make check` replays their corpora and
# regressions; the determinism check runs the stack targets with and without the
# snapshot, and in two orders, and compares what the stack sent.
if ENABLE_FUZZ
noinst_PROGRAMS += $(FUZZ_PROGS)
TESTS += fuzz/replay-corpora.sh
else
check_PROGRAMS += $(FUZZ_PROGS)
TESTS += $(FUZZ_PROGS)
endif
TESTS += fuzz/determinism.sh

# Unit tests of the arena and of the capture reader's stream entry point.
if HAVE_CUNIT
check_PROGRAMS += fuzz/test_fuzz_support
TESTS += fuzz/test_fuzz_support
fuzz_test_fuzz_support_SOURCES = fuzz/test_fuzz_support.c fuzz/arena.c
fuzz_test_fuzz_support_CFLAGS = $(MG_TEST_CFLAGS)
fuzz_test_fuzz_support_LDADD = $(MG_TEST_LIBS) $(PCAP_LIBS)
fuzz_test_fuzz_support_LDFLAGS = $(AM_LDFLAGS) -static $(FUZZ_WRAP)
endif
