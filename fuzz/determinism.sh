#!/bin/sh
# fuzz/determinism.sh — the stack targets restore their starting state from a snapshot
# of the fuzz arena before every input (fuzz/arena.h). This checks that doing so is
# exact: every input of the committed corpus must make the stack send the same frames
# (FUZZ_DIGEST: a hash of every frame sent) whether its state was restored or built
# afresh (FUZZ_NO_SNAPSHOT), and whatever inputs ran before it (forward and reverse
# order), so an execution depends on its input alone. (libFuzzer runs an empty input
# before the files it is given: only the last digests, one per file, are compared.)
set -eu
src=${MARGAY_SRCDIR:?MARGAY_SRCDIR must be set (make check sets it)}
build=${MARGAY_BUILDDIR:?MARGAY_BUILDDIR must be set (make check sets it)}
work=$build/fuzz/determinism
mkdir -p "$work"
status=0
for t in stack tcp_sm; do
    prog=$build/fuzz/fuzz_$t
    files=$(find "$src/fuzz/corpus/$t" "$src/fuzz/regressions/$t" -type f ! -name '.*' 2>/dev/null | sort)
    [ -n "$files" ] || { echo "$t: no corpus"; status=1; continue; }
    reversed=$(echo "$files" | sort -r)
    count=$(echo "$files" | wc -l)
    # shellcheck disable=SC2086
    FUZZ_DIGEST=1 "$prog" $files 2>"$work/$t.err" | grep '^fuzz-digest' | tail -n "$count" >"$work/$t.snapshot" || true
    # shellcheck disable=SC2086
    FUZZ_DIGEST=1 FUZZ_NO_SNAPSHOT=1 "$prog" $files 2>>"$work/$t.err" | grep '^fuzz-digest' | tail -n "$count" >"$work/$t.fresh" || true
    # shellcheck disable=SC2086
    FUZZ_DIGEST=1 "$prog" $reversed 2>>"$work/$t.err" | grep '^fuzz-digest' | tail -n "$count" | sed -n '1!G;h;$p' >"$work/$t.reversed" ||
        true
    n=$(wc -l <"$work/$t.snapshot")
    if [ "$n" -ne "$count" ]; then
        echo "$t: $n digests for $count inputs (see $work/$t.err)"
        status=1
    elif ! cmp -s "$work/$t.snapshot" "$work/$t.fresh"; then
        echo "$t: restored and fresh runs differ:"
        diff "$work/$t.snapshot" "$work/$t.fresh" | head -5
        status=1
    elif ! cmp -s "$work/$t.snapshot" "$work/$t.reversed"; then
        echo "$t: runs depend on the inputs before them (forward and reverse order differ):"
        diff "$work/$t.snapshot" "$work/$t.reversed" | head -5
        status=1
    else
        echo "$t: $n inputs, identical with and without the snapshot and in both orders"
    fi
done
exit $status
