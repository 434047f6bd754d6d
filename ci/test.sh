#!/usr/bin/env bash
# ci/test.sh — README command 2: the whole test suite. Installs what is missing, sets
# up hugepages when it can (ci/hugepages.sh), then builds twice — with -Werror, and
# with ASan+UBSan — and runs `make check` in both.
# Ends with the suites' combined CUnit summary and one "N passed, N failed" line.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/ci/install-deps.sh" || exit 1
# Hugepages for the DPDK tests when this machine lets us (never fails: without them
# the tests run with --no-huge and say so).
"$top/ci/hugepages.sh"
status=0
builds=("$top/build-check:--enable-werror" "$top/build-asan:--enable-werror --enable-sanitizers")
for spec in "${builds[@]}"; do
  dir=${spec%%:*}
  args=${spec#*:}
  # shellcheck disable=SC2086
  "$top/ci/build.sh" "$dir" $args || { status=1; continue; }
  echo "== make check in $dir"
  if ! make -C "$dir" -j"$(nproc)" check >"$dir/check.out" 2>&1; then
    status=1
    grep -E '^(FAIL|ERROR|XPASS)' "$dir/check.out" || tail -40 "$dir/check.out"
    for log in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find "$dir" -name '*.trs') 2>/dev/null); do
      echo "---- ${log%.trs}.log (last 40 lines)"
      tail -40 "${log%.trs}.log"
    done
  fi
  grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$dir/check.out" | sed "s|^|  $(basename "$dir") |"
done
# Coverage-guided fuzzing for a bounded time (about a minute for each of the ten
# targets): a crash fails the suite and prints its reproducer.
echo "== fuzzing (ci/fuzz.sh)"
if "$top/ci/fuzz.sh" "$top/build-fuzz" >"$top/build-fuzz.out" 2>&1; then
  grep -E 'exec/s|execs per second|^fuzz' "$top/build-fuzz.out" | tail -12
  echo "fuzz: PASS"
else
  status=1
  tail -40 "$top/build-fuzz.out"
  echo "fuzz: FAIL"
fi
"$top/ci/cunit-summary.sh" "$top/build-check" "$top/build-asan"
exit $status
