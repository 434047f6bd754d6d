#!/bin/sh
# ci/fuzz-coverage.sh — the fuzzing measures: line and branch coverage of src/wire and
# src/inet reached by each target's corpus (llvm-cov), TCP coverage reached by the
# stack and tcp_sm corpora together (target: 85% of lines), and the executions per
# second of the whole-stack target on one core (target: 20,000).
#
#   ci/fuzz-coverage.sh [COVERAGE_BUILD_DIR] [FUZZ_BUILD_DIR]
# Defaults: build-coverage and build-fuzz in the source tree (configured here with clang
# if missing). Corpora replayed per target: fuzz/corpus/<t> (committed seeds),
# fuzz/regressions/<t>, and FUZZ_WORK_DIR/corpus/<t> (default FUZZ_BUILD_DIR/fuzz-work,
# what ci/fuzz.sh or a local fuzzing run grew) when it exists.
# SPEED_SECONDS (default 20) is how long the exec/s measurement runs; it is done on the
# ASan+UBSan fuzz build (what CI fuzzes with) and on a build without sanitizers
# (--enable-fuzz=nosan, in FUZZ_BUILD_DIR-nosan) for the raw figure.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
# A smaller use-after-free quarantine: the stack targets run about three times faster.
ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
export ASAN_OPTIONS
COV=${1:-$SRC/build-coverage}
FUZZ=${2:-$SRC/build-fuzz}
WORK=${FUZZ_WORK_DIR:-$FUZZ/fuzz-work}
SPEED_SECONDS=${SPEED_SECONDS:-20}
TARGETS="wire_eth wire_arp wire_ipv4 wire_icmp wire_udp wire_tcp config pcap_reader stack tcp_sm"
LLVM_COV=${LLVM_COV:-llvm-cov}
LLVM_PROFDATA=${LLVM_PROFDATA:-llvm-profdata}
JOBS=${JOBS:-2}

configure_in() { # dir, configure arguments...
    d=$1
    shift
    if [ ! -f "$d/Makefile" ]; then
        [ -x "$SRC/configure" ] || (cd "$SRC" && autoreconf -fi)
        mkdir -p "$d"
        (cd "$d" && CC=${CC:-clang} "$SRC/configure" "$@" >configure.log 2>&1) ||
            { tail -20 "$d/configure.log"; exit 1; }
    fi
}

# ---- coverage ----
configure_in "$COV" --enable-coverage
grep -q '^#define HAVE_PCAP 1' "$COV/config.h" || TARGETS=$(echo "$TARGETS" | sed 's/pcap_reader//')
progs=""
for t in $TARGETS; do progs="$progs fuzz/fuzz_$t"; done
make -C "$COV" -j"$JOBS" $progs >"$COV/fuzz-coverage-build.log" 2>&1 ||
    { tail -30 "$COV/fuzz-coverage-build.log"; exit 1; }
prof=$COV/fuzz-profiles
rm -rf "$prof"
mkdir -p "$prof"
tcp_files=$(ls "$SRC"/src/inet/tcp*.c 2>/dev/null || true)

# "lines% branches%" over the files whose path matches a pattern, from llvm-cov's JSON
# summary ("-" when the program contains none of them).
totals() { # pattern, llvm-cov export arguments...
    pat=$1
    shift
    "$LLVM_COV" export -summary-only "$@" 2>/dev/null | python3 -c '
import json, re, sys
pat = re.compile(sys.argv[1])
lc = lt = bc = bt = 0
for data in json.load(sys.stdin)["data"]:
    for f in data["files"]:
        if pat.search(f["filename"]):
            s = f["summary"]
            lc += s["lines"]["covered"]; lt += s["lines"]["count"]
            bc += s["branches"]["covered"]; bt += s["branches"]["count"]
pct = lambda c, t: "%.2f%%" % (100.0 * c / t) if t else "-"
print(pct(lc, lt), pct(bc, bt))
' "$pat"
}

# The module a target is about besides src/wire and src/inet, for its own columns.
own_files() {
    case $1 in
    config) echo '/src/core/config\.c$' ;;
    pcap_reader) echo '/pcap/reader\.c$' ;;
    *) echo '' ;;
    esac
}

