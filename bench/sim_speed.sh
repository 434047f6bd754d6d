#!/bin/sh
# bench/sim_speed.sh — how fast the deterministic simulator runs (issue #4's benchmark:
# at least 1,000,000 simulated frames per wall second on one core). For each scenario
#   sweep  tests/sim/sweep.scenario (three hosts, four checked transfers of 1 KiB..4 MiB
#          each way, random faults): `make check`'s seed sweep;
#   1mib   bench/sim_1mib.scenario (one checked 1 MiB transfer each way, 0.5% loss);
# it runs `margay sim --seeds 1..N` (a sweep: every seed in its own child process, as a
# user runs it) and prints frames per wall second and per CPU second (the margay
# process and its children, user + system), and simulated seconds per wall second.
# The last column, frames per wall second inside the runs, leaves out what is not
# simulation (process start, the sweep's fork per seed): margay's own figure. Then the
# 1mib scenario's seed 1 once in-process (`--seed`, no fork; the process columns there
# are mostly margay's start-up). Prints numbers only; the load average beside them says
# how much of the machine was someone else's.
#
# Usage: bench/sim_speed.sh [SEEDS]      (from the build directory; SEEDS default 200)
set -u
MARGAY=${MARGAY:-./margay}
srcdir=${srcdir:-$(dirname "$0")/..}
N=${1:-200}
[ -x "$MARGAY" ] || { echo "bench/sim_speed.sh: $MARGAY is not built (run it from the build directory)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null 2>&1 || { echo "bench/sim_speed.sh: needs /usr/bin/time" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-simspeed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# run NAME SCENARIO SEED-OPTION SEEDS: one line of the table.
run() {
    name=$1 scenario=$2 seedopt=$3 seeds=$4
    if ! /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$MARGAY" sim --scenario "$scenario" "$seedopt" "$seeds" --quiet \
        >"$tmp/out" 2>&1; then
        echo "bench/sim_speed.sh: $name failed:" >&2
        cat "$tmp/out" >&2
        exit 1
    fi
    # A sweep prints "N frames"; a single seed "... in W s wall (..), N frames, ...".
    frames=$(sed -n 's/.* \([0-9][0-9]*\) frames.*/\1/p' "$tmp/out" | tail -n 1)
    simulated=$(sed -n 's/.*simulated \([0-9.]*\) s in.*/\1/p; s/.*: \([0-9.]*\) s simulated in.*/\1/p' "$tmp/out" | tail -n 1)
    # Wall time inside the runs: "(inside the runs: F)" of a sweep, "in W s wall" of one seed.
    inside=$(sed -n 's/.*inside the runs: \([0-9.]*\)).*/\1/p' "$tmp/out" | tail -n 1)
    [ -n "$inside" ] || inside=$(sed -n 's/.* simulated in \([0-9.]*\) s wall.*/\1/p' "$tmp/out" |
        awk -v f="$frames" '{ if ($1 > 0) printf "%.0f", f / $1 }')
    read -r wall user sys <"$tmp/time"
    awk -v name="$name" -v seeds="$seeds" -v f="$frames" -v s="$simulated" -v w="$wall" -v u="$user" -v k="$sys" \
        -v in_runs="${inside:-0}" 'BEGIN {
        cpu = u + k; if (w <= 0) w = 0.01; if (cpu <= 0) cpu = 0.01
        printf "%-6s %-9s %9d %8.2f %8.2f %12.0f %12.0f %10.1f %14.0f\n", name, seeds, f, w, cpu, f / w, f / cpu, s / w,
            in_runs
    }'
}

echo "margay sim speed ($(uname -m), $(nproc) cores; load average:$(uptime | sed 's/.*load average://'))"
printf "%-6s %-9s %9s %8s %8s %12s %12s %10s %14s\n" scen seeds frames wall_s cpu_s frames/wall frames/cpu sim/wall \
    in-runs/wall
run sweep "$srcdir/tests/sim/sweep.scenario" --seeds "1..$N"
run 1mib "$srcdir/bench/sim_1mib.scenario" --seeds "1..$N"
run 1mib "$srcdir/bench/sim_1mib.scenario" --seed 1
echo "(seeds A..B: a sweep, one child process per seed; a single seed runs in the margay process itself)"
