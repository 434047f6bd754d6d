# tests/posix.mk — test programs for the posix module (included from tests/local.mk).
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_posix
TESTS += tests/unit/test_posix
tests_unit_test_posix_SOURCES = tests/unit/test_posix.c
tests_unit_test_posix_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_posix_LDADD = $(MG_TEST_LIBS)
endif
