#!/bin/sh
# tests/integration/dpdk_kernel_peer.sh — margay's inet libOS on DPDK's net_tap with
# the Linux kernel as a live peer, both ways round.
#
# Topology (all inside one network namespace the test creates and deletes):
#   kernel stack  198.18.0.1/24 on mgtap0  <->  tap fd  <->  margay (net_tap PMD) 198.18.0.2
# The margay process runs inside the namespace, so net_tap creates mgtap0 there; the
# kernel side of the tap is the kernel's own interface, and kernel programs in the
# namespace (ping, socat, curl, wrk, the posix libOS) reach margay through it. net_tap
# gives the kernel interface the PMD's MAC; the test gives mgtap0 a MAC of its own so
# the two ends of the link are distinct stations. No default route, no link to any
# real interface; the namespace goes away on exit (trap).
#
# Needs root (skips with exit 77 otherwise). Every transfer is bounded by count and by
# `timeout`. DPDK runs with --no-pci, on hugepages when the machine has them
# (--in-memory) or --no-huge, and a distinct --file-prefix per process.
set -u

B=${MARGAY_BUILDDIR:-.}
. "${MARGAY_SRCDIR:-$(dirname "$0")/../..}/tests/dpdk/eal_memory.sh"
EX=$B/examples
RUN_LIMIT=30
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces and a tap device); CI runs it as root"
command -v ip >/dev/null 2>&1 || skip "needs iproute2 (ip)"
[ -c /dev/net/tun ] || skip "needs /dev/net/tun"
for ex in tcp-echo tcp-ping-pong udp-ping-pong http-server; do
    [ -x "$EX/margay-example-$ex" ] || skip "$EX/margay-example-$ex is not built"
done

NS=mgkp$$
TAP=mgtap0
K_ADDR=198.18.0.1
M_ADDR=198.18.0.2
K_MAC=02:00:c6:12:00:01
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-kpeer.XXXXXX") || exit 99
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    rm -rf "$tmp"
    i=1
    while [ $i -le $run_no ]; do dpdk_memory_cleanup "mgkp$$_$i"; i=$((i + 1)); done
}
trap cleanup EXIT INT TERM
ip netns add "$NS" || skip "cannot create a network namespace"
# Background processes are started with `ip netns exec` itself (not through this
# function, which would put a subshell between $! and the process).
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

run_no=0
# Writes the margay configuration for one process (each its own EAL file prefix) and
# names it in $cfg.
# With "static", margay knows the kernel's MAC from the start instead of by ARP: a
# client starts talking before the test has given the tap its MAC and address.
margay_config() {
    run_no=$((run_no + 1))
    dpdk_memory "mgkp$$_$run_no" 256 || exit 1
    arp=
    [ "${1:-}" = static ] && arp="inetstack_config:
  arp_table:
    \"$K_MAC\": \"$K_ADDR\""
    cat >"$tmp/m$run_no.yaml" <<YAML
margay:
  libos: inet
  netdev: dpdk
demikernel:
  local_ipv4_addr: $M_ADDR
dpdk:
  eal_init: ["--no-pci", $DPDK_MEM_YAML, "--no-telemetry", "--log-level=warning",
             "--vdev=net_tap0,iface=$TAP"]
  port: net_tap0
  rx_descriptors: 256
  tx_descriptors: 256
  mempool_size: 4095
  link_timeout_ms: 5000
$arp
YAML
    cfg=$tmp/m$run_no.yaml
}

# Gives the kernel's end of the tap its MAC and address once margay has created and
# started it (the PMD sets the interface's MAC and brings it up when the port starts,
# so anything set before that would be undone).
wait_tap() {
    i=0
    while ! nsx ip link show "$TAP" 2>/dev/null | grep -q '[<,]UP[,>]'; do
        i=$((i + 1)); [ $i -gt 400 ] && return 1; sleep 0.1
    done
    nsx ip link set "$TAP" address "$K_MAC" 2>/dev/null ||
        { nsx ip link set "$TAP" down; nsx ip link set "$TAP" address "$K_MAC"; }
    nsx ip addr add "$K_ADDR/24" dev "$TAP" 2>/dev/null
    nsx ip link set "$TAP" up
}

# Starts a margay example in the namespace on net_tap; waits for "ready" (servers)
# or just for the tap (clients). Sets $mpid, output in $tmp/$name.out.
start_margay() {
    name=$1 want_ready=$2; shift 2
    margay_config
    ip netns exec "$NS" env DEMI_LIBOS=inet DEMI_CONFIG="$cfg" timeout $RUN_LIMIT "$EX/margay-example-$name" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    mpid=$!
    pids="$pids $mpid"
    wait_tap || { fail "$name: the tap $TAP never appeared"; cat "$tmp/$name.err"; return 1; }
    if [ "$want_ready" = ready ]; then
        i=0
        while ! grep -q ready "$tmp/$name.out" 2>/dev/null; do
            i=$((i + 1))
            if [ $i -gt 100 ] || ! kill -0 $mpid 2>/dev/null; then
                fail "$name: server not ready"; cat "$tmp/$name.err"; return 1
            fi
            sleep 0.1
        done
    fi
}

finish_margay() { # waits for the margay process; returns its status
    wait "$mpid"; st=$?
    pids=$(echo "$pids" | sed "s/ $mpid\b//")
    return $st
}

stop_margay() {
    kill "$mpid" 2>/dev/null
    finish_margay
    # The tap goes away with its process; the next one must not see the old one.
    i=0
    while nsx ip link show "$TAP" >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}

