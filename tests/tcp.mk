# tests/tcp.mk — test programs for the tcp module (included from tests/local.mk).
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_tcp_seg
TESTS += tests/unit/test_tcp_seg
tests_unit_test_tcp_seg_SOURCES = tests/unit/test_tcp_seg.c tests/unit/tcp_seg_helper.c tests/unit/tcp_seg_helper.h
tests_unit_test_tcp_seg_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_tcp_seg_LDADD = $(MG_TEST_LIBS)
tests_unit_test_tcp_seg_LDFLAGS = -static
endif

if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_tcp_sim
TESTS += tests/unit/test_tcp_sim
tests_unit_test_tcp_sim_SOURCES = tests/unit/test_tcp_sim.c $(MG_SIMHOSTS_SOURCES)
tests_unit_test_tcp_sim_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_tcp_sim_LDADD = $(MG_TEST_LIBS)
endif
