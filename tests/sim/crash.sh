#!/bin/sh
# tests/sim/crash.sh — a seed whose run crashes is a failed seed with a replay line, not
# a dead `margay sim`: one --seed and a sweep, with sim/programs/crash.c dying on
# purpose (SIGSEGV, SIGABRT; in a sanitizer build also a heap overflow that ASan
# reports and a leak that LeakSanitizer reports). Checks the verdict lines, the exit
# status, that the program's own output stays visible for a single seed, and that
# the replay line reproduces the verdict.
set -u
MARGAY=${MARGAY:-./margay}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-sim-crash.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; sed 's/^/    /' "$tmp/out"; exit 1; }
sanitizers=no
grep -q 'define MARGAY_SANITIZERS 1' config.h 2>/dev/null && sanitizers=yes

# expect_single HOW VERDICT: one seed, the crash program dying by HOW.
expect_single() {
    "$MARGAY" sim --seed 3 --proc "0:crash --after-ms 5 --how $1" >"$tmp/out" 2>&1
    rc=$?
    [ $rc -ne 0 ] || fail "--how $1: exit status 0"
    grep -qF "margay sim: seed 3 FAILED: $2" "$tmp/out" || fail "--how $1: no line 'seed 3 FAILED: $2'"
    grep -qxF "  replay: margay sim --proc '0:crash --after-ms 5 --how $1' --seed 3" "$tmp/out" ||
        fail "--how $1: no replay line"
    grep -qF "crash: dying by $1" "$tmp/out" || fail "--how $1: the program's own output is hidden"
    echo "PASS: single seed, --how $1: $2 (exit $rc)"
}

if [ $sanitizers = yes ]; then
    # ASan catches the SIGSEGV itself and reports it; so it does with the overflow.
    expect_single segv "sanitizer report"
    expect_single overflow "sanitizer report"
    # ASan or UBSan (its object-size check) may see it first; either report is shown.
    grep -q "AddressSanitizer: heap-buffer-overflow\|runtime error: load of address" "$tmp/out" ||
        fail "the sanitizer's report is not shown"
    # A run that passes but leaks is a failure too (LeakSanitizer in the child).
    "$MARGAY" sim --seed 3 --proc "0:crash --after-ms 5 --how leak" >"$tmp/out" 2>&1 && fail "--how leak passed"
    grep -q "why: memory leaked" "$tmp/out" || fail "--how leak: no 'memory leaked' verdict"
    grep -q "LeakSanitizer: detected memory leaks" "$tmp/out" || fail "--how leak: the report is not shown"
    echo "PASS: single seed, --how leak: memory leaked"
else
    expect_single segv "crashed (signal SIGSEGV)"
fi
expect_single abort "crashed (signal SIGABRT)"

# The replay line of a crash gives the same verdict.
cmd=$(grep -m1 '^  replay: ' "$tmp/out" | sed 's/^  replay: margay //')
eval "\"\$MARGAY\" $cmd" >"$tmp/replay" 2>&1 && fail "the replay of the crash passed"
grep -qF "seed 3 FAILED: crashed (signal SIGABRT)" "$tmp/replay" || fail "the replay gave another verdict"
echo "PASS: the replay line reproduces the crash"

# A sweep: seed 2 crashes, seeds 1 and 3 pass, and the sweep goes on to the end.
"$MARGAY" sim --seeds 1..3 --proc '0:crash --after-ms 5 --how abort --seed {seed} --only-seed 2' >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "sweep: exit status $rc, expected 1"
grep -qxF "FAIL seed 2: crashed (signal SIGABRT)" "$tmp/out" || fail "sweep: no 'FAIL seed 2' line"
grep -qxF "  replay: margay sim --proc '0:crash --after-ms 5 --how abort --seed {seed} --only-seed 2' --seed 2" \
    "$tmp/out" || fail "sweep: no replay line for seed 2"
grep -qxF "margay sim: 3 seeds: 2 passed, 1 failed" "$tmp/out" || fail "sweep: wrong summary"
[ "$(grep -c '^FAIL seed' "$tmp/out")" -eq 1 ] || fail "sweep: more than one failed seed"
echo "PASS: a sweep records the crashing seed and goes on"

# A clean run still passes with status 0.
"$MARGAY" sim --seed 1 --proc '0:crash --after-ms 5 --seed 1 --only-seed 2' >"$tmp/out" 2>&1 ||
    fail "a run that does not crash failed"
grep -q "margay sim: seed 1 passed" "$tmp/out" || fail "no pass line"
echo "PASS: a run that does not crash passes"
