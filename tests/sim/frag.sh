#!/bin/sh
# tests/sim/frag.sh — IPv4 fragmentation and reassembly end to end in the simulator:
# udp-frag (sim/programs/udp_frag.c) sends UDP datagrams of 9 to 65507 bytes, most
# of them past the 1500-byte MTU, from host 1 to host 0. On a clean link every one
# must arrive whole (--expect-all). Under loss, reordering and duplication, and with
# a reassembly table small enough to evict, datagrams that lost a fragment simply do
# not arrive, but every one that does must be exactly what was sent (the server
# exits 1 otherwise, and margay sim fails the seed and prints its replay line); at
# 3% loss about 37 of 48 arrive, and fewer than 20 fails the seed.
set -u
MARGAY=${MARGAY:-./margay}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-sim-frag.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0

# run NAME EXPECT SIM-OPTIONS... (the server and client options come from $SERVER, $CLIENT)
run() {
    name=$1 expect=$2
    shift 2
    "$MARGAY" sim "$@" --proc "0:udp-frag --server 10.0.0.1 7000 $SERVER" \
        --proc "1:udp-frag --client 10.0.0.1 7000 $CLIENT" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q "$expect" "$tmp/out"; then
        echo "PASS: $name"
    else
        echo "FAIL: $name (exit $rc):"; sed 's/^/    /' "$tmp/out"
        failures=$((failures + 1))
    fi
}

SERVER="--count 48 --expect-all" CLIENT="--count 48" \
    run "clean link: all 48 datagrams whole" "48 distinct of 48 sent, 0 duplicates), 709452 bytes, all intact" \
    --seed 1
SERVER="--count 48 --expect-all" CLIENT="--count 48" \
    run "clean link, IPv4 and UDP checksum offload emulated" "48 distinct of 48 sent" \
    --seed 2 --stack inetstack_config.udp_checksum_offload=true
SERVER="--count 48 --expect-min 20" CLIENT="--count 48" \
    run "loss, reordering, duplication: 60 seeds" "seeds: [0-9]* passed, 0 failed" \
    --loss 0.03 --reorder 0.2,300us --duplicate 0.05 --seeds 1..60
SERVER="--count 48" CLIENT="--count 48 --gap-ms 0" \
    run "back to back with reordering, 4-datagram table: 30 seeds" "seeds: [0-9]* passed, 0 failed" \
    --reorder 0.3,2ms --duplicate 0.1 --loss 0.01 --seeds 1..30 \
    --stack inetstack_config.ipv4_reassembly_max_datagrams=4 \
    --stack inetstack_config.ipv4_reassembly_max_buffers=120
SERVER="--count 24" CLIENT="--count 24" \
    run "30% loss: 20 seeds" "seeds: [0-9]* passed, 0 failed" --loss 0.3 --seeds 1..20
[ $failures -eq 0 ]
