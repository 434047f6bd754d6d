#!/bin/sh
# tests/sim/sweep.sh — the simulator's seed sweep: 200 seeds of tests/sim/sweep.scenario
# (checked transfers both ways under random faults), 40 in a sanitizer build. Every
# failing seed prints the command that replays it. SIM_SEEDS=A..B overrides the range
# (the long sweep: SIM_SEEDS=1..10000 tests/sim/sweep.sh, from the build directory).
set -u
MARGAY=${MARGAY:-./margay}
srcdir=${srcdir:-.}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
seeds=1..200
if grep -q 'define MARGAY_SANITIZERS 1' config.h 2>/dev/null; then
    seeds=1..40
fi
seeds=${SIM_SEEDS:-$seeds}
exec "$MARGAY" sim --scenario "$srcdir/tests/sim/sweep.scenario" --seeds "$seeds"
