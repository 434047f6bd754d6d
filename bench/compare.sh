#!/bin/sh
# bench/compare.sh — one TCP program, three paths, one table: the examples' tcp-ping-pong
# (median and p99 round trip for 64 B and 1 KiB messages) and a one-way bulk transfer
# (tcp-push-pop, 1 MiB messages) over
#   posix  the posix libOS on loopback (the Linux kernel's TCP), two processes;
#   memif  the inet libOS over DPDK net_memif between two processes;
#   ring   the inet libOS over a DPDK net_ring pair, two stacks in one process
#          (bench/dpdk_ring_bench: the same exchange through PDPIX, polled in turn).
# Two-process rows pin server and client to cores 0 and 1 (taskset, and EAL's -l).
# Prints numbers only; run it on an otherwise idle machine.
#
# Usage: bench/compare.sh [ROUND_TRIPS] [BULK_MiB]     (from the build directory)
set -u
B=${MARGAY_BUILDDIR:-.}
EX=$B/examples
N=${1:-20000}
MIB=${2:-256}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-bench.XXXXXX") || exit 1
spid=
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
port=$((30000 + $$ % 20000))

memif_config() { # role addr core
    cat >"$tmp/$1.yaml" <<YAML
margay: {libos: inet, netdev: dpdk}
demikernel: {local_ipv4_addr: $2}
tcp_socket_options: {nodelay: true}
dpdk:
  eal_init: ["--no-pci", "--no-huge", "-m", "512", "--no-telemetry", "-l", "$3", "--log-level=warning",
             "--file-prefix=mgbench_$1$$", "--vdev=net_memif0,role=$1,id=0,socket=$tmp/memif.sock,socket-abstract=no"]
  port: net_memif0
YAML
}
memif_config server 198.18.0.1 0
memif_config client 198.18.0.2 1

# pair LIBOS EXAMPLE SERVER-ADDR ARGS...: runs server (core 0) and client (core 1); prints the client's last line.
pair() {
    libos=$1 ex=$2 addr=$3; shift 3
    if [ "$libos" = inet ]; then
        sc="DEMI_CONFIG=$tmp/server.yaml" cc="DEMI_CONFIG=$tmp/client.yaml"; rm -f "$tmp/memif.sock"
    else
        sc="X=" cc="X="
    fi
    env DEMI_LIBOS=$libos $sc timeout 120 taskset -c 0 "$EX/margay-example-$ex" --server $addr $port "$@" --timeout 100 \
        >"$tmp/s.out" 2>&1 &
    spid=$!
    # posix: the server says "ready"; memif: its link (and "ready") only comes up once
    # the client connects, so wait for the server's socket instead.
    i=0
    while ! grep -q ready "$tmp/s.out" 2>/dev/null && [ ! -S "$tmp/memif.sock" ] && [ $i -lt 100 ]; do
        sleep 0.1; i=$((i + 1))
    done
    t0=$(date +%s%N)
    env DEMI_LIBOS=$libos $cc timeout 120 taskset -c 1 "$EX/margay-example-$ex" --client $addr $port "$@" --timeout 100 \
        >"$tmp/c.out" 2>&1
    wait $spid; spid=
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000000 )) $(tail -1 "$tmp/c.out")"
    port=$((port + 1))
}
rtt() { sed -n 's/.*rtt median \([0-9.]*\) us, p99 \([0-9.]*\) us.*/\1 \2/p'; }
gbps() { awk -v mib="$MIB" '{ if ($1 > 0) printf "%.2f", mib * 8 * 1048576 / ($1 / 1000) / 1e9; else print "-" }'; }

printf '%-28s %12s %12s %12s %12s %14s\n' "path" "64B med us" "64B p99 us" "1KiB med us" "1KiB p99 us" "bulk Gbit/s"
for row in posix memif ring; do
    case $row in
    posix)
        a=$(pair posix tcp-ping-pong 127.0.0.1 64 $N | rtt); b=$(pair posix tcp-ping-pong 127.0.0.1 1024 $N | rtt)
        c=$(pair posix tcp-push-pop 127.0.0.1 1048576 $MIB | gbps); name="posix libOS, loopback" ;;
    memif)
        a=$(pair inet tcp-ping-pong 198.18.0.1 64 $N | rtt); b=$(pair inet tcp-ping-pong 198.18.0.1 1024 $N | rtt)
        c=$(pair inet tcp-push-pop 198.18.0.1 1048576 $MIB | gbps); name="inet libOS, net_memif" ;;
    ring)
        a=$("$B/bench/dpdk_ring_bench" 64 $N 1 | sed -n 's/.*median \([0-9.]*\) us p99 \([0-9.]*\) us/\1 \2/p')
        o=$("$B/bench/dpdk_ring_bench" 1024 $N $MIB)
        b=$(echo "$o" | sed -n 's/.*median \([0-9.]*\) us p99 \([0-9.]*\) us/\1 \2/p')
        c=$(echo "$o" | sed -n 's/.*s, \([0-9.]*\) Gbit\/s/\1/p'); name="inet libOS, net_ring (1 proc)" ;;
    esac
    set -- $a $b
    printf '%-28s %12s %12s %12s %12s %14s\n' "$name" "${1:--}" "${2:--}" "${3:--}" "${4:--}" "${c:--}"
done
echo "($N round trips per size; bulk $MIB MiB one way; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
