#!/bin/sh
# tests/integration/examples_posix.sh — runs every example's server and client pair
# over the posix libOS on loopback and checks their exit codes and result lines.
# Each run is bounded: the examples get --timeout, and `timeout` kills them if that
# fails. Exit 77 (skip) says why when a precondition is missing.
set -u

EXAMPLES=${EXAMPLES_DIR:-./examples}
export DEMI_LIBOS=posix
RUN_LIMIT=60

skip() { echo "SKIP: $*"; exit 77; }

command -v timeout >/dev/null 2>&1 || skip "the 'timeout' command (coreutils) is needed"
for ex in tcp-push-pop tcp-ping-pong udp-push-pop udp-ping-pong tcp-echo; do
    [ -x "$EXAMPLES/margay-example-$ex" ] || skip "$EXAMPLES/margay-example-$ex is not built"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-examples.XXXXXX") || exit 99
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A port from a range seeded by our pid, so parallel runs rarely meet; retried below.
# 10000-18999: below the kernel's ephemeral ports (32768 up) and the ports test_posix
# walks (20000 up, thousands of connections left in TIME-WAIT), either of which made
# some of tcp-echo's 200 connections be refused when make check ran them in parallel.
port=$((10000 + ($$ * 37) % 9000))
failures=0

# Waits until the server printed its "ready" line (or died); 0 when ready.
wait_ready() {
    i=0
    while [ $i -lt 100 ]; do
        grep -q ': ready$' "$tmp/server.out" 2>/dev/null && return 0
        kill -0 "$server_pid" 2>/dev/null || return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# run NAME EXPECT_CLIENT EXPECT_SERVER SERVER_ARGS -- CLIENT_ARGS
# The address and port go right after --server/--client.
run() {
    name=$1 expect_client=$2 expect_server=$3 server_args=$4 client_args=$5
    prog="$EXAMPLES/margay-example-$name"
    for attempt in 1 2 3 4 5; do
        port=$((port + 1))
        timeout -k 5 $RUN_LIMIT "$prog" --server 127.0.0.1 $port $server_args >"$tmp/server.out" 2>&1 &
        server_pid=$!
        if wait_ready; then
            break
        fi
        wait "$server_pid" 2>/dev/null
        server_pid=
        if grep -q 'in use' "$tmp/server.out"; then
            continue # port taken: try the next one
        fi
        echo "FAIL: $name server did not start:"; sed 's/^/    /' "$tmp/server.out"
        failures=$((failures + 1))
        return
    done
    if [ -z "$server_pid" ]; then
        echo "FAIL: $name: no free port after 5 tries"; failures=$((failures + 1)); return
    fi
    timeout -k 5 $RUN_LIMIT "$prog" --client 127.0.0.1 $port $client_args >"$tmp/client.out" 2>&1
    client_rc=$?
    wait "$server_pid"
    server_rc=$?
    server_pid=
    ok=yes
    [ $client_rc -eq 0 ] || ok=no
    [ $server_rc -eq 0 ] || ok=no
    grep -q "$expect_client" "$tmp/client.out" || ok=no
    grep -q "$expect_server" "$tmp/server.out" || ok=no
    if [ $ok = yes ]; then
        echo "PASS: $name: $(tail -n 1 "$tmp/client.out")"
    else
        echo "FAIL: $name (client exit $client_rc, server exit $server_rc)"
        echo "  server $server_args:"; sed 's/^/    /' "$tmp/server.out"
        echo "  client $client_args:"; sed 's/^/    /' "$tmp/client.out"
        failures=$((failures + 1))
    fi
}

run tcp-push-pop "client pushed 1000 messages" "received 1000 messages, 4096000 bytes, all checked" \
    "4096 1000 --timeout 30" "4096 1000 --timeout 30"
run tcp-ping-pong "1000 round trips of 64 bytes, all checked" "server echoed 1000 messages" \
    "64 1000 --timeout 30" "64 1000 --timeout 30"
run udp-push-pop "client pushed 1000 datagrams of 1024 bytes, all acknowledged" "received 1000 datagrams" \
    "1024 1000 --timeout 30" "1024 1000 --timeout 30"
run udp-ping-pong "500 round trips of 1400 bytes, all checked" "server echoed 500 datagrams" \
    "1400 500 --timeout 30" "1400 500 --timeout 30"
run tcp-echo "OK: 200 connections, 2000 messages, 8192000 bytes" "server OK: 200 connections" \
    "--nclients 200 --timeout 40" "--nclients 200 --nrequests 10 --bufsize 4096 --timeout 40"

# A wrong command line is a usage error (status 2), never a run.
"$EXAMPLES/margay-example-tcp-echo" --client 127.0.0.1 >/dev/null 2>&1
rc=$?
if [ $rc -ne 2 ]; then
    echo "FAIL: a missing PORT gave exit status $rc, expected 2"; failures=$((failures + 1))
fi

# A client with nobody to talk to must fail (non-zero), not hang or claim success.
port=$((port + 1))
timeout -k 5 $RUN_LIMIT "$EXAMPLES/margay-example-tcp-echo" --client 127.0.0.1 $port --timeout 5 >"$tmp/client.out" 2>&1
rc=$?
if [ $rc -eq 0 ] || [ $rc -ge 124 ]; then
    echo "FAIL: tcp-echo client without a server exited $rc"; failures=$((failures + 1))
fi

[ $failures -eq 0 ] || exit 1
exit 0
