# tests/sim.mk — simulator tests: the fault model on links, coroutines and scenario
# options (CUnit), coroutine switches on both backends (CUnit), and scripts that run
# `margay sim`: a seed sweep of checked transfers under random faults, the examples
# under loss, byte-identical captures (one per link) and traces for the same seed, the
# same captures from seeds run many per process, crashing seeds reported with their
# replay line, and a short run under valgrind.
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_sim_faults
TESTS += tests/unit/test_sim_faults
tests_unit_test_sim_faults_SOURCES = tests/unit/test_sim_faults.c
tests_unit_test_sim_faults_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_sim_faults_LDADD = $(MG_TEST_LIBS)
check_PROGRAMS += tests/unit/test_sim_arp
TESTS += tests/unit/test_sim_arp
tests_unit_test_sim_arp_SOURCES = tests/unit/test_sim_arp.c $(MG_SIMHOSTS_SOURCES)
tests_unit_test_sim_arp_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_sim_arp_LDADD = $(MG_TEST_LIBS)
check_PROGRAMS += tests/unit/test_fault_config
TESTS += tests/unit/test_fault_config
tests_unit_test_fault_config_SOURCES = tests/unit/test_fault_config.c $(MG_SIMHOSTS_SOURCES)
tests_unit_test_fault_config_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_fault_config_LDADD = $(MG_TEST_LIBS)
# Coroutines: the switch this architecture uses (from libmargay), and the ucontext
# fallback of other architectures compiled in on its own.
check_PROGRAMS += tests/unit/test_coro tests/unit/test_coro_ucontext
TESTS += tests/unit/test_coro tests/unit/test_coro_ucontext
tests_unit_test_coro_SOURCES = tests/unit/test_coro.c
tests_unit_test_coro_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_coro_LDADD = $(MG_TEST_LIBS)
tests_unit_test_coro_ucontext_SOURCES = tests/unit/test_coro.c sim/coro.c
tests_unit_test_coro_ucontext_CFLAGS = $(MG_TEST_CFLAGS) -DMG_CORO_UCONTEXT
tests_unit_test_coro_ucontext_LDADD = $(CUNIT_LIBS) -lm
# xfer's 16-bytes-at-a-time pattern fill and check against its byte-by-byte definition.
check_PROGRAMS += tests/unit/test_xfer_pattern
TESTS += tests/unit/test_xfer_pattern
tests_unit_test_xfer_pattern_SOURCES = tests/unit/test_xfer_pattern.c
tests_unit_test_xfer_pattern_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_xfer_pattern_LDADD = $(MG_TEST_LIBS)
endif
TESTS += tests/sim/sweep.sh tests/sim/examples.sh tests/sim/determinism.sh tests/sim/load.sh \
	tests/sim/crash.sh tests/sim/valgrind.sh tests/sim/regress.sh tests/sim/reuse.sh tests/sim/stack_config.sh \
	tests/sim/frag.sh
EXTRA_DIST += tests/sim/sweep.sh tests/sim/examples.sh tests/sim/determinism.sh tests/sim/load.sh \
	tests/sim/crash.sh tests/sim/valgrind.sh tests/sim/valgrind.supp tests/sim/regress.sh \
	tests/sim/heavy-loss.scenario tests/sim/reuse.sh tests/sim/stack_config.sh \
	tests/sim/sweep.scenario tests/sim/frag.sh doc/sim-demo.c doc/sim.md