# 1. ping and TCP echo with nc/socat against margay's tcp-echo server.
if start_margay tcp-echo ready --server $M_ADDR 7 --nclients 2 --timeout 25; then
    if nsx ping -c 3 -i 0.2 -W 2 $M_ADDR >"$tmp/ping.out" 2>&1 && grep -q ' 0% packet loss' "$tmp/ping.out"; then
        pass "ping $M_ADDR (margay answers ICMP echo)"
    else
        fail "ping"; cat "$tmp/ping.out"
    fi
    head -c 300000 /dev/urandom >"$tmp/in.bin"
    if command -v socat >/dev/null 2>&1; then
        nsx timeout 20 socat -t 5 -T 10 - TCP:$M_ADDR:7 <"$tmp/in.bin" >"$tmp/out.bin" 2>"$tmp/socat.err"
        if cmp -s "$tmp/in.bin" "$tmp/out.bin"; then pass "socat: 300000 bytes echoed intact"
        else fail "socat echo: $(wc -c <"$tmp/out.bin") bytes back"; cat "$tmp/socat.err"; fi
    else
        echo "note: socat not installed; nc only"
    fi
    printf 'hello margay\n' >"$tmp/hello.txt"
    nsx timeout 10 nc -N -w 5 $M_ADDR 7 <"$tmp/hello.txt" >"$tmp/hello.out" 2>&1
    if cmp -s "$tmp/hello.txt" "$tmp/hello.out"; then pass "nc: line echoed"
    else fail "nc echo: got '$(cat "$tmp/hello.out")'"; fi
    if finish_margay; then pass "tcp-echo server exited cleanly"; else fail "tcp-echo server exit status"; cat "$tmp/tcp-echo.err"; fi
fi

# 2. curl and wrk against margay's HTTP server (keep-alive).
if start_margay http-server ready --server $M_ADDR 80 --timeout 25; then
    if command -v curl >/dev/null 2>&1; then
        # Three requests on one connection: curl reuses it (keep-alive).
        nsx timeout 10 curl -s -o "$tmp/c1" -o "$tmp/c2" -o "$tmp/c3" -w '%{http_code} %{num_connects}\n' \
            http://$M_ADDR/ http://$M_ADDR/100000 http://$M_ADDR/1 >"$tmp/curl.out" 2>&1
        codes=$(tr '\n' ' ' <"$tmp/curl.out")
        if [ "$codes" = "200 1 200 0 200 0 " ] && [ "$(cat "$tmp/c1")" = 0123456789abcdef ] &&
           [ "$(wc -c <"$tmp/c2")" -eq 100000 ] && [ "$(head -c 16 "$tmp/c2")" = 0123456789abcdef ] &&
           [ "$(cat "$tmp/c3")" = 0 ]; then
            pass "curl: 3 requests on one kept-alive connection, bodies right"
        else
            fail "curl: '$codes'"
        fi
        code=$(nsx timeout 10 curl -s -o /dev/null -w '%{http_code}' http://$M_ADDR/nope)
        [ "$code" = 404 ] && pass "curl: 404 for an unknown path" || fail "curl 404: got $code"
        size=$(nsx timeout 10 curl -s -H 'Connection: close' http://$M_ADDR/4000000 | wc -c)
        [ "$size" -eq 4000000 ] && pass "curl: 4 MB body with Connection: close" || fail "curl 4 MB: $size bytes"
    else
        echo "note: curl not installed; skipped the curl checks"
    fi
    if command -v wrk >/dev/null 2>&1; then
        nsx timeout 15 wrk -t1 -c4 -d2s --timeout 2s http://$M_ADDR/1024 >"$tmp/wrk.out" 2>&1
        reqs=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
        if [ -n "$reqs" ] && [ "$reqs" -gt 0 ] && ! grep -q 'Non-2xx\|Socket errors' "$tmp/wrk.out"; then
            pass "wrk: $reqs requests in 2 s over 4 connections, no errors ($(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out") req/s)"
        else
            fail "wrk"; cat "$tmp/wrk.out"
        fi
    else
        echo "note: wrk not installed; skipped the load check"
    fi
    stop_margay
fi

# 3. The other way round: margay clients against kernel servers (the posix libOS
#    examples are the kernel's TCP and UDP). The kernel server listens on 0.0.0.0
#    first; 198.18.0.1 exists once the margay client has created the tap.
# (UDP ping-pong is not run this way: its client binds to the server's address.)
for ex in tcp-ping-pong; do
    ip netns exec "$NS" env DEMI_LIBOS=posix timeout $RUN_LIMIT "$EX/margay-example-$ex" --server 0.0.0.0 9000 1000 200 \
        --timeout 20 >"$tmp/k-$ex.out" 2>&1 &
    kpid=$!; pids="$pids $kpid"
    sleep 0.3
    margay_config static
    ip netns exec "$NS" env DEMI_LIBOS=inet DEMI_CONFIG="$cfg" timeout $RUN_LIMIT "$EX/margay-example-$ex" \
        --client $K_ADDR 9000 1000 200 --timeout 20 >"$tmp/$ex.client.out" 2>&1 &
    mpid=$!; pids="$pids $mpid"
    wait_tap || fail "$ex: the tap never appeared"
    if finish_margay; then pass "$ex: margay client (inet, net_tap) vs kernel server: $(tail -1 "$tmp/$ex.client.out")"
    else fail "$ex: margay client"; cat "$tmp/$ex.client.out"; fi
    wait "$kpid" || { fail "$ex: kernel server"; cat "$tmp/k-$ex.out"; }
    pids=$(echo "$pids" | sed "s/ $kpid\\b//")
done

echo "$failures failure(s)"
[ $failures -eq 0 ]