printf '\n%-11s %8s %8s   %8s %8s   %8s %8s %-16s %s\n' target wire-ln wire-br inet-ln inet-br own-ln own-br "(own)" inputs
for t in $TARGETS; do
    dirs="$SRC/fuzz/corpus/$t $SRC/fuzz/regressions/$t"
    [ -d "$WORK/corpus/$t" ] && dirs="$dirs $WORK/corpus/$t"
    n=$(find $dirs -type f ! -name '.*' | wc -l)
    LLVM_PROFILE_FILE="$prof/$t.profraw" "$COV/fuzz/fuzz_$t" $dirs >/dev/null 2>"$prof/$t.err" ||
        { echo "ci/fuzz-coverage.sh: fuzz_$t failed:" >&2; tail -5 "$prof/$t.err" >&2; exit 1; }
    "$LLVM_PROFDATA" merge -sparse "$prof/$t.profraw" -o "$prof/$t.profdata"
    w=$(totals '/src/wire/[^/]*\.c$' "$COV/fuzz/fuzz_$t" -instr-profile="$prof/$t.profdata")
    i=$(totals '/src/inet/[^/]*\.c$' "$COV/fuzz/fuzz_$t" -instr-profile="$prof/$t.profdata")
    pat=$(own_files "$t")
    o="- -"
    [ -z "$pat" ] || o=$(totals "$pat" "$COV/fuzz/fuzz_$t" -instr-profile="$prof/$t.profdata")
    own=$(echo "$pat" | sed 's/\\//g; s/[$^]//g; s|^/||')
    printf '%-11s %8s %8s   %8s %8s   %8s %8s %-16s %s\n' "$t" ${w:-- -} ${i:-- -} ${o:-- -} "${own:--}" "$n"
done

if [ -n "$tcp_files" ]; then
    "$LLVM_PROFDATA" merge -sparse "$prof/stack.profraw" "$prof/tcp_sm.profraw" -o "$prof/tcp.profdata"
    echo
    echo "TCP files reached by the stack and tcp_sm corpora together (target: 85% of lines):"
    "$LLVM_COV" report "$COV/fuzz/fuzz_stack" -object "$COV/fuzz/fuzz_tcp_sm" \
        -instr-profile="$prof/tcp.profdata" $tcp_files
    set -- $(totals '/src/inet/tcp[^/]*\.c$' "$COV/fuzz/fuzz_stack" -object "$COV/fuzz/fuzz_tcp_sm" \
        -instr-profile="$prof/tcp.profdata")
    echo "TCP combined: lines $1, branches $2"
fi
echo "(per-line detail: $LLVM_COV show $COV/fuzz/fuzz_stack -object $COV/fuzz/fuzz_tcp_sm -instr-profile=$prof/tcp.profdata $SRC/src/inet/tcp_in.c)"

# ---- executions per second of the whole-stack target, one core ----
# libFuzzer runs the target in one thread. Its own figure (stat::average_exec_per_sec)
# is per second of wall-clock time, so it falls when other processes share the core;
# executions per CPU-second (its user + system time) is the rate it has with a core
# to itself. Both are printed, with the load average.
speed() { # build dir, label
    d=$1/fuzz-speed
    rm -rf "$d"
    mkdir -p "$d/corpus"
    cpu=$(python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as log:
    rc = subprocess.call(sys.argv[2:], stdout=log, stderr=log)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f" % (ru.ru_utime + ru.ru_stime) if rc == 0 else "failed")
' "$d/log" "$1/fuzz/fuzz_stack" -max_total_time="$SPEED_SECONDS" -print_final_stats=1 -max_len=8192 \
        -artifact_prefix="$d/" "$d/corpus" "$SRC/fuzz/corpus/stack")
    [ "$cpu" != failed ] || { echo "fuzz_stack failed during the speed run: $d/log" >&2; return 1; }
    e=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -1)
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -1)
    percpu=$(python3 -c 'import sys; print("%.0f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$n" "$cpu")
    load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)
    echo "whole-stack target ($2): $e exec/s over ${SPEED_SECONDS}s (wall clock), $percpu exec per CPU-second" \
        "($n executions in ${cpu}s of CPU; load average $load on $(nproc 2>/dev/null || echo ?) CPUs)"
}
echo
echo "Executions per second of the whole-stack target on one core (target: 20,000):"
configure_in "$FUZZ" --enable-fuzz
make -C "$FUZZ" -j"$JOBS" fuzz/fuzz_stack >"$FUZZ/fuzz-speed-build.log" 2>&1 || { tail -30 "$FUZZ/fuzz-speed-build.log"; exit 1; }
speed "$FUZZ" "libFuzzer, ASan+UBSan"
configure_in "$FUZZ-nosan" --enable-fuzz=nosan
make -C "$FUZZ-nosan" -j"$JOBS" fuzz/fuzz_stack >"$FUZZ-nosan/fuzz-speed-build.log" 2>&1 || { tail -30 "$FUZZ-nosan/fuzz-speed-build.log"; exit 1; }
speed "$FUZZ-nosan" "libFuzzer, no sanitizers"
