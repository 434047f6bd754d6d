# tests/rdma.mk — rdma libOS tests (included from tests/local.mk).
# test_rdma_proto runs everywhere (no device needed). rdma_test needs an RDMA device:
# it is built here and run inside the soft-RoCE VM by rdma_rxe_vm.sh (ci/rxe-vm).
if HAVE_RDMA
if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_rdma_proto
TESTS += tests/unit/test_rdma_proto
tests_unit_test_rdma_proto_SOURCES = tests/unit/test_rdma_proto.c
tests_unit_test_rdma_proto_CFLAGS = $(MG_TEST_CFLAGS) $(RDMA_CFLAGS)
tests_unit_test_rdma_proto_LDADD = $(MG_TEST_LIBS) $(RDMA_LIBS)
tests_unit_test_rdma_proto_LDFLAGS = -static
endif

check_PROGRAMS += tests/integration/rdma_test
tests_integration_rdma_test_SOURCES = tests/integration/rdma_test.c
tests_integration_rdma_test_LDADD = libmargay.la

TESTS += tests/integration/rdma_rxe_vm.sh
endif
EXTRA_DIST += \
	tests/integration/rdma_rxe_vm.sh \
	ci/rxe-vm \
	ci/rxe/init \
	ci/rxe/run-tests.sh
