# tests/sim.mk — simulator tests: the fault model on links, coroutines and scenario
# options (CUnit), and scripts that run `margay sim`: a seed sweep of checked
# transfers under random faults, the examples under loss, byte-identical captures
# (one per link) and traces for the same seed, crashing seeds reported with their
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
endif
TESTS += tests/sim/sweep.sh tests/sim/examples.sh tests/sim/determinism.sh tests/sim/load.sh \
	tests/sim/crash.sh tests/sim/valgrind.sh tests/sim/regress.sh
EXTRA_DIST += tests/sim/sweep.sh tests/sim/examples.sh tests/sim/determinism.sh tests/sim/load.sh \
	tests/sim/crash.sh tests/sim/valgrind.sh tests/sim/valgrind.supp tests/sim/regress.sh \
	tests/sim/heavy-loss.scenario \
	tests/sim/sweep.scenario doc/sim-demo.c doc/sim.md
