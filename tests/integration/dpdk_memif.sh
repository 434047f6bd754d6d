#!/bin/sh
# tests/integration/dpdk_memif.sh — two margay processes over DPDK's net_memif (shared
# memory rings, no kernel on the path): one runs the examples' servers, the other
# their clients, each pinned to its own core when the machine has two. TCP ping-pong
# (64 B, 1 KiB and 1 MiB, every byte checked by both sides) and the TCP echo server
# with several concurrent clients. (UDP ping-pong is not run: its client binds to the
# server's address, which only works when both share a host.) The memif socket lives
# in a private temporary directory; DPDK runs with --no-pci, on hugepages when the
# machine has them (--huge-unlink: nothing left behind) or --no-huge, and one
# --file-prefix per process (memif needs EAL's multi-process channel, so no
# --in-memory or --no-shconf). Every run is bounded by --timeout and `timeout`.
set -u

B=${MARGAY_BUILDDIR:-.}
. "${MARGAY_SRCDIR:-$(dirname "$0")/../..}/tests/dpdk/eal_memory.sh"
EX=$B/examples
skip() { echo "SKIP: $*"; exit 77; }
for ex in tcp-ping-pong tcp-echo; do
    [ -x "$EX/margay-example-$ex" ] || skip "$EX/margay-example-$ex is not built"
done
command -v timeout >/dev/null 2>&1 || skip "needs timeout (coreutils)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-memif.XXXXXX") || exit 99
spid=
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null
    rm -rf "$tmp"
    dpdk_memory_cleanup mgmemif_s$$ mgmemif_c$$
}
trap cleanup EXIT INT TERM

ncpu=$(nproc 2>/dev/null || echo 1)
pin() { # core: taskset when there is more than one core
    if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null 2>&1; then echo "taskset -c $1"; fi
}

# Writes the configuration of one side: role server/client, address, core.
memif_config() { # role addr core prefix
    dpdk_memory "$4" 256 multiprocess || exit 1
    cat >"$tmp/$1.yaml" <<YAML
margay:
  libos: inet
  netdev: dpdk
demikernel:
  local_ipv4_addr: $2
dpdk:
  eal_init: ["--no-pci", $DPDK_MEM_YAML, "--no-telemetry", "-l", "$3", "--log-level=warning",
             "--vdev=net_memif0,role=$1,id=0,socket=$tmp/memif.sock,socket-abstract=no"]
  port: net_memif0
  rx_descriptors: 1024
  tx_descriptors: 1024
  mempool_size: 8191
  link_timeout_ms: 10000
YAML
}
SERVER_CORE=0 CLIENT_CORE=1
[ "$ncpu" -ge 2 ] || CLIENT_CORE=0
memif_config server 198.18.0.1 $SERVER_CORE mgmemif_s$$
memif_config client 198.18.0.2 $CLIENT_CORE mgmemif_c$$

failures=0
# run EXAMPLE "server args" "client args": server first, then the client; both must exit 0.
run() {
    ex=$1 sargs=$2 cargs=$3
    DEMI_LIBOS=inet DEMI_CONFIG=$tmp/server.yaml timeout 40 $(pin $SERVER_CORE) \
        "$EX/margay-example-$ex" --server 198.18.0.1 7000 $sargs --timeout 30 >"$tmp/s.out" 2>&1 &
    spid=$!
    # The memif client connects once at start: wait for the server's socket.
    i=0
    while [ ! -S "$tmp/memif.sock" ] && [ $i -lt 100 ] && kill -0 $spid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    DEMI_LIBOS=inet DEMI_CONFIG=$tmp/client.yaml timeout 40 $(pin $CLIENT_CORE) \
        "$EX/margay-example-$ex" --client 198.18.0.1 7000 $cargs --timeout 30 >"$tmp/c.out" 2>&1
    cst=$?
    wait $spid; sst=$?
    spid=
    rm -f "$tmp/memif.sock"
    if [ $cst -eq 0 ] && [ $sst -eq 0 ]; then
        echo "PASS: $ex $cargs: $(tail -1 "$tmp/c.out")"
    else
        echo "FAIL: $ex $cargs (client $cst, server $sst)"
        echo "--- client"; cat "$tmp/c.out"; echo "--- server"; cat "$tmp/s.out"
        failures=$((failures + 1))
    fi
}

run tcp-ping-pong "64 2000" "64 2000"
run tcp-ping-pong "1024 2000" "1024 2000"
run tcp-ping-pong "1048576 8" "1048576 8"
run tcp-echo "--nclients 8" "--nclients 8 --nrequests 100 --bufsize 4096"


echo "$failures failure(s)"
[ $failures -eq 0 ]
