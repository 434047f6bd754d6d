# tests/replay.mk — capture replay tests: the reader's conversions and a synthesised
# conversation (CUnit), the whole real-capture corpus with expected verdicts, tshark
# checks and determinism, malformed captures, the same replays through DPDK's net_pcap
# vdev (when DPDK is built), and a user's PDPIX program loaded as the application.
if HAVE_PCAP
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_replay
TESTS += tests/unit/test_replay
tests_unit_test_replay_SOURCES = tests/unit/test_replay.c
tests_unit_test_replay_CFLAGS = $(MG_TEST_CFLAGS) $(PCAP_CFLAGS)
tests_unit_test_replay_LDADD = $(MG_TEST_LIBS) $(PCAP_LIBS)
check_PROGRAMS += tests/unit/test_capture_roundtrip
TESTS += tests/unit/test_capture_roundtrip
tests_unit_test_capture_roundtrip_SOURCES = tests/unit/test_capture_roundtrip.c $(MG_SIMHOSTS_SOURCES)
tests_unit_test_capture_roundtrip_CFLAGS = $(MG_TEST_CFLAGS) $(PCAP_CFLAGS)
tests_unit_test_capture_roundtrip_LDADD = $(MG_TEST_LIBS) $(PCAP_LIBS)
endif
TESTS += tests/replay/replay_corpus.sh tests/replay/replay_errors.sh tests/replay/replay_load.sh
if HAVE_DPDK
TESTS += tests/replay/replay_net_pcap.sh
endif
endif
EXTRA_DIST += tests/replay/replay_corpus.sh tests/replay/replay_errors.sh tests/replay/expected_verdicts.txt \
	tests/replay/replay_net_pcap.sh tests/replay/replay_load.sh \
	tests/data/README.txt tests/data/record_kernel_captures.sh tests/data/kernel-echo-close.pcap \
	tests/data/kernel-bulk-1mib.pcap tests/data/kernel-refused.pcap tests/data/kernel-bulk-loss.pcap
