#!/bin/sh
# ci/rxe/run-tests.sh — margay's rdma tests inside the soft-RoCE VM (see ci/rxe-vm):
# the rdma integration programs, then the examples over DEMI_LIBOS=rdma. Sizes are
# chosen for TCG emulation: 4 MiB messages but few of them, 100 connections with
# small messages. Exits non-zero if anything failed.
addr=${1:-198.18.0.1}
export DEMI_LIBOS=rdma
export LD_LIBRARY_PATH=/lib
failed=0
ran=0

# RXE_ONLY=substring runs only the tests whose names contain it.
selected() {
    case $1 in *"${RXE_ONLY:-}"*) return 0 ;; esac
    return 1
}

run() { # name, command...
    name=$1
    shift
    selected "$name" || return 0
    ran=$((ran + 1))
    echo "== $name"
    start=$(date +%s)
    if "$@"; then
        echo "PASS: $name ($(($(date +%s) - start)) s)"
    else
        echo "FAIL: $name (status $?)"
        failed=$((failed + 1))
    fi
}

# A server in the background and a client in the foreground; both must succeed.
pair() { # name, program, port, server args, -- client args
    name=$1 prog=$2 port=$3
    shift 3
    selected "$name" || return 0
    sargs=""
    while [ "$1" != "--" ]; do sargs="$sargs $1"; shift; done
    shift
    ran=$((ran + 1))
    echo "== $name"
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$prog" --server "$addr" "$port" $sargs >/tmp/server.log 2>&1 &
    spid=$!
    # Registering the arena takes a while under emulation: wait for "ready".
    i=0
    while ! grep -q ready /tmp/server.log 2>/dev/null && [ $i -lt 300 ] && kill -0 $spid 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    "$prog" --client "$addr" "$port" "$@"
    crc=$?
    wait $spid
    src=$?
    cat /tmp/server.log
    if [ $crc = 0 ] && [ $src = 0 ]; then
        echo "PASS: $name ($(($(date +%s) - start)) s)"
    else
        echo "FAIL: $name (client $crc, server $src)"
        failed=$((failed + 1))
    fi
}

for t in /margay/rdma_*; do
    [ -x "$t" ] || continue
    run "$(basename "$t")" "$t" "$addr"
done

ex=/margay/margay-example
if [ -x $ex-tcp-push-pop ]; then
    pair "tcp-push-pop 1 B x 100" $ex-tcp-push-pop 12001 1 100 --timeout 60 -- 1 100 --timeout 60
    pair "tcp-push-pop 64 KiB x 50" $ex-tcp-push-pop 12002 65536 50 --timeout 60 -- 65536 50 --timeout 60
    pair "tcp-push-pop 4 MiB x 3" $ex-tcp-push-pop 12003 4194304 3 --timeout 120 -- 4194304 3 --timeout 120
fi
if [ -x $ex-tcp-echo ]; then
    pair "tcp-echo 1 connection, 1 B" $ex-tcp-echo 12011 --nclients 1 --timeout 60 -- \
        --nclients 1 --nrequests 20 --bufsize 1 --timeout 60
    pair "tcp-echo 100 connections, 64 B" $ex-tcp-echo 12012 --nclients 100 --timeout 120 -- \
        --nclients 100 --nrequests 5 --bufsize 64 --timeout 120
    pair "tcp-echo 4 MiB" $ex-tcp-echo 12013 --nclients 1 --timeout 120 -- \
        --nclients 1 --nrequests 2 --bufsize 4194304 --timeout 120
fi
if [ -x $ex-tcp-ping-pong ]; then
    pair "tcp-ping-pong 1 KiB x 50" $ex-tcp-ping-pong 12021 1024 50 --timeout 60 -- 1024 50 --timeout 60
fi

echo "rdma tests in the VM: $ran run, $failed failed"
[ $failed = 0 ]
