# tests/dpdk_stack.mk — the inet stack over DPDK vdevs and against the Linux kernel.
# Everything here needs DPDK; the kernel-peer scripts also need root and skip (77)
# without it.
if HAVE_DPDK
if HAVE_CUNIT
# Two inet stacks over net_ring pairs in one process (with and without faults).
check_PROGRAMS += tests/unit/test_dpdk_stack
TESTS += tests/unit/test_dpdk_stack
tests_unit_test_dpdk_stack_SOURCES = tests/unit/test_dpdk_stack.c $(MG_DPDK_TEST_EAL)
tests_unit_test_dpdk_stack_CFLAGS = $(MG_TEST_CFLAGS) $(DPDK_CFLAGS)
tests_unit_test_dpdk_stack_LDADD = $(MG_TEST_LIBS) $(DPDK_LIBS) -lrte_net_ring
endif
endif
if HAVE_DPDK
# Two processes over net_memif; the Linux kernel as a live peer over net_tap (root).
TESTS += tests/integration/dpdk_memif.sh tests/integration/dpdk_kernel_peer.sh
EXTRA_DIST += tests/integration/dpdk_memif.sh tests/integration/dpdk_kernel_peer.sh
endif
