# tests/core.mk — test programs for the core module (included from tests/local.mk).
# test_types and test_core_base need only the library; the runtime suites also build
# the in-memory pipe libOS (tests/unit/pipe_libos.c), a test double kept out of the
# library.
if HAVE_CUNIT
MG_CORE_TESTS = \
	tests/unit/test_types \
	tests/unit/test_core_base \
	tests/unit/test_pdpix_args \
	tests/unit/test_qtoken \
	tests/unit/test_wait \
	tests/unit/test_sga
check_PROGRAMS += $(MG_CORE_TESTS)
TESTS += $(MG_CORE_TESTS)
noinst_HEADERS += tests/unit/cunit_main.h tests/unit/pipe_libos.h

tests_unit_test_types_SOURCES = tests/unit/test_types.c
tests_unit_test_types_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_types_LDADD = $(MG_TEST_LIBS)

tests_unit_test_core_base_SOURCES = tests/unit/test_core_base.c
tests_unit_test_core_base_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_core_base_LDADD = $(MG_TEST_LIBS)

tests_unit_test_pdpix_args_SOURCES = tests/unit/test_pdpix_args.c tests/unit/pipe_libos.c
tests_unit_test_pdpix_args_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_pdpix_args_LDADD = $(MG_TEST_LIBS)

tests_unit_test_qtoken_SOURCES = tests/unit/test_qtoken.c tests/unit/pipe_libos.c
tests_unit_test_qtoken_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_qtoken_LDADD = $(MG_TEST_LIBS)

tests_unit_test_wait_SOURCES = tests/unit/test_wait.c tests/unit/pipe_libos.c
tests_unit_test_wait_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_wait_LDADD = $(MG_TEST_LIBS)

tests_unit_test_sga_SOURCES = tests/unit/test_sga.c tests/unit/pipe_libos.c
tests_unit_test_sga_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_sga_LDADD = $(MG_TEST_LIBS)
endif
