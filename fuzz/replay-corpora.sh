#!/bin/sh
# fuzz/replay-corpora.sh — `make check` in a --enable-fuzz build: replays every target's
# committed seeds (fuzz/corpus/<target>/) and crash regressions (fuzz/regressions/<target>/)
# through the libFuzzer (or AFL++) program, which runs each file named on its command
# line once. A crash fails the test with the file's name (the fuzzer prints it).
set -eu
src=${MARGAY_SRCDIR:?MARGAY_SRCDIR must be set (make check sets it)}
build=${MARGAY_BUILDDIR:?MARGAY_BUILDDIR must be set (make check sets it)}
status=0
for prog in "$build"/fuzz/fuzz_*; do
    [ -x "$prog" ] || continue
    t=${prog##*/fuzz_}
    files=$(find "$src/fuzz/corpus/$t" "$src/fuzz/regressions/$t" -type f ! -name '.*' 2>/dev/null | sort)
    [ -n "$files" ] || continue
    # shellcheck disable=SC2086
    if "$prog" $files >"$build/fuzz/replay-$t.log" 2>&1; then
        echo "$t: replayed $(echo "$files" | wc -l) inputs"
    else
        echo "$t: FAILED (log: $build/fuzz/replay-$t.log)"
        tail -20 "$build/fuzz/replay-$t.log"
        status=1
    fi
done
exit $status
