#!/bin/sh
# tests/sim/stack_config.sh — a scenario's stack configuration reaches every simulated
# host: a 4 MiB transfer each way across a 20 s partition survives with the default
# TCP (15 retransmissions) and times out once `tcp.retries` is 2, whether that comes
# from --stack, a scenario file's `stack` line or a --config file; the replay line
# carries the option; a bad key or value, and a key the simulator owns, are one clear
# error (exit status 2) before anything runs.
set -u
MARGAY=${MARGAY:-./margay}
[ -x "$MARGAY" ] || { echo "SKIP: $MARGAY is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-sim-stack.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; sed 's/^/    /' "$tmp/out"; exit 1; }

run() { # extra options...
    "$MARGAY" sim --proc '0:xfer --server 10.0.0.1 80 --conns 1' \
        --proc '1:xfer --client 10.0.0.1 80 --conns 1 --min 4194304 --max 4194304' \
        --partition 0-1@500us+20s --seed 1 "$@" >"$tmp/out" 2>&1
}

run || fail "the default TCP did not survive a 20 s partition"
grep -q "seed 1 passed" "$tmp/out" || fail "no pass line"
echo "PASS: default TCP rides out the partition"

expect_timeout() { # how, extra options...
    how=$1
    shift
    run "$@" && fail "$how: passed with tcp.retries 2"
    grep -q "pop: Connection timed out" "$tmp/out" || fail "$how: no ETIMEDOUT from the program"
    grep -q "seed 1 FAILED" "$tmp/out" || fail "$how: no failure line"
    echo "PASS: $how: tcp.retries 2 times the connection out"
}
expect_timeout "--stack" --stack tcp.retries=2
grep -qF -- "--stack tcp.retries=2 --seed 1" "$tmp/out" || fail "the replay line lacks --stack"
replay=$(sed -n 's/^  replay: margay //p' "$tmp/out")
eval "\"\$MARGAY\" $replay" >"$tmp/replay" 2>&1
grep -q "seed 1 FAILED: 1.400 s simulated" "$tmp/replay" || { cp "$tmp/replay" "$tmp/out"; fail "the replay differs"; }
echo "PASS: the replay line reproduces it"

printf 'stack tcp.retries 2\n' >"$tmp/s.scenario"
expect_timeout "scenario file" --scenario "$tmp/s.scenario"
printf 'tcp:\n  retries: 2\n' >"$tmp/c.yaml"
expect_timeout "--config" --config "$tmp/c.yaml"
# Later pieces win: a file after the key sets it back.
printf 'tcp:\n  retries: 15\n' >"$tmp/c15.yaml"
run --stack tcp.retries=2 --config "$tmp/c15.yaml" || fail "--config after --stack did not win"
echo "PASS: pieces apply in order"

expect_error() { # message, options...
    msg=$1
    shift
    "$MARGAY" sim --proc '0:xfer --server 10.0.0.1 80' --seed 1 "$@" >"$tmp/out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "$*: exit status $rc, not 2"
    grep -qF "$msg" "$tmp/out" || fail "$*: no message '$msg'"
    echo "PASS: $* refused: $msg"
}
expect_error 'tcp.retries: expected an integer from 1 to 255, got "0"' --stack tcp.retries=0
expect_error 'unknown key in section tcp' --stack tcp.frobnicate=1
expect_error 'addresses are the simulator' --stack demikernel.local_ipv4_addr=198.18.0.9
expect_error 'margay.libos and margay.netdev are the simulator' --stack margay.libos=inet
expect_error 'say KEY VALUE' --stack 'tcp..retries 1'
expect_error "config $tmp/missing.yaml: No such file or directory" --config "$tmp/missing.yaml"
printf 'tcp: [\n' >"$tmp/bad.yaml"
expect_error "$tmp/bad.yaml:" --config "$tmp/bad.yaml"
