#!/bin/sh
# tests/replay/replay_corpus.sh — every capture of the corpus ($MARGAY_TESTDATA/pcap)
# and of tests/data replays without a crash, a hang or a sanitizer report (with and
# without --fix-checksums); margay's output frames parse in tshark with no malformed
# or bad-checksum marks; the same replay twice gives byte-identical output; and the
# conversation captures get the verdicts in expected_verdicts.txt.
set -u
margay=${MARGAY_BUILDDIR:?}/margay
src=${MARGAY_SRCDIR:?}
corpus=${MARGAY_TESTDATA:-}/pcap
[ -d "$corpus" ] || { echo "SKIP: no corpus at $corpus (set MARGAY_TESTDATA)"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
have_tshark=0
command -v tshark >/dev/null 2>&1 && have_tshark=1
bad_filter='_ws.malformed || _ws.expert.severity == error || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad"'

find_capture() {
    for d in "$corpus" "$src/tests/data"; do
        [ -f "$d/$1" ] && { echo "$d/$1"; return 0; }
    done
    return 1
}

n=0
for cap in "$corpus"/*.pcap "$corpus"/*.pcapng "$src"/tests/data/*.pcap "$src"/tests/data/*.pcapng; do
    [ -f "$cap" ] || continue
    name=$(basename "$cap")
    n=$((n + 1))
    for opt in "" "-c"; do
        timeout 120 "$margay" replay -j $opt -o "$tmp/out$n$opt.pcapng" "$cap" >"$tmp/a.txt" 2>"$tmp/a.err"
        rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
            echo "FAIL: $name ($opt): exit $rc"; cat "$tmp/a.err"; fail=1; continue
        fi
        if [ -s "$tmp/a.err" ]; then
            echo "FAIL: $name ($opt): unexpected messages:"; cat "$tmp/a.err"; fail=1
        fi
    done
    # Determinism: the same replay again gives the same bytes and the same report.
    mv "$tmp/out$n-c.pcapng" "$tmp/first.pcapng"; mv "$tmp/a.txt" "$tmp/first.txt"
    timeout 120 "$margay" replay -j -c -o "$tmp/out$n-c.pcapng" "$cap" >"$tmp/a.txt" 2>&1
    if ! cmp -s "$tmp/first.pcapng" "$tmp/out$n-c.pcapng" || ! cmp -s "$tmp/first.txt" "$tmp/a.txt"; then
        echo "FAIL: $name: two replays differ"; fail=1
    fi
done
[ $n -gt 0 ] || { echo "FAIL: no captures in $corpus"; exit 1; }
# tshark reads every output (merged into one file, to start it once).
if [ $have_tshark = 1 ] && command -v mergecap >/dev/null 2>&1; then
    mergecap -w "$tmp/all.pcapng" "$tmp"/out*.pcapng || { echo "FAIL: mergecap cannot read margay's output"; fail=1; }
    bad=$(tshark -r "$tmp/all.pcapng" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
          -o udp.check_checksum:TRUE -Y "$bad_filter" 2>/dev/null)
    if [ $? -ne 0 ]; then
        echo "FAIL: tshark cannot read margay's output"; fail=1
    elif [ -n "$bad" ]; then
        echo "FAIL: tshark marks margay's frames:"; echo "$bad"; fail=1
    fi
    frames=$(tshark -r "$tmp/all.pcapng" 2>/dev/null | wc -l)
    echo "tshark checked $frames frames margay sent"
    [ "$frames" -gt 0 ] || { echo "FAIL: margay answered nothing in the whole corpus"; fail=1; }
else
    echo "note: tshark/mergecap not installed; output frames not checked"
fi

# Expected verdicts.
grep -v '^#' "$src/tests/replay/expected_verdicts.txt" | grep -v '^$' | while IFS='|' read -r file opts want; do
    cap=$(find_capture "$file") || { echo "FAIL: $file not found"; echo x >>"$tmp/vfail"; continue; }
    "$margay" replay -j $opts "$cap" >"$tmp/v.txt" 2>&1
    if ! grep -qF "verdict    $want" "$tmp/v.txt"; then
        echo "FAIL: $file: expected verdict '$want', got:"; grep '^verdict' "$tmp/v.txt"; echo x >>"$tmp/vfail"
    fi
done
[ -f "$tmp/vfail" ] && fail=1
[ $fail = 0 ] && echo "PASS: $n replays of $(ls "$corpus" | wc -l) corpus files"
exit $fail
