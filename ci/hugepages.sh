#!/usr/bin/env bash
# ci/hugepages.sh — gives DPDK hugepages on a CI machine when it can, and never fails
# when it cannot. As root it makes sure at least MARGAY_HUGEPAGES (default 256) free
# 2 MiB pages exist and that hugetlbfs is mounted at /dev/hugepages; in a container
# without the privilege (read-only /sys, no mount) it says so and leaves things as
# they are. The DPDK tests look for free, mounted hugepages themselves and run on
# them when they find them, with --no-huge otherwise, printing which (see
# doc/dpdk.md). Always exits 0; the last line says what the tests will get.
set -u

want=${MARGAY_HUGEPAGES:-256}
sysdir=/sys/kernel/mm/hugepages/hugepages-2048kB
mnt=/dev/hugepages

say() { echo "hugepages: $*"; }

read_num() { # file: its number, 0 when unreadable
    local v
    v=$(cat "$1" 2>/dev/null) || v=0
    case $v in '' | *[!0-9]*) v=0 ;; esac
    echo "$v"
}

hugetlbfs_mounted() {
    awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts 2>/dev/null
}

reserve() {
    local total free in_use target
    total=$(read_num "$sysdir/nr_hugepages")
    free=$(read_num "$sysdir/free_hugepages")
    [ "$free" -ge "$want" ] && return 0
    # Pages in use by someone else stay theirs: grow the pool by what is missing.
    in_use=$((total - free))
    target=$((in_use + want))
    if ! { echo "$target" >"$sysdir/nr_hugepages"; } 2>/dev/null; then
        say "cannot write $sysdir/nr_hugepages (not privileged here)"
        return 1
    fi
    free=$(read_num "$sysdir/free_hugepages")
    # The kernel gives what contiguous memory it has; fewer than asked still helps.
    [ "$free" -lt "$want" ] && say "asked for $want free 2 MiB pages, the kernel gave $free"
    return 0
}

mount_hugetlbfs() {
    hugetlbfs_mounted && return 0
    mkdir -p "$mnt" 2>/dev/null
    if ! mount -t hugetlbfs -o pagesize=2M nodev "$mnt" 2>/dev/null; then
        say "cannot mount hugetlbfs at $mnt (not privileged here)"
        return 1
    fi
}

if [ ! -d "$sysdir" ]; then
    say "this kernel offers no 2 MiB hugepages"
elif [ "$(id -u)" -ne 0 ]; then
    say "not root: leaving the hugepage pool as it is"
else
    reserve
    mount_hugetlbfs
fi

free=$(read_num "$sysdir/free_hugepages")
if [ "$free" -gt 0 ] && hugetlbfs_mounted; then
    say "$free free 2 MiB pages, hugetlbfs at $(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts):" \
        "the DPDK tests run on hugepages"
else
    say "none usable ($free free, hugetlbfs $(hugetlbfs_mounted && echo mounted || echo 'not mounted')):" \
        "the DPDK tests run with --no-huge"
fi
exit 0
