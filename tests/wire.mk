# tests/wire.mk — test programs for the wire module (included from tests/local.mk).
# One CUnit program, split by protocol. The pcap suite reads real captures from
# WIRE_PCAP_DIR (override at make time, or with MARGAY_PCAP_DIR at run time).
WIRE_PCAP_DIR = /work/shared/testdata/pcap
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_wire
TESTS += tests/unit/test_wire
tests_unit_test_wire_SOURCES = \
	tests/unit/test_wire.c \
	tests/unit/test_wire_cksum.c \
	tests/unit/test_wire_l2l3.c \
	tests/unit/test_wire_pcap.c \
	tests/unit/test_wire_robust.c \
	tests/unit/test_wire_tcp.c \
	tests/unit/wire_test.h
tests_unit_test_wire_CPPFLAGS = $(AM_CPPFLAGS) -DWIRE_PCAP_DIR='"$(WIRE_PCAP_DIR)"'
tests_unit_test_wire_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_wire_LDADD = $(MG_TEST_LIBS)
endif
