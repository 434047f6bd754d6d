#!/bin/sh
# tests/integration/rdma_rxe_vm.sh — `make check`'s entry for the soft-RoCE VM: runs
# ci/rxe-vm on this build directory (rdma_test and the examples over DEMI_LIBOS=rdma).
# Exit 77 (skip) when qemu or the kernel package is missing, and in sanitizer builds
# unless RXE_VM_SANITIZERS=1 (ASan under TCG emulation is too slow for CI's budget).
srcdir=${srcdir:-.}
if grep -q '^#define MARGAY_SANITIZERS 1' config.h 2>/dev/null && [ "${RXE_VM_SANITIZERS:-0}" != 1 ]; then
    echo "rdma_rxe_vm: skipped in the sanitizer build (set RXE_VM_SANITIZERS=1 to run it)"
    exit 77
fi
exec "$srcdir/ci/rxe-vm" --build "$(pwd)"
