#!/usr/bin/env bash
# ci/run-echo.sh BUILD_DIR — margay's main job: the tcp-echo example's server and 100
# concurrent clients over the posix libOS on 127.0.0.1, every echoed byte checked,
# bounded in time; exits with the client's status and prints its one-line result.
set -euo pipefail
build=$1
echo_bin="$build/examples/margay-example-tcp-echo"
clients=100
export DEMI_LIBOS=posix
for attempt in 1 2 3; do
  port=$((20000 + RANDOM % 20000))
  log=$(mktemp)
  timeout 90 "$echo_bin" --server 127.0.0.1 "$port" --nclients "$clients" --timeout 60 >"$log" 2>&1 &
  server=$!
  for _ in $(seq 50); do grep -q ready "$log" && break; sleep 0.1; done
  if grep -q ready "$log"; then
    rm -f "$log"
    status=0
    timeout 90 "$echo_bin" --client 127.0.0.1 "$port" --nclients "$clients" --nrequests 1000 --bufsize 1024 \
      --timeout 60 || status=$?
    server_status=0
    wait "$server" || server_status=$?
    [ "$status" -ne 0 ] || status=$server_status
    exit "$status"
  fi
  kill "$server" 2>/dev/null || true
  cat "$log" >&2
  rm -f "$log"
done
echo "run-echo: the server did not start" >&2
exit 1
