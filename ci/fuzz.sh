#!/bin/sh
# ci/fuzz.sh — CI fuzzing: builds the libFuzzer targets (clang, ASan+UBSan), then for
# each target replays its committed seeds and crash regressions, fuzzes it for a
# bounded time and prints its executions per second. A crash fails the run with the
# reproducer's path and the command that turns it into a regression test.
#
#   ci/fuzz.sh [BUILD_DIR]            (default: build-fuzz in the source tree)
# Environment:
#   FUZZ_SECONDS        time for the stack and tcp_sm targets (default 60)
#   FUZZ_SHORT_SECONDS  time for the wire, config and capture-reader targets (default 60)
#   FUZZ_TARGETS        which targets (default: all)
#   FUZZ_WORK_DIR       where grown corpora and crash artifacts go (default BUILD_DIR/fuzz-work)
#   CC                  a clang (default clang), or afl-clang-fast is NOT for this script
# Takes about 10 minutes with the defaults (a minute a target), plus the build. (pcap_reader needs libpcap:
# without it, it is left out.)
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
# A smaller use-after-free quarantine: the stack targets run about three times faster.
ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
export ASAN_OPTIONS
BUILD=${1:-$SRC/build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_SHORT_SECONDS=${FUZZ_SHORT_SECONDS:-60}
WORK=${FUZZ_WORK_DIR:-$BUILD/fuzz-work}
TARGETS=${FUZZ_TARGETS:-"wire_eth wire_arp wire_ipv4 wire_icmp wire_udp wire_tcp config pcap_reader stack tcp_sm"}
: "${MARGAY_TESTDATA:=}"

if [ ! -f "$BUILD/Makefile" ]; then
    [ -x "$SRC/configure" ] || (cd "$SRC" && autoreconf -fi)
    mkdir -p "$BUILD"
    (cd "$BUILD" && CC=${CC:-clang} "$SRC/configure" --enable-fuzz >configure.log 2>&1) ||
        { tail -20 "$BUILD/configure.log"; exit 1; }
fi
if ! grep -q '^#define HAVE_PCAP 1' "$BUILD/config.h"; then
    TARGETS=$(echo "$TARGETS" | sed 's/pcap_reader//')
fi
bins=""
for t in $TARGETS; do bins="$bins fuzz/fuzz_$t"; done
make -C "$BUILD" -j"${JOBS:-2}" $bins >"$BUILD/fuzz-build.log" 2>&1 || {
    tail -40 "$BUILD/fuzz-build.log"
    echo "ci/fuzz.sh: build failed (full log: $BUILD/fuzz-build.log)" >&2
    exit 1
}

failed=0
summary=""
for t in $TARGETS; do
    bin=$BUILD/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "ci/fuzz.sh: $bin missing (configured without --enable-fuzz?)" >&2; exit 1; }
    corpus=$WORK/corpus/$t
    art=$WORK/artifacts/$t
    mkdir -p "$corpus" "$art"
    seeds=$SRC/fuzz/corpus/$t
    regs=$SRC/fuzz/regressions/$t
    case $t in
    stack | tcp_sm) secs=$FUZZ_SECONDS maxlen=8192 ;;
    *) secs=$FUZZ_SHORT_SECONDS maxlen=4096 ;;
    esac
    log=$WORK/$t.log
    common="-artifact_prefix=$art/ -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=10 -max_len=$maxlen"

    # 1. Every committed seed and regression, and what earlier runs found, once.
    if ! "$bin" $common -runs=0 "$corpus" "$seeds" "$regs" >"$log" 2>&1; then
        status=replay
    # 2. Coverage-guided fuzzing for a bounded time; new inputs go to $corpus.
    elif ! "$bin" $common -max_total_time="$secs" -print_final_stats=1 "$corpus" "$seeds" "$regs" >"$log" 2>&1; then
        status=fuzz
    else
        status=ok
    fi
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    if [ "$status" = ok ]; then
        line=$(printf '%-10s ok     %4ss  %8s exec/s  cov %s  corpus %s' "$t" "$secs" "${execs:-?}" "${cov:-?}" \
            "$(ls "$corpus" | wc -l)")
    else
        failed=1
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz target failure|.*runtime error)' "$log" | head -5 >&2 || true
        line=$(printf '%-10s CRASH  (%s)  reproducer: %s' "$t" "$status" "${repro:-see $log}")
        echo "ci/fuzz.sh: $t crashed. Reproducer: ${repro:-see $log}" >&2
        echo "  replay:         $BUILD/fuzz/fuzz_$t ${repro:-FILE}" >&2
        echo "  as regression:  cp ${repro:-FILE} $SRC/fuzz/regressions/$t/crash-<what-it-broke>" >&2
    fi
    echo "$line"
    summary="$summary$line
"
done
echo "---- ci/fuzz.sh summary ----"
printf '%s' "$summary"
exit $failed
