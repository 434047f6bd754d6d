#!/bin/sh
# tests/sim/load.sh — the README walk-through as a test: doc/sim-demo.c, a user's own
# PDPIX program, built with the one documented step into a shared object, loaded with
# --load; it passes on a quiet network, some seeds fail under 2% loss, and the replay
# line of a failure reproduces exactly the same failure.
set -u
MARGAY=${MARGAY:-./margay}
srcdir=${srcdir:-.}
CC=${CC:-cc}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
command -v "$CC" >/dev/null 2>&1 || { echo "SKIP: no C compiler ($CC)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-sim-load.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
# Sanitizer builds: the object must not carry its own sanitizer runtime.
$CC -shared -fPIC -I"$srcdir/include" -include margay/sim_program.h -DMARGAY_SIM_MAIN=margay_sim_main \
    "$srcdir/doc/sim-demo.c" -o "$tmp/sim-demo.so" || fail "cannot build doc/sim-demo.c"

run() {
    "$MARGAY" sim --load "$tmp/sim-demo.so" --daemon '0:sim-demo --server 10.0.0.1 80' \
        --proc '1:sim-demo --client 10.0.0.1 80' "$@"
}
run --seeds 1..5 >"$tmp/quiet.out" 2>&1 || { cat "$tmp/quiet.out"; fail "fails without faults"; }
run --loss 0.02 --seeds 1..20 >"$tmp/sweep.out" 2>&1 && fail "no seed failed under 2% loss"
line=$(grep -m1 '^  replay: ' "$tmp/sweep.out") || fail "no replay line"
seed=$(echo "$line" | sed 's/.*--seed //')
why=$(grep -m1 "^FAIL seed $seed:" "$tmp/sweep.out" | sed 's/^FAIL seed [0-9]*: //')
cmd=$(echo "$line" | sed 's/^  replay: margay //')
eval "\"\$MARGAY\" $cmd" >"$tmp/replay.out" 2>&1 && fail "the replay of seed $seed passed"
grep -qF "why: $why" "$tmp/replay.out" || { cat "$tmp/replay.out"; fail "the replay failed differently: $why"; }
echo "PASS: seed $seed fails under loss and its replay line reproduces: $why"
