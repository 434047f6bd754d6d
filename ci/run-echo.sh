#!/usr/bin/env bash
# ci/run-echo.sh BUILD_DIR — runs the tcp-echo server and client over the posix libOS on
# 127.0.0.1, bounded in time, and exits with the client's status.
set -euo pipefail
build=$1
echo_bin="$build/examples/tcp-echo"
port=$((20000 + RANDOM % 20000))
export DEMI_LIBOS=posix
timeout 60 "$echo_bin" --server 127.0.0.1 "$port" --timeout 50 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 0.3
timeout 60 "$echo_bin" --client 127.0.0.1 "$port" --nclients 100 --nrequests 1000 --bufsize 1024 --timeout 50
