# tests/dpdk.mk — DPDK netdev tests (included from tests/local.mk). They run as root
# over vdevs, on hugepages when the machine has free ones mounted (ci/hugepages.sh)
# and with --no-huge otherwise (tests/dpdk/eal_memory.c decides and says which);
# EAL is one per process, so independent scenarios are separate programs.
MG_DPDK_TEST_EAL = tests/dpdk/eal_memory.c tests/dpdk/eal_memory.h
if HAVE_DPDK
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_dpdk_netdev tests/unit/test_dpdk_hugepages
TESTS += tests/unit/test_dpdk_netdev tests/unit/test_dpdk_hugepages
tests_unit_test_dpdk_netdev_SOURCES = tests/unit/test_dpdk_netdev.c $(MG_DPDK_TEST_EAL)
tests_unit_test_dpdk_netdev_CFLAGS = $(MG_TEST_CFLAGS) $(DPDK_CFLAGS)
# rte_eth_from_rings lives in the net_ring PMD itself.
tests_unit_test_dpdk_netdev_LDADD = $(MG_TEST_LIBS) $(DPDK_LIBS) -lrte_net_ring
tests_unit_test_dpdk_hugepages_SOURCES = tests/unit/test_dpdk_hugepages.c $(MG_DPDK_TEST_EAL)
tests_unit_test_dpdk_hugepages_CFLAGS = $(MG_TEST_CFLAGS) $(DPDK_CFLAGS)
tests_unit_test_dpdk_hugepages_LDADD = $(MG_TEST_LIBS) $(DPDK_LIBS)
# How the inet libOS drives a poll-mode device: time per call, pushes sent at once,
# the spin while waiting.
check_PROGRAMS += tests/unit/test_dpdk_poll
TESTS += tests/unit/test_dpdk_poll
tests_unit_test_dpdk_poll_SOURCES = tests/unit/test_dpdk_poll.c $(MG_DPDK_TEST_EAL)
tests_unit_test_dpdk_poll_CFLAGS = $(MG_TEST_CFLAGS) $(DPDK_CFLAGS)
tests_unit_test_dpdk_poll_LDADD = $(MG_TEST_LIBS) $(DPDK_LIBS) -lrte_net_ring
if HAVE_PCAP
check_PROGRAMS += tests/unit/test_dpdk_pcap
TESTS += tests/unit/test_dpdk_pcap
tests_unit_test_dpdk_pcap_SOURCES = tests/unit/test_dpdk_pcap.c $(MG_DPDK_TEST_EAL)
tests_unit_test_dpdk_pcap_CFLAGS = $(MG_TEST_CFLAGS) $(DPDK_CFLAGS) $(PCAP_CFLAGS)
tests_unit_test_dpdk_pcap_LDADD = $(MG_TEST_LIBS) $(DPDK_LIBS) $(PCAP_LIBS)
# The inet stack over net_pcap: ARP, ICMP echo and SYNs in; answers checked field by
# field and by tshark (those checks skip, saying so, without tshark).
check_PROGRAMS += tests/unit/test_dpdk_pcap_stack
TESTS += tests/unit/test_dpdk_pcap_stack
tests_unit_test_dpdk_pcap_stack_SOURCES = tests/unit/test_dpdk_pcap_stack.c $(MG_DPDK_TEST_EAL)
tests_unit_test_dpdk_pcap_stack_CFLAGS = $(MG_TEST_CFLAGS) $(DPDK_CFLAGS) $(PCAP_CFLAGS)
tests_unit_test_dpdk_pcap_stack_LDADD = $(MG_TEST_LIBS) $(DPDK_LIBS) $(PCAP_LIBS)
endif
endif
TESTS += tests/dpdk/margay_info.sh
EXTRA_DIST += tests/dpdk/margay_info.sh tests/dpdk/eal_memory.sh
endif
