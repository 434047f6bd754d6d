#!/bin/sh
# tests/sim/examples.sh — the examples of examples/, unchanged, inside the simulator,
# server on host 0 and client on host 1, judged by their own result lines and exit
# statuses (margay sim fails a run on any non-zero exit). TCP examples run with 2% loss
# each way; the UDP ones without loss (a datagram lost is lost: udp-ping-pong would
# wait for its echo until its timeout, by design).
set -u
MARGAY=${MARGAY:-./margay}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-sim-examples.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0

# run NAME SEED EXPECT_CLIENT EXPECT_SERVER SERVER_ARGS CLIENT_ARGS
run() {
    name=$1 seed=$2 expect_client=$3 expect_server=$4
    "$MARGAY" sim --loss "${LOSS:-0.02}" --seed "$seed" \
        --proc "0:$name --server 10.0.0.1 7000 $5" --proc "1:$name --client 10.0.0.1 7000 $6" \
        >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q "$expect_client" "$tmp/out" && grep -q "$expect_server" "$tmp/out"; then
        echo "PASS: $name (seed $seed)"
    else
        echo "FAIL: $name (seed $seed, exit $rc):"; sed 's/^/    /' "$tmp/out"
        failures=$((failures + 1))
    fi
}

for seed in 1 2 3; do
    run tcp-push-pop $seed "client pushed 1000 messages" "received 1000 messages, 4096000 bytes, all checked" \
        "4096 1000 --timeout 300" "4096 1000 --timeout 300"
    run tcp-ping-pong $seed "1000 round trips of 64 bytes, all checked" "server echoed 1000 messages" \
        "64 1000 --timeout 300" "64 1000 --timeout 300"
    run tcp-echo $seed "OK: 20 connections, 200 messages, 819200 bytes" "server OK: 20 connections" \
        "--nclients 20 --timeout 300" "--nclients 20 --nrequests 10 --bufsize 4096 --timeout 300"
done

for seed in 1 2; do
    LOSS=0 run udp-ping-pong $seed "100 round trips of 64 bytes, all checked" "server echoed 100 datagrams" \
        "64 100 --timeout 60" "64 100 --timeout 60"
done

# A failing program fails the run and prints a replay line: a client with no server.
"$MARGAY" sim --seed 5 --proc "1:tcp-echo --client 10.0.0.1 7000 --timeout 5" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "replay: margay sim .*--seed 5" "$tmp/out"; then
    echo "PASS: a failing program fails the run with a replay line"
else
    echo "FAIL: client without a server: exit $rc"; sed 's/^/    /' "$tmp/out"; failures=$((failures + 1))
fi
[ $failures -eq 0 ]
