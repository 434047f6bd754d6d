#!/bin/sh
# bench/compare.sh — one TCP program, three paths, one table: the examples' tcp-ping-pong
# (median and p99 round trip for 64 B and 1 KiB messages) and a one-way bulk transfer
# (bench/dpdk_ring_bench --server/--client ... --bulk: 256 KiB pushes, timed until the
# receiver has every byte) over
#   posix  the posix libOS on loopback (the Linux kernel's TCP), two processes;
#   memif  the inet libOS over DPDK net_memif between two processes;
#   ring   the inet libOS over a DPDK net_ring pair, two stacks in one process
#          (bench/dpdk_ring_bench: the same exchanges through PDPIX, polled in turn).
# Two-process rows pin server and client to cores 0 and 1 (taskset, and EAL's -l);
# each inet process busy-polls its core. The one-process row runs on core 1. DPDK runs on hugepages when the machine has
# free ones (ci/hugepages.sh), with --no-huge otherwise; the last line says which,
# with the load average. Prints numbers only; run it on an otherwise idle machine.
#
# Usage: bench/compare.sh [ROUND_TRIPS] [BULK_MiB]     (from the build directory)
set -u
B=${MARGAY_BUILDDIR:-.}
EX=$B/examples
N=${1:-20000}
MIB=${2:-256}
SRC=${MARGAY_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/tests/dpdk/eal_memory.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-bench.XXXXXX") || exit 1
spid=
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$tmp"; dpdk_memory_cleanup mgbench_server$$ mgbench_client$$' \
    EXIT INT TERM
port=$((30000 + $$ % 20000))

memif_config() { # role addr core
    dpdk_memory "mgbench_$1$$" 128 multiprocess >"$tmp/memory" || exit 1
    cat >"$tmp/$1.yaml" <<YAML
margay: {libos: inet, netdev: dpdk}
demikernel: {local_ipv4_addr: $2}
tcp_socket_options: {nodelay: true}
dpdk:
  eal_init: ["--no-pci", $DPDK_MEM_YAML, "--no-telemetry", "-l", "$3", "--log-level=warning",
             "--vdev=net_memif0,role=$1,id=0,socket=$tmp/memif.sock,socket-abstract=no"]
  port: net_memif0
YAML
}
memif_config server 198.18.0.1 0
memif_config client 198.18.0.2 1

# pair LIBOS SERVER-ADDR SERVER-COMMAND CLIENT-COMMAND (each with its arguments after
# the address and port): runs the server on core 0 and the client on core 1; prints
# the client's last line.
pair() {
    libos=$1 addr=$2 scmd=$3 ccmd=$4
    if [ "$libos" = inet ]; then
        sc="DEMI_CONFIG=$tmp/server.yaml" cc="DEMI_CONFIG=$tmp/client.yaml"; rm -f "$tmp/memif.sock"
    else
        sc="X=" cc="X="
    fi
    set -- $scmd
    s_prog=$1; shift
    env DEMI_LIBOS=$libos $sc timeout 150 taskset -c 0 $s_prog --server $addr $port "$@" >"$tmp/s.out" 2>&1 &
    spid=$!
    # posix: the server says "ready"; memif: its link (and "ready") only comes up once
    # the client connects, so wait for the server's socket instead.
    i=0
    while ! grep -q ready "$tmp/s.out" 2>/dev/null && [ ! -S "$tmp/memif.sock" ] && [ $i -lt 100 ]; do
        sleep 0.1; i=$((i + 1))
    done
    set -- $ccmd
    c_prog=$1; shift
    env DEMI_LIBOS=$libos $cc timeout 150 taskset -c 1 $c_prog --client $addr $port "$@" >"$tmp/c.out" 2>&1
    wait $spid; spid=
    tail -1 "$tmp/c.out"
    port=$((port + 1))
}
pingpong() { # libos addr size
    pair $1 $2 "$EX/margay-example-tcp-ping-pong $3 $N --timeout 100" "$EX/margay-example-tcp-ping-pong $3 $N --timeout 100" |
        sed -n 's/.*rtt median \([0-9.]*\) us, p99 \([0-9.]*\) us.*/\1 \2/p'
}
bulk() { # libos addr
    pair $1 $2 "$B/bench/dpdk_ring_bench --bulk $MIB" "$B/bench/dpdk_ring_bench --bulk $MIB" |
        sed -n 's/.*s, \([0-9.]*\) Gbit\/s/\1/p'
}

printf '%-28s %12s %12s %12s %12s %14s\n' "path" "64B med us" "64B p99 us" "1KiB med us" "1KiB p99 us" "bulk Gbit/s"
for row in posix memif ring; do
    case $row in
    posix)
        a=$(pingpong posix 127.0.0.1 64); b=$(pingpong posix 127.0.0.1 1024); c=$(bulk posix 127.0.0.1)
        name="posix libOS, loopback" ;;
    memif)
        a=$(pingpong inet 198.18.0.1 64); b=$(pingpong inet 198.18.0.1 1024); c=$(bulk inet 198.18.0.1)
        name="inet libOS, net_memif" ;;
    ring)
        a=$(taskset -c 1 "$B/bench/dpdk_ring_bench" 64 $N 1 | sed -n 's/.*median \([0-9.]*\) us p99 \([0-9.]*\) us/\1 \2/p')
        o=$(taskset -c 1 "$B/bench/dpdk_ring_bench" 1024 $N $MIB)
        b=$(echo "$o" | sed -n 's/.*median \([0-9.]*\) us p99 \([0-9.]*\) us/\1 \2/p')
        c=$(echo "$o" | sed -n 's/.*s, \([0-9.]*\) Gbit\/s/\1/p'); name="inet libOS, net_ring (1 proc)" ;;
    esac
    set -- $a $b
    printf '%-28s %12s %12s %12s %12s %14s\n' "$name" "${1:--}" "${2:--}" "${3:--}" "${4:--}" "${c:--}"
done
echo "($N round trips per size; bulk $MIB MiB one way; $(nproc) cores; DPDK memory: $DPDK_MEM_MODE;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg))"
