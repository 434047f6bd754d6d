#!/bin/sh
# tests/data/record_kernel_captures.sh — records the Linux-kernel captures in this
# directory: a client and a server in two network namespaces this script creates and
# deletes, joined by a veth pair (198.18.0.2 -> 198.18.0.1, no default route, no link
# to any real interface), recorded with tcpdump on the server's side. Offloads are
# turned off so the frames are what a wire would carry (MTU-sized, checksums final).
# Needs root, ip, ethtool, tcpdump, socat, head. Usage: record_kernel_captures.sh [outdir]
set -eu
out=$(cd "${1:-$(dirname "$0")}" && pwd)
s=mgrec-srv-$$ c=mgrec-cli-$$
cleanup() { ip netns del "$s" 2>/dev/null || true; ip netns del "$c" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$s"; ip netns add "$c"
ip link add veth-s netns "$s" type veth peer name veth-c netns "$c"
ip -n "$s" addr add 198.18.0.1/24 dev veth-s; ip -n "$c" addr add 198.18.0.2/24 dev veth-c
for ns in "$s:veth-s" "$c:veth-c"; do
    ip netns exec "${ns%%:*}" ethtool -K "${ns#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "${ns%%:*}" link set "${ns#*:}" up
done

record() { # name snaplen server-command client-command
    ip netns exec "$s" tcpdump -q -i veth-s -s "$2" -w "$out/$1" tcp 2>/dev/null &
    dump=$!
    sleep 1
    ip netns exec "$s" sh -c "$3" &
    srv=$!
    sleep 0.5
    ip netns exec "$c" timeout 20 sh -c "$4" >/dev/null 2>&1 || true
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
ls -l "$out"/kernel-*.pcap
