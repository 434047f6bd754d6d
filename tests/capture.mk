# tests/capture.mk — tests of the netdev wrappers: capture tap, pcapng writer, fault injection.
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_capture
TESTS += tests/unit/test_capture
tests_unit_test_capture_SOURCES = tests/unit/test_capture.c
tests_unit_test_capture_CFLAGS = $(MG_TEST_CFLAGS) $(PCAP_CFLAGS)
tests_unit_test_capture_LDADD = $(MG_TEST_LIBS) $(PCAP_LIBS)
endif

if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_fault
TESTS += tests/unit/test_fault
tests_unit_test_fault_SOURCES = tests/unit/test_fault.c
tests_unit_test_fault_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_fault_LDADD = $(MG_TEST_LIBS)
endif
