#!/bin/sh
# fuzz/grow-corpora.sh — the second step of making the committed seed corpora of the
# two stack targets (stack, tcp_sm): fuzz from the generated seeds for a bounded,
# seeded number of runs, and keep the minimal set of new inputs that reach coverage
# the seeds do not, as fuzz/corpus/<target>/grown-<sha1>.
#
# Why: fuzz/make-corpora.py replays real and simulated conversations, which rarely
# reach what only a hostile or strange peer causes (a zero window held until the
# persist timer gives up, keepalive probes unanswered, duplicate ACKs driving fast
# recovery, TIME-WAIT expiring). The fuzzer reaches those states in minutes; keeping
# its finds makes `make check` replay them on every build and makes the coverage
# figure of ci/fuzz-coverage.sh the same on a clean clone as after a long run.
#
#   fuzz/grow-corpora.sh [FUZZ_BUILD_DIR]     (default: build-fuzz in the source tree)
# FUZZ_BUILD_DIR is a `CC=clang ./configure --enable-fuzz` build (ci/fuzz.sh makes one).
# Environment: GROW_TARGETS (default: every target), GROW_RUNS (inputs per target;
# default 2000000 for stack, 400000 for the slower tcp_sm: two to three minutes each),
# GROW_SEED (libFuzzer's -seed, default 1).
# Run it after fuzz/make-corpora.py (which wipes the corpus directories); running it
# again reconsiders the grown inputs already there together with the new ones.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-fuzz}
TARGETS=${GROW_TARGETS:-"wire_eth wire_arp wire_ipv4 wire_icmp wire_udp wire_tcp config pcap_reader stack tcp_sm"}
SEED=${GROW_SEED:-1}
ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
export ASAN_OPTIONS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-grow.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

for t in $TARGETS; do
    bin=$BUILD/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "grow-corpora: $bin is not built (CC=clang ./configure --enable-fuzz; make fuzz/fuzz_$t)" >&2; exit 1; }
    case $t in
    tcp_sm) runs=${GROW_RUNS:-400000} ;;
    *) runs=${GROW_RUNS:-2000000} ;;
    esac
    seeds=$SRC/fuzz/corpus/$t
    regs=$SRC/fuzz/regressions/$t
    pool=$tmp/$t-pool
    mkdir -p "$pool"
    # Earlier grown inputs go back into the pool: the merge keeps them only if they
    # still add coverage beyond the generated seeds.
    find "$seeds" -name 'grown-*' -exec mv {} "$pool/" \;
    common="-max_len=8192 -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=10"
    # shellcheck disable=SC2086
    if ! "$bin" $common -seed="$SEED" -runs="$runs" -artifact_prefix="$tmp/$t-" "$pool" "$seeds" "$regs" \
        >"$tmp/$t-fuzz.log" 2>&1; then
        tail -30 "$tmp/$t-fuzz.log" >&2
        echo "grow-corpora: $t crashed while growing: fix it first (ci/fuzz.sh says how to keep the reproducer)" >&2
        exit 1
    fi
    ls "$seeds" | sort >"$tmp/$t-before"
    # shellcheck disable=SC2086
    "$bin" $common -use_counters=0 -merge=1 "$seeds" "$pool" "$regs" >"$tmp/$t-merge.log" 2>&1 ||
        { tail -20 "$tmp/$t-merge.log" >&2; exit 1; }
    ls "$seeds" | sort | comm -13 "$tmp/$t-before" - | while read -r f; do
        mv "$seeds/$f" "$seeds/grown-$f"
    done
    n=$(find "$seeds" -name 'grown-*' | wc -l)
    bytes=$(find "$seeds" -name 'grown-*' -exec cat {} + | wc -c)
    echo "$t: $runs runs from seed $SEED; $n grown inputs kept ($bytes bytes) in $seeds"
done
