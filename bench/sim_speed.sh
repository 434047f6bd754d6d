#!/bin/sh
# bench/sim_speed.sh — how fast the deterministic simulator runs (issue #4's benchmark:
# at least 1,000,000 simulated frames per wall second on one core). Scenarios:
#   sweep  tests/sim/sweep.scenario (three hosts, four checked transfers of 1 KiB..4 MiB
#          each way, random faults): `make check`'s seed sweep;
#   1mib   bench/sim_1mib.scenario (one checked 1 MiB transfer each way, 0.5% loss).
# Each row is one `margay sim` command, as a user runs it:
#   --seeds 1..N                   a sweep (built-in programs: many seeds per child);
#   --seeds 1..N --fork-each-seed  a sweep with a fresh child process per seed;
#   --seed 1                       one seed in the margay process itself.
# Columns: frames put on the wire; the command's wall and CPU seconds (user + system of
# margay and its children, start-up included: in a build tree ./margay is libtool's
# wrapper script, which alone costs about a tenth of a CPU second); frames per wall and
# per CPU second of the command; frames per CPU second of the runs alone (margay's own
# figure for a sweep's children: no start-up); frames per wall second inside the runs
# (margay's figure: leaves out process start and forks); simulated seconds per wall
# second. Prints numbers only; the load average beside them says how much of the
# machine was someone else's (wall figures shrink with it, CPU figures much less).
#
# Usage: bench/sim_speed.sh [SEEDS]      (from the build directory; SEEDS default 200)
set -u
MARGAY=${MARGAY:-./margay}
srcdir=${srcdir:-$(dirname "$0")/..}
N=${1:-200}
[ -x "$MARGAY" ] || { echo "bench/sim_speed.sh: $MARGAY is not built (run it from the build directory)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/sim_speed.sh: needs /usr/bin/time" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-simspeed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# run NAME SCENARIO SEED-ARGS...: one row of the table.
run() {
    name=$1 scenario=$2
    shift 2
    if ! /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$MARGAY" sim --scenario "$scenario" "$@" --quiet \
        >"$tmp/out" 2>&1; then
        echo "bench/sim_speed.sh: $name $* failed:" >&2
        cat "$tmp/out" >&2
        exit 1
    fi
    # A sweep prints "...; N frames, ... (inside the runs: F)" and "CPU time of the runs C s";
    # one seed prints "S s simulated in W s wall (..), N frames, ...".
    frames=$(sed -n 's/.* \([0-9][0-9]*\) frames.*/\1/p' "$tmp/out" | tail -n 1)
    simulated=$(sed -n 's/.*simulated \([0-9.]*\) s in.*/\1/p; s/.*: \([0-9.]*\) s simulated in.*/\1/p' "$tmp/out" |
        tail -n 1)
    inside=$(sed -n 's/.*inside the runs: \([0-9.]*\)).*/\1/p' "$tmp/out" | tail -n 1)
    [ -n "$inside" ] || inside=$(sed -n 's/.* simulated in \([0-9.]*\) s wall.*/\1/p' "$tmp/out" |
        awk -v f="$frames" '{ if ($1 > 0) printf "%.0f", f / $1 }')
    runs_cpu=$(sed -n 's/.*CPU time of the runs \([0-9.]*\) s.*/\1/p' "$tmp/out" | tail -n 1)
    read -r wall user sys <"$tmp/time"
    awk -v name="$name" -v how="$*" -v f="$frames" -v s="$simulated" -v w="$wall" -v u="$user" -v k="$sys" \
        -v in_runs="${inside:-0}" -v rc="${runs_cpu:-0}" 'BEGIN {
        cpu = u + k; if (w <= 0) w = 0.01; if (cpu <= 0) cpu = 0.01
        per_runs_cpu = rc > 0 ? sprintf("%.0f", f / rc) : "-"
        printf "%-6s %-30s %8d %7.2f %7.2f %11.0f %11.0f %11s %11.0f %9.1f\n", name, how, f, w, cpu, f / w, f / cpu,
            per_runs_cpu, in_runs, s / w
    }'
}

echo "margay sim speed ($(uname -m), $(nproc) cores; load average:$(uptime | sed 's/.*load average://'))"
printf "%-6s %-30s %8s %7s %7s %11s %11s %11s %11s %9s\n" scen command frames wall_s cpu_s frames/wall frames/cpu \
    runs/cpu in-runs/wall sim/wall
run sweep "$srcdir/tests/sim/sweep.scenario" --seeds "1..$N"
run sweep "$srcdir/tests/sim/sweep.scenario" --seeds "1..$N" --fork-each-seed
run 1mib "$srcdir/bench/sim_1mib.scenario" --seeds "1..$N"
run 1mib "$srcdir/bench/sim_1mib.scenario" --seeds "1..$N" --fork-each-seed
run 1mib "$srcdir/bench/sim_1mib.scenario" --seed 1
