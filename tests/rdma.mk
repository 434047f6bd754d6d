# tests/rdma.mk — rdma libOS tests (included from tests/local.mk).
