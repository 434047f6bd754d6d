# drivers/dpdk/local.mk — the DPDK netdev (built when libdpdk is found).
