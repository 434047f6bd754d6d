# tests/posix.mk — test programs for the posix module (included from tests/local.mk).
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_posix
TESTS += tests/unit/test_posix
tests_unit_test_posix_SOURCES = tests/unit/test_posix.c
tests_unit_test_posix_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_posix_LDADD = $(MG_TEST_LIBS)
endif

# Shell tests: the examples' server/client pairs, and a program built against the
# installed headers. They exit 77 (skip) with a reason if a tool is missing.
TESTS += \
	tests/integration/examples_posix.sh \
	tests/integration/installed_headers.sh
EXTRA_DIST += \
	tests/integration/examples_posix.sh \
	tests/integration/installed_headers.sh \
	tests/integration/installed_headers.c
