#!/bin/sh
# tests/data/record_kernel_captures.sh — records the Linux-kernel captures in this
# directory: a client and a server in two network namespaces this script creates and
# deletes, joined by a veth pair (198.18.0.2 -> 198.18.0.1, no default route, no link
# to any real interface), recorded with tcpdump on the server's side. Offloads are
# turned off so the frames are what a wire would carry (MTU-sized, checksums final).
#
# Loss: this kernel has no netem (nor nftables/iptables, nor tc's gact), so the lossy
# capture goes through a third namespace, a router (198.18.1.2 -> 198.18.1.254 |
# 198.18.0.254 -> 198.18.0.1), whose interface towards the server has a token-bucket
# qdisc (tbf) with a short queue: the client's bulk transfer overflows it and the
# router drops segments the way a congested router does. Where the drops fall depends
# on timing, so each recording differs; the script checks that the qdisc dropped
# something. Needs root, ip, ethtool, tc, tcpdump, socat, head.
# Usage: record_kernel_captures.sh [outdir]
set -eu
out=$(cd "${1:-$(dirname "$0")}" && pwd)
s=mgrec-srv-$$ c=mgrec-cli-$$
ls=mgrec-lsrv-$$ lr=mgrec-lrtr-$$ lc=mgrec-lcli-$$
cleanup() { for ns in "$s" "$c" "$ls" "$lr" "$lc"; do ip netns del "$ns" 2>/dev/null || true; done; }
trap cleanup EXIT
ip netns add "$s"; ip netns add "$c"
ip link add veth-s netns "$s" type veth peer name veth-c netns "$c"
ip -n "$s" addr add 198.18.0.1/24 dev veth-s; ip -n "$c" addr add 198.18.0.2/24 dev veth-c
for ns in "$s:veth-s" "$c:veth-c"; do
    ip netns exec "${ns%%:*}" ethtool -K "${ns#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "${ns%%:*}" link set "${ns#*:}" up
done

record() { # name snaplen server-command client-command [server-ns client-ns]
    sns=${5:-$s} cns=${6:-$c}
    ip netns exec "$sns" tcpdump -q -i veth-s -s "$2" -w "$out/$1" tcp 2>/dev/null &
    dump=$!
    sleep 1
    ip netns exec "$sns" sh -c "$3" &
    srv=$!
    sleep 0.5
    ip netns exec "$cns" timeout 20 sh -c "$4" >/dev/null 2>&1 || true
    sleep 1
    kill "$srv" 2>/dev/null || true
    kill "$dump"; wait "$dump" 2>/dev/null || true
}
# Handshake, a 17-byte request echoed back, close by the client.
record kernel-echo-close.pcap 0 "timeout 10 socat TCP-LISTEN:7,reuseaddr EXEC:cat" \
    "printf 'hello from linux\n' | socat -t 1 - TCP:198.18.0.1:7"
# A 1 MiB upload to a sink (snap length 96: headers only, payload replayed as zeros).
record kernel-bulk-1mib.pcap 96 "timeout 15 socat -u TCP-LISTEN:9,reuseaddr OPEN:/dev/null" \
    "head -c 1048576 /dev/zero | socat -u - TCP:198.18.0.1:9"
# A SYN to a port nobody listens on: refused with RST.
record kernel-refused.pcap 0 "sleep 3" "socat -T 1 - TCP:198.18.0.1:8081 </dev/null"

# The lossy path: client -- router (tbf towards the server) -- server.
ip netns add "$ls"; ip netns add "$lr"; ip netns add "$lc"
ip link add veth-s netns "$ls" type veth peer name veth-rs netns "$lr"
ip link add veth-c netns "$lc" type veth peer name veth-rc netns "$lr"
ip -n "$ls" addr add 198.18.0.1/24 dev veth-s; ip -n "$lr" addr add 198.18.0.254/24 dev veth-rs
ip -n "$lr" addr add 198.18.1.254/24 dev veth-rc; ip -n "$lc" addr add 198.18.1.2/24 dev veth-c
for ns in "$ls:veth-s" "$lr:veth-rs" "$lr:veth-rc" "$lc:veth-c"; do
    ip netns exec "${ns%%:*}" ethtool -K "${ns#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "${ns%%:*}" link set "${ns#*:}" up
done
ip -n "$ls" route add 198.18.1.0/24 via 198.18.0.254
ip -n "$lc" route add 198.18.0.0/24 via 198.18.1.254
ip netns exec "$lr" sysctl -qw net.ipv4.ip_forward=1
# 20 Mbit/s with a 12000-byte queue (8 full frames): slow start overflows it.
ip netns exec "$lr" tc qdisc add dev veth-rs root tbf rate 20mbit burst 3028 limit 12000
# A 256 KiB upload through the congested router (headers only), closed by the client.
record kernel-bulk-loss.pcap 96 "timeout 15 socat -u TCP-LISTEN:9,reuseaddr OPEN:/dev/null" \
    "head -c 262144 /dev/zero | socat -u - TCP:198.18.0.1:9" "$ls" "$lc"
dropped=$(ip netns exec "$lr" tc -s qdisc show dev veth-rs | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p')
echo "router dropped ${dropped:-?} frames"
[ "${dropped:-0}" -gt 0 ] || { echo "no frame was dropped: record again" >&2; exit 1; }
ls -l "$out"/kernel-*.pcap
