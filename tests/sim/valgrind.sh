#!/bin/sh
# tests/sim/valgrind.sh — one short simulated run under valgrind's memcheck: a checked
# transfer between three hosts with loss, duplication, corruption, reordering and a
# partition, with captures and a frame trace, so the stack, the link, the coroutine
# switches (their stacks are announced to valgrind) and the writers all run. Any
# invalid access, use of uninitialised memory or leak fails it (--error-exitcode; the
# seed runs in a forked child, whose valgrind verdict `margay sim` reports as a failed
# seed). Normal builds only: valgrind cannot run a sanitizer build.
set -u
MARGAY=${MARGAY:-./margay}
srcdir=${srcdir:-.}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
if grep -q 'define MARGAY_SANITIZERS 1' config.h 2>/dev/null; then
    echo "SKIP: a sanitizer build (valgrind cannot run ASan's runtime); run it from a normal build"
    exit 77
fi
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind is not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-sim-vg.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
# The libtool wrapper script finds the uninstalled library; valgrind runs the binary.
run=""
[ -x ./libtool ] && run="./libtool --mode=execute"
vg() {
    $run valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
        --suppressions="$srcdir/tests/sim/valgrind.supp" "$@"
}
# First, that a memcheck error in a run does fail it: a program that loses a block.
vg "$MARGAY" sim --seed 1 --proc '0:crash --how leak' >"$tmp/out" 2>&1 && {
    echo "FAIL: a leaking run passed under valgrind:"
    sed 's/^/    /' "$tmp/out"
    exit 1
}
grep -q "definitely lost" "$tmp/out" && grep -q "seed 1 FAILED" "$tmp/out" || {
    echo "FAIL: valgrind's leak report did not fail the seed:"
    sed 's/^/    /' "$tmp/out"
    exit 1
}
echo "PASS: a leak under valgrind fails the seed"
vg "$MARGAY" sim --seed 2 --hosts 3 --loss 0.05 --duplicate 0.02 --corrupt 0.02 --reorder 0.05 --jitter 20us \
    --partition 0-2@20ms+300ms \
    --proc "0:xfer --server 10.0.0.1 80 --conns 3" \
    --proc "1:xfer --client 10.0.0.1 80 --conns 2 --min 20000 --max 120000 --seed 3" \
    --proc "2:xfer --client 10.0.0.1 80 --conns 1 --min 20000 --max 120000 --seed 4" \
    --pcap "$tmp/vg" --trace "$tmp/vg.trace" --trace-frames >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ] || ! grep -q "margay sim: seed 2 passed" "$tmp/out" || grep -q "^==[0-9]*==" "$tmp/out"; then
    echo "FAIL: margay sim under valgrind (exit $rc):"
    sed 's/^/    /' "$tmp/out"
    exit 1
fi
echo "PASS: a simulated run under valgrind memcheck: no errors, no leaks ($(grep 'seed 2 passed' "$tmp/out"))"
