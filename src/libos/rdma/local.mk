# src/libos/rdma/local.mk — the rdma libOS (built when rdma-core is found).
