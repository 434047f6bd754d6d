#!/bin/sh
# tests/replay/replay_load.sh — a user's own PDPIX program as the application of a
# replay (`margay replay --load prog.so -- ARGS`), built with the one documented step:
#  - examples/http-server.c against the corpus's loopback HTTP capture: it serves the
#    request (margay's output holds its "HTTP/1.1 200 OK"), exits 0 after one response,
#    and the conversation conforms to the recorded server's;
#  - examples/tcp-echo.c against tests/data/kernel-echo-close.pcap: the same frames,
#    byte for byte, as the built-in echo (--app echo) sends, since both answer at the
#    same virtual instants; through net_pcap too when DPDK is built (and root);
#  - a program that exits non-zero makes the replay exit 4; a file that is not such a
#    program is one clear error.
set -u
margay=${MARGAY_BUILDDIR:?}/margay
src=${MARGAY_SRCDIR:?}
corpus=${MARGAY_TESTDATA:-}/pcap
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || { echo "SKIP: no C compiler ($CC)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-replay-load.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# The one build step (doc/replay.md). Sanitizer builds: the object carries no runtime of its own.
build() { # name sources...
    name=$1; shift
    $CC -shared -fPIC -I"$src/include" -include margay/sim_program.h -DMARGAY_SIM_MAIN=margay_sim_main \
        "$@" -o "$tmp/$name.so" || { echo "FAIL: cannot build $name.so"; exit 1; }
}
build http-server "$src/examples/http-server.c" "$src/examples/common.c"
build tcp-echo "$src/examples/tcp-echo.c" "$src/examples/common.c"

# HTTP: a shared capture (GET over loopback, checksums left partial by lo: -c).
http_cap="$corpus/tcp-full-http-loopback_tcpdump-print-flags.pcap"
if [ -f "$http_cap" ]; then
    "$margay" replay -j -c -o "$tmp/http.pcapng" --load "$tmp/http-server.so" "$http_cap" -- --server '{ip}' 80 1 \
        >"$tmp/http.out" 2>&1
    rc=$?
    [ $rc = 0 ] || { cat "$tmp/http.out"; bad "http-server replay exited $rc"; }
    grep -q '^http-server: served 1 requests' "$tmp/http.out" || bad "http-server did not serve the request"
    grep -q '^program    http-server exited with status 0' "$tmp/http.out" || bad "no exit status in the report"
    grep -q '^verdict    198.18.0.2:55920 > 198.18.0.1:80: conforms: handshake accepted by both, 202 payload bytes acknowledged, FIN by both' \
        "$tmp/http.out" || { grep '^verdict' "$tmp/http.out"; bad "http-server: unexpected verdict"; }
    # margay's output: the program's response went out (a 200 with its greeting).
    if command -v tcpdump >/dev/null 2>&1; then
        tcpdump -r "$tmp/http.pcapng" -nn -A 2>/dev/null | grep -q 'HTTP/1.1 200 OK' ||
            bad "margay's output has no HTTP/1.1 200 OK from the program"
    else
        grep -aq 'HTTP/1.1 200 OK' "$tmp/http.pcapng" || bad "margay's output has no HTTP/1.1 200 OK from the program"
    fi
else
    echo "note: no corpus at $corpus; the HTTP program is not replayed"
fi

# Echo: the program and the built-in application send the same frames.
echo_cap="$src/tests/data/kernel-echo-close.pcap"
"$margay" replay -j -c -a echo -o "$tmp/builtin.pcapng" "$echo_cap" >"$tmp/builtin.out" 2>&1 || bad "built-in echo"
"$margay" replay -j -c -o "$tmp/prog.pcapng" --load "$tmp/tcp-echo.so" "$echo_cap" -- --server '{ip}' 7 \
    >"$tmp/prog.out" 2>&1 || { cat "$tmp/prog.out"; bad "tcp-echo replay failed"; }
grep -q '^tcp-echo: server OK: 1 connections, 17 bytes echoed' "$tmp/prog.out" || bad "tcp-echo did not echo 17 bytes"
grep -q '^verdict    .*: conforms' "$tmp/prog.out" || bad "tcp-echo: the flow does not conform"
cmp -s "$tmp/builtin.pcapng" "$tmp/prog.pcapng" || bad "tcp-echo's frames differ from the built-in echo's"
if grep -q "^#define HAVE_DPDK 1" "$MARGAY_BUILDDIR/config.h" 2>/dev/null && [ "$(id -u)" = 0 ]; then
    "$margay" replay -j -c -o "$tmp/dev.pcapng" --device net_pcap --load "$tmp/tcp-echo.so" "$echo_cap" -- \
        --server '{ip}' 7 >"$tmp/dev.out" 2>&1 || { cat "$tmp/dev.out"; bad "tcp-echo through net_pcap failed"; }
    cmp -s "$tmp/prog.pcapng" "$tmp/dev.pcapng" || bad "tcp-echo through net_pcap sent other frames"
fi

# A failing program, and something that is not a program.
"$margay" replay --load "$tmp/tcp-echo.so" "$echo_cap" -- --no-such-option >"$tmp/fail.out" 2>&1
rc=$?
[ $rc = 4 ] || { cat "$tmp/fail.out"; bad "a program exiting non-zero: replay exit $rc, want 4"; }
grep -q '^program    tcp-echo exited with status [1-9]' "$tmp/fail.out" || bad "the failing status is not reported"
"$margay" replay --load "$echo_cap" "$echo_cap" >"$tmp/notso.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "^margay replay: --load: cannot load" "$tmp/notso.out" ||
    { cat "$tmp/notso.out"; bad "a non-program for --load: exit $rc"; }
"$margay" replay "$echo_cap" -- --server 1.2.3.4 7 >"$tmp/noload.out" 2>&1
[ $? = 2 ] || bad "program arguments without --load are accepted"

[ $fail = 0 ] && echo "PASS: users' programs replay (http-server, tcp-echo)"
exit $fail
