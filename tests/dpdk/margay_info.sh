#!/bin/sh
# tests/dpdk/margay_info.sh — `margay info` over vdevs (on hugepages when the machine
# has them, --no-huge otherwise): every port is listed with the fields a user needs to
# fill dpdk.port; bad EAL arguments and a missing hugepage setup are one clear line
# and exit status 1; help works.
set -u
MARGAY="${MARGAY_BUILDDIR:-.}/margay"
. "${MARGAY_SRCDIR:-$(dirname "$0")/../..}/tests/dpdk/eal_memory.sh"
out=$(mktemp) err=$(mktemp) nothuge=$(mktemp -d)
P=mginfo$$
trap 'rm -f "$out" "$err"; rmdir "$nothuge"; dpdk_memory_cleanup $P' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }
dpdk_memory $P 128 || exit 1
EAL="$DPDK_MEM_ARGS --no-pci --no-telemetry --log-level=warning"

"$MARGAY" info -- $EAL --vdev=net_ring0 --vdev=net_null0 >"$out" 2>"$err" || fail "margay info exited $?"
grep -q '^DPDK 22\.\|^DPDK [0-9]' "$out" || fail "no DPDK version line"
grep -q ': 2 ports$' "$out" || fail "port count"
grep -q '^port 0: net_ring0$' "$out" || fail "port 0 line"
grep -q '^port 1: net_null0$' "$out" || fail "port 1 line"
for field in driver device mac link 'max queues' 'rx desc' 'tx desc' 'rx offloads' 'tx offloads' mtu; do
    [ "$(grep -c "^  $field " "$out")" -eq 2 ] || fail "field '$field' not listed for both ports"
done
grep -q '^  driver  *net_ring$' "$out" || fail "net_ring driver"
grep -q '^  device  *vdev net_null0$' "$out" || fail "vdev device name"
grep -Eq '^  mac  *([0-9A-F]{2}:){5}[0-9A-F]{2}$' "$out" || fail "MAC format"
grep -Eq '^  mtu  *[0-9]+ \(range [0-9]+\.\.[0-9]+\)$' "$out" || fail "MTU range"
grep -q '^  rx offloads  *SCATTER' "$out" || fail "offloads by name"

# No ports at all: says how to get one.
"$MARGAY" info -- $EAL >"$out" 2>"$err" || fail "margay info without ports exited $?"
grep -q 'no ports: bind a NIC to vfio-pci' "$out" || fail "no-ports hint"

# Bad EAL arguments: exit 1 and one line naming the problem.
"$MARGAY" info -- $EAL --not-an-eal-option >"$out" 2>"$err"
[ $? -eq 1 ] || fail "bad EAL option: want exit 1"
grep -q '^margay info: DPDK EAL failed to start: invalid EAL arguments' "$err" || fail "bad EAL option message"

# Without --no-huge on a machine without hugepages: the hint. Where there are
# hugepages, EAL is sent to look for them in a directory that is not hugetlbfs.
huge_dir=
[ "$(awk '/^HugePages_Total/ {print $2}' /proc/meminfo)" = 0 ] || huge_dir="--huge-dir=$nothuge"
"$MARGAY" info -- --file-prefix=$P --no-shconf --no-pci --no-telemetry $huge_dir --vdev=net_null0 >"$out" 2>"$err"
[ $? -eq 1 ] || fail "no hugepages: want exit 1"
grep -q 'no usable hugepages.*--no-huge' "$err" || fail "no hugepages message"

# EAL arguments from the configuration file.
cfg=$(mktemp --suffix=.yaml)
trap 'rm -f "$out" "$err" "$cfg"; rmdir "$nothuge"; dpdk_memory_cleanup $P' EXIT
cat >"$cfg" <<YAML
dpdk:
  eal_init: [$DPDK_MEM_YAML, "--no-pci", "--no-telemetry", "--log-level=warning", "--vdev=net_null3"]
YAML
"$MARGAY" info -c "$cfg" >"$out" 2>"$err" || fail "margay info -c exited $?"
grep -q '^port 0: net_null3$' "$out" || fail "port from configuration"

"$MARGAY" help info >"$out" 2>"$err" || fail "help info"
grep -q 'usage: margay info' "$out" || fail "help text"
"$MARGAY" frobnicate >"$out" 2>"$err"
[ $? -eq 2 ] || fail "unknown command: want exit 2"
echo "margay info: all checks passed"
