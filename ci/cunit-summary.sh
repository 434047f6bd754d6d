#!/usr/bin/env bash
# ci/cunit-summary.sh DIR... — adds up the CUnit "Run Summary" tables of every test log
# under the given build directories and prints one combined table, then one line
# "N passed, N failed" counting CUnit tests plus the non-CUnit test programs.
set -uo pipefail
logs=()
for d in "$@"; do
  [ -d "$d" ] && while IFS= read -r f; do logs+=("$f"); done < <(find "$d" -name '*.log' ! -name 'test-suite.log' ! -name 'config.log' -path '*tests*')
done
awk '
  FNR == 1 { cunit = 0 }
  /Run Summary:/ { cunit = 1; files++ }
  cunit && $1 == "suites"  { s_tot += $2; s_ran += $3; s_fail += $5 }
  cunit && $1 == "tests"   { t_tot += $2; t_ran += $3; t_pass += $4; t_fail += $5 }
  cunit && $1 == "asserts" { a_tot += $2; a_ran += $3; a_pass += $4; a_fail += $5 }
  END {
    printf "\nCUnit summary over %d suites files\n", files
    printf "Run Summary:    Type  Total    Ran Passed Failed Inactive\n"
    printf "              suites %6d %6d    n/a %6d        0\n", s_tot, s_ran, s_fail
    printf "               tests %6d %6d %6d %6d        0\n", t_tot, t_ran, t_pass, t_fail
    printf "             asserts %6d %6d %6d %6d      n/a\n", a_tot, a_ran, a_pass, a_fail
  }' "${logs[@]}" /dev/null
other_pass=0
other_fail=0
for d in "$@"; do
  [ -d "$d" ] || continue
  for trs in $(find "$d" -name '*.trs'); do
    log=${trs%.trs}.log
    grep -q 'Run Summary:' "$log" 2>/dev/null && continue
    if grep -qE '^:test-result: (PASS|SKIP|XFAIL)' "$trs"; then other_pass=$((other_pass + 1)); else other_fail=$((other_fail + 1)); fi
  done
done
read -r tp tf < <(awk '/Run Summary:/{c=1} c && $1=="tests"{p+=$4; f+=$5; c=0} END{print p+0, f+0}' "${logs[@]}" /dev/null)
echo "$((tp + other_pass)) passed, $((tf + other_fail)) failed"
