#!/bin/sh
# tests/replay/replay_net_pcap.sh — the replay through DPDK's net_pcap vdev agrees with
# the replay in memory, for every capture of the corpus ($MARGAY_TESTDATA/pcap) and of
# tests/data, replayed with --fix-checksums (so that the most frames reach TCP; the
# memory path alone is also run without it by replay_corpus.sh). One DPDK start costs
# about a second, so each capture takes the net_pcap path once.
#
# What must be the same (both runs use one seed):
#  - the exit status, and the report and verdicts line for line, except the `device`
#    line (only the net_pcap run has one) and the `output` line (the file's name);
#  - margay's output capture (-o), byte for byte: same frames, same virtual times;
#  - the frames in net_pcap's tx_pcap, byte for byte and in order, are the frames of
#    that output capture; only their timestamps may differ, because net_pcap stamps a
#    frame with the host's clock when it writes it, not with the replay's virtual time;
#  - every frame of rx_pcap (the frames addressed to the endpoint) was taken from the
#    port: the device line's count of frames received equals rx_pcap's, and its count
#    of frames sent equals what margay sent.
# A capture holding a frame longer than one mbuf cannot go through net_pcap (the DPDK
# netdev does not pass chained mbufs up); the replay refuses it with a clear error,
# and such captures are listed and skipped here. Needs root (DPDK's EAL) and tcpdump
# (to read both capture formats without timestamps).
set -u
margay=${MARGAY_BUILDDIR:?}/margay
src=${MARGAY_SRCDIR:?}
corpus=${MARGAY_TESTDATA:-}/pcap
[ -d "$corpus" ] || { echo "SKIP: no corpus at $corpus (set MARGAY_TESTDATA)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: DPDK's EAL needs root"; exit 77; }
command -v tcpdump >/dev/null 2>&1 || { echo "SKIP: tcpdump is not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-replay-net-pcap.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
compared=0
skipped=""

frames() { # the frames of a capture, without timestamps
    tcpdump -r "$1" -t -nn -xx 2>/dev/null
}

for cap in "$corpus"/*.pcap "$corpus"/*.pcapng "$src"/tests/data/*.pcap "$src"/tests/data/*.pcapng; do
    [ -f "$cap" ] || continue
    name=$(basename "$cap")
    for opt in "-c"; do
        rm -rf "$tmp/m" "$tmp/d"
        mkdir -p "$tmp/m" "$tmp/d"
        timeout 120 "$margay" replay -j $opt -o "$tmp/m/out.pcapng" "$cap" >"$tmp/m/report" 2>"$tmp/m/err"
        rc_m=$?
        timeout 120 "$margay" replay -j $opt --device net_pcap --device-dir "$tmp/d" -o "$tmp/d/out.pcapng" "$cap" \
            >"$tmp/d/report" 2>"$tmp/d/err"
        rc_d=$?
        if [ $rc_d = 1 ] && grep -q "longer than a buffer of net_pcap0" "$tmp/d/err"; then
            skipped="$skipped $name"
            continue
        fi
        what="$name ${opt:-(no options)}"
        if [ $rc_m != $rc_d ]; then
            echo "FAIL: $what: exit $rc_m in memory, $rc_d through net_pcap"; cat "$tmp/d/err"; fail=1; continue
        fi
        if [ -s "$tmp/d/err" ]; then
            echo "FAIL: $what: messages through net_pcap:"; cat "$tmp/d/err"; fail=1
        fi
        grep -v -e '^output ' "$tmp/m/report" >"$tmp/m/cmp"
        grep -v -e '^output ' -e '^device ' "$tmp/d/report" >"$tmp/d/cmp"
        if ! cmp -s "$tmp/m/cmp" "$tmp/d/cmp"; then
            echo "FAIL: $what: the reports differ:"; diff "$tmp/m/cmp" "$tmp/d/cmp"; fail=1
        fi
        if ! cmp -s "$tmp/m/out.pcapng" "$tmp/d/out.pcapng"; then
            echo "FAIL: $what: margay's output captures differ"; fail=1
        fi
        frames "$tmp/d/out.pcapng" >"$tmp/d/out.frames"
        frames "$tmp/d/tx.pcap" >"$tmp/d/tx.frames"
        if ! cmp -s "$tmp/d/out.frames" "$tmp/d/tx.frames"; then
            echo "FAIL: $what: tx_pcap does not hold margay's frames:"; diff "$tmp/d/out.frames" "$tmp/d/tx.frames" | head
            fail=1
        fi
        # device     net_pcap0 (DPDK) rx_pcap ..., tx_pcap ...: R frames received, S sent
        dev=$(grep '^device ' "$tmp/d/report")
        got=$(echo "$dev" | sed -n 's/.*: \([0-9]*\) frames received, \([0-9]*\) sent$/\1 \2/p')
        rx_frames=$(tcpdump -r "$tmp/d/rx.pcap" -nn 2>/dev/null | wc -l)
        out_frames=$(sed -n 's/.*, \([0-9]*\) out from margay$/\1/p' "$tmp/d/report")
        if [ "$got" != "$rx_frames $out_frames" ]; then
            echo "FAIL: $what: device line '$dev': want $rx_frames frames received, $out_frames sent"; fail=1
        fi
        compared=$((compared + 1))
    done
done
[ -n "$skipped" ] && echo "skipped (a frame longer than one mbuf):$skipped"
# Most of the corpus must take the path, or this test proves little.
[ $compared -ge 25 ] || { echo "FAIL: only $compared replays compared"; fail=1; }
[ $fail = 0 ] && echo "PASS: $compared replays agree in memory and through net_pcap"
exit $fail
