#!/bin/sh
# tests/sim/determinism.sh — one seed, twice: the captures (one pcapng per link of the
# topology: link i joins host i to the switch) and the event traces must be
# byte-identical; another seed must differ. Also checks, when tshark is installed,
# that it opens every link's capture, that each holds only its own link's frames
# (host i's MAC on every frame, both directions), and that a run without corruption
# has no frame tshark marks malformed.
set -u
MARGAY=${MARGAY:-./margay}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-sim-det.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
# scenario SEED NAME [FAULTS...]
scenario() {
    seed=$1 name=$2
    shift 2
    "$MARGAY" sim --seed "$seed" --hosts 3 --loss 0.1 --duplicate 0.02 --reorder 0.05 --jitter 20us \
        --partition 0-2@50ms+400ms "$@" \
        --proc "0:xfer --server 10.0.0.1 80 --conns 3" \
        --proc "1:xfer --client 10.0.0.1 80 --conns 2 --min 1000 --max 300000 --seed 7" \
        --proc "2:xfer --client 10.0.0.1 80 --conns 1 --min 1000 --max 300000 --seed 8" \
        --pcap "$tmp/$name" --trace "$tmp/$name.trace" --trace-frames --quiet
}
fail() { echo "FAIL: $*"; exit 1; }
link() { echo "$tmp/$1-seed$2-link-host$3-switch.pcapng"; }
scenario 11 a --corrupt 0.02 || fail "seed 11 did not pass"
scenario 11 b --corrupt 0.02 || fail "seed 11 did not pass the second time"
scenario 12 c --corrupt 0.02 || fail "seed 12 did not pass"
scenario 11 clean || fail "seed 11 without corruption did not pass"
for h in 0 1 2; do
    [ -s "$(link a 11 $h)" ] || fail "no capture for the link of host $h"
    cmp "$(link a 11 $h)" "$(link b 11 $h)" || fail "captures of the link of host $h differ for one seed"
done
[ "$(ls "$tmp" | grep -c '^a-seed11-.*pcapng$')" -eq 3 ] || fail "not one capture per link: $(ls "$tmp")"
cmp "$tmp/a.trace" "$tmp/b.trace" || fail "traces differ for one seed"
grep -q "frame corrupted" "$tmp/a.trace" || fail "the trace shows no corrupted frame"
grep -q "partition healed host 0 <-> host 2" "$tmp/a.trace" || fail "the trace shows no heal"
cmp -s "$tmp/a.trace" "$tmp/c.trace" && fail "seeds 11 and 12 gave the same trace"
echo "PASS: same seed, byte-identical captures of every link and trace ($(wc -l <"$tmp/a.trace") trace lines)"

if ! command -v tshark >/dev/null 2>&1; then
    echo "SKIP: tshark is not installed: the captures were not opened in it"
    exit 0
fi
for run in "a 11" "clean 11"; do
    set -- $run
    for h in 0 1 2; do
        f=$(link "$1" "$2" $h)
        tshark -r "$f" -T fields -e frame.interface_name -e frame.p2p_dir -e eth.src -e eth.dst \
            >"$tmp/fields" 2>"$tmp/err" || fail "tshark cannot read $f: $(cat "$tmp/err")"
        grep -qi "cut short\|corrupt\|damaged\|isn't a capture" "$tmp/err" && fail "tshark on $f: $(cat "$tmp/err")"
        n=$(wc -l <"$tmp/fields")
        [ "$n" -gt 10 ] || fail "tshark read $n frames from $f"
        # Frames the fault model corrupted may carry any bits: the rest is checked on
        # the run without corruption.
        [ "$1" = clean ] || continue
        mac="02:00:00:00:00:0$((h + 1))"
        # Direction 0: sent by host h onto its link; 1: delivered to it from the switch.
        awk -v name="host$h-switch" -v mac="$mac" -F '\t' '
            $1 != name { bad = "interface " $1; exit }
            $2 == 0 && $3 != mac { bad = "outbound frame from " $3; exit }
            $2 == 1 && $4 != mac && $4 != "ff:ff:ff:ff:ff:ff" { bad = "inbound frame to " $4; exit }
            { dirs[$2] = 1 }
            END { if (bad == "" && !(0 in dirs && 1 in dirs)) bad = "frames in one direction only"; if (bad != "") { print bad; exit 1 } }
        ' "$tmp/fields" >"$tmp/why" || fail "$f holds frames of another link: $(cat "$tmp/why")"
        m=$(tshark -r "$f" -Y _ws.malformed 2>/dev/null | wc -l)
        [ "$m" -eq 0 ] || fail "tshark marks $m frames of $f malformed"
    done
done
echo "PASS: tshark opens the capture of every link; each holds its own link's frames; none malformed"
