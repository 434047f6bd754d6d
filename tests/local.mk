# tests/local.mk — CUnit suites and integration tests. Each module keeps its own
# fragment so suites can be added without touching each other.
include tests/core.mk
include tests/config.mk
include tests/posix.mk
include tests/wire.mk
include tests/inet.mk
include tests/tcp.mk
include tests/rdma.mk
include tests/dpdk.mk
include tests/capture.mk
include tests/sim.mk
include tests/replay.mk
include tests/dpdk_stack.mk
