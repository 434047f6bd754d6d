#!/bin/sh
# tests/replay/replay_errors.sh — a malformed capture gives one clear error and exit
# status 1, never a crash: a missing file, an empty file, text, a pcap header with a
# truncated record, an unsupported link type, a record longer than the snap length,
# a file that ends in the middle of the header; plus usage errors (exit 2).
set -u
margay=${MARGAY_BUILDDIR:?}/margay
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# pcap global header: magic, v2.4, zone 0, sigfigs 0, snaplen, linktype (little-endian).
header() { # snaplen linktype
    printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000'
    printf "$1"
    printf "$2"
}
header '\377\377\000\000' '\001\000\000\000' >"$tmp/truncated-record.pcap"
printf '\000\000\000\000\000\000\000\000\100\000\000\000\100\000\000\000abcdef' >>"$tmp/truncated-record.pcap"
header '\377\377\000\000' '\151\000\000\000' >"$tmp/linktype-80211.pcap"
header '\100\000\000\000' '\001\000\000\000' >"$tmp/caplen-over-snaplen.pcap"
printf '\000\000\000\000\000\000\000\000\000\000\004\000\000\000\004\000' >>"$tmp/caplen-over-snaplen.pcap"
head -c 1000 /dev/zero | tr '\0' 'A' >>"$tmp/caplen-over-snaplen.pcap"
header '\377\377\000\000' '\001\000\000\000' | head -c 10 >"$tmp/short-header.pcap"
: >"$tmp/empty.pcap"
echo "this is not a capture" >"$tmp/text.pcap"
# A raw-IP capture whose packet is not IP at all.
header '\377\377\000\000' '\145\000\000\000' >"$tmp/raw-not-ip.pcap"
printf '\000\000\000\000\000\000\000\000\004\000\000\000\004\000\000\000\377\377\377\377' >>"$tmp/raw-not-ip.pcap"

expect_error() { # file pattern
    "$margay" replay "$1" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 1 ]; then
        echo "FAIL: $(basename "$1"): exit $rc, expected 1"; cat "$tmp/out" "$tmp/err"; fail=1
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^margay replay: .*$2" "$tmp/err"; then
        echo "FAIL: $(basename "$1"): expected one line matching '$2', got:"; cat "$tmp/err"; fail=1
    else
        echo "ok: $(basename "$1"): $(cat "$tmp/err")"
    fi
}
expect_error "$tmp/missing.pcap" "not a readable pcap"
expect_error "$tmp/empty.pcap" "not a readable pcap"
expect_error "$tmp/text.pcap" "not a readable pcap"
expect_error "$tmp/short-header.pcap" "not a readable pcap"
expect_error "$tmp/truncated-record.pcap" "corrupt or truncated"
expect_error "$tmp/linktype-80211.pcap" "link type 105 .* not supported"
expect_error "$tmp/caplen-over-snaplen.pcap" "corrupt or truncated"
# One packet that is not IP is skipped (real SLL captures hold other protocols), and said.
"$margay" replay "$tmp/raw-not-ip.pcap" >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ] || ! grep -q "1 frames skipped, not convertible to Ethernet (first: frame 1: 4 bytes cannot be read as RAW (raw IP): too short for its link header, or not IPv4, IPv6 or ARP)" "$tmp/out"; then
    echo "FAIL: raw-not-ip.pcap: exit $rc"; cat "$tmp/out"; fail=1
fi

# net_pcap takes comma-separated device arguments: a path with a comma is refused before DPDK starts.
"$margay" replay --device net_pcap --device-dir "$tmp/a,b" "$tmp/raw-not-ip.pcap" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 1 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^margay replay: .*net_pcap cannot take a path" "$tmp/err"; then
    echo "FAIL: --device-dir with a comma: exit $rc"; cat "$tmp/err"; fail=1
fi

for args in "" "--app nope x.pcap" "--ip 1.2.3 x.pcap" "--tail 0 x.pcap" "a.pcap b.pcap" "--device nope x.pcap" \
    "--device-dir /tmp x.pcap" "x.pcap -- --server 1.2.3.4 80"; do
    "$margay" replay $args >/dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] || { echo "FAIL: margay replay $args: exit $rc, expected 2"; fail=1; }
done
"$margay" replay --help | grep -q 'usage: margay replay' || { echo "FAIL: --help"; fail=1; }
exit $fail
