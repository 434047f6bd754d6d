#!/bin/sh
# tests/sim/regress.sh — seeds that once failed for a reason that was a bug, kept as
# regressions: each line below is a scenario of tests/sim/, a seed, and what was wrong.
# Every one must pass.
set -u
MARGAY=${MARGAY:-./margay}
srcdir=${srcdir:-.}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
tmp=$(mktemp "${TMPDIR:-/tmp}/margay-sim-regress.XXXXXX") || exit 99
trap 'rm -f "$tmp"' EXIT INT TERM
failures=0
# regress SCENARIO SEED WHAT
regress() {
    if "$MARGAY" sim --scenario "$srcdir/tests/sim/$1" --seed "$2" --quiet >"$tmp" 2>&1; then
        echo "PASS: $1 seed $2 ($3)"
    else
        echo "FAIL: $1 seed $2 ($3):"
        sed 's/^/    /' "$tmp"
        failures=$((failures + 1))
    fi
}
# Found by the stall hunt at up to 50% loss: with the retransmission timer backed off
# to a minute, an ARP entry expired (15 s) before every retransmission, so each one
# waited behind a new resolution and was dropped when its requests or answers were
# lost too; the server gave up on live connections (ETIMEDOUT) and the clients waited
# forever (a hang). Fixed in src/inet/arp.c: traffic from a neighbour confirms its
# entry, and a known address is used while it is checked; tests/unit/test_sim_arp
# checks the mechanism itself.
regress heavy-loss.scenario 14 "ARP re-resolution held retransmissions back: the server timed out, the client hung"
regress heavy-loss.scenario 49 "ARP re-resolution held retransmissions back: hang"
[ $failures -eq 0 ]
