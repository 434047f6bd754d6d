#!/bin/sh
# tests/sim/reuse.sh — a sweep runs many seeds of built-in programs in one child
# process (a worker); each seed must come out exactly as in a fresh process: the
# captures of every seed, byte for byte, with and without --fork-each-seed. A seed that
# fails in a worker is reported with its replay line, as from a fresh run, and a worker
# killed from outside is replaced without losing a seed.
set -u
MARGAY=${MARGAY:-./margay}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-sim-reuse.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
sweep() { # PREFIX [OPTION]
    "$MARGAY" sim --seeds 1..12 --hosts 3 --random-faults --max-loss 0.1 --latency 30us \
        --daemon "0:xfer --server 10.0.0.1 80 --conns 3" \
        --proc "1:xfer --client 10.0.0.1 80 --conns 2 --min 1000 --max 200000 --seed {seed}" \
        --proc "2:xfer --client 10.0.0.1 80 --conns 1 --min 1000 --max 200000 --seed 9{seed}" \
        --pcap "$tmp/$1" ${2:+"$2"} >"$tmp/$1.out" 2>&1
}
sweep worker || { cat "$tmp/worker.out"; fail "the sweep failed in workers"; }
sweep fresh --fork-each-seed || { cat "$tmp/fresh.out"; fail "the sweep failed in fresh processes"; }
n=0
for f in "$tmp"/fresh-seed*.pcapng; do
    w="$tmp/worker-${f#"$tmp"/fresh-}"
    [ -s "$w" ] || fail "no capture $w"
    cmp -s "$f" "$w" || fail "$(basename "$w") differs from the same seed in a fresh process"
    n=$((n + 1))
done
[ "$n" -eq 36 ] || fail "expected 36 captures (12 seeds, 3 hosts), found $n"
# Every seed fails: the server waits for a second connection that never comes.
"$MARGAY" sim --seeds 1..3 --hang 5s --proc "0:xfer --server 10.0.0.1 80 --conns 2" \
    --proc "1:xfer --client 10.0.0.1 80 --conns 1 --min 1000 --max 1000" >"$tmp/failing.out" 2>&1 &&
    fail "a sweep of failing seeds passed"
grep -q "FAIL seed 2: .*hang" "$tmp/failing.out" || { cat "$tmp/failing.out"; fail "the hang is not the reason given"; }
grep -q "3 seeds: 0 passed, 3 failed" "$tmp/failing.out" || { cat "$tmp/failing.out"; fail "failing seeds not counted"; }
[ "$(grep -c "replay: .* --seed [123]$" "$tmp/failing.out")" -eq 3 ] || fail "a failing seed has no replay line"
grep -q "left state behind" "$tmp/failing.out" && fail "a seed failing alone too was blamed on an earlier seed"
# A worker killed from outside: the sweep goes on in a new worker, and the seed it died
# in (if it was in one, not between two) is rerun alone and reported. Only processes
# under this script's own background job are looked at.
"$MARGAY" sim --scenario "${srcdir:-.}/tests/sim/sweep.scenario" --seeds 1..120 >"$tmp/killed.out" 2>&1 &
job=$!
worker=
for attempt in $(seq 1 100); do
    # The worker: a process running the margay binary whose parent runs it too (not
    # libtool's wrapper shell, whose binary is the shell), at most three levels down.
    level=$job
    for depth in 1 2 3; do
        level=$(for q in $level; do pgrep -P "$q"; done)
        for p in $level; do
            parent=$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')
            [ -n "$parent" ] || continue
            exe=$(readlink "/proc/$p/exe" 2>/dev/null)
            case "$exe" in *margay*) [ "$exe" = "$(readlink "/proc/$parent/exe" 2>/dev/null)" ] && worker=$p ;; esac
        done
    done
    [ -n "$worker" ] && break
    sleep 0.05
done
[ -n "$worker" ] && kill -KILL "$worker" 2>/dev/null
wait "$job"
summary=$(grep "120 seeds:" "$tmp/killed.out") || { cat "$tmp/killed.out"; fail "the sweep did not finish after its worker was killed"; }
case "$summary" in
*"120 passed, 0 failed"*) ;;
*"119 passed, 1 failed"*) grep -q "died in it, but it passed alone" "$tmp/killed.out" ||
    { cat "$tmp/killed.out"; fail "the seed the worker died in is reported without saying so"; } ;;
*) cat "$tmp/killed.out"; fail "unexpected result after the worker was killed: $summary" ;;
esac
[ -n "$worker" ] || echo "note: the sweep ended before its worker could be killed"
echo "PASS: $n captures identical in a worker and in fresh processes; failing seeds reported from fresh runs; a killed worker is replaced"
