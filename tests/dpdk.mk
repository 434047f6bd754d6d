# tests/dpdk.mk — DPDK netdev tests (included from tests/local.mk).
