# tests/dpdk_stack.mk — the inet stack over DPDK vdevs and against the Linux kernel.
