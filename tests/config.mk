# tests/config.mk — test programs for the config module (included from tests/local.mk).
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_config_LDADD = $(MG_TEST_LIBS)
endif
