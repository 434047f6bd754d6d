# tests/dpdk/eal_memory.sh — sourced by the DPDK test scripts: the same memory choice
# as tests/dpdk/eal_memory.c, for EAL arguments written into YAML. Hugepages when
# enough are free and hugetlbfs is mounted (ci/hugepages.sh reserves them as root),
# --no-huge otherwise; MARGAY_TEST_HUGEPAGES=no forces --no-huge, =yes insists on
# hugepages.
#
# dpdk_memory NAME MB [multiprocess]
#   Decides for one process with --file-prefix=NAME that needs MB megabytes. Sets
#   DPDK_MEM_YAML (quoted, comma-separated items for an eal_init list), DPDK_MEM_ARGS
#   (the same, for a command line) and DPDK_MEM_MODE (huge|nohuge), and prints one
#   line saying which. multiprocess: the process needs EAL's multi-process channel
#   (net_memif), so --huge-unlink instead of --in-memory, and no --no-shconf.
#   Returns 1 when MARGAY_TEST_HUGEPAGES=yes and there are none.
# dpdk_memory_cleanup NAME...
#   Removes EAL's runtime directories for those file prefixes.

dpdk_hugepages_free_mb() {
    awk '/^HugePages_Free:/ { n = $2 } /^Hugepagesize:/ { kb = $2 } END { print int(n * kb / 1024) }' \
        /proc/meminfo 2>/dev/null || echo 0
}

dpdk_hugetlbfs_mounted() {
    awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts 2>/dev/null
}

dpdk_memory() {
    _name=$1 _mb=$2 _multi=${3:-}
    _free=$(dpdk_hugepages_free_mb)
    _why=
    DPDK_MEM_MODE=nohuge
    if [ "${MARGAY_TEST_HUGEPAGES:-auto}" = no ]; then
        _why="MARGAY_TEST_HUGEPAGES=no"
    elif dpdk_hugetlbfs_mounted && [ "$_free" -ge "$_mb" ]; then
        DPDK_MEM_MODE=huge
        _why="$_free MB of hugepages free, hugetlbfs mounted"
    else
        _why="$_free MB of hugepages free (needs $_mb), hugetlbfs $(dpdk_hugetlbfs_mounted && echo mounted || echo 'not mounted')"
        if [ "${MARGAY_TEST_HUGEPAGES:-auto}" = yes ]; then
            echo "MARGAY_TEST_HUGEPAGES=yes but no usable hugepages: $_why (run ci/hugepages.sh as root)" >&2
            return 1
        fi
    fi
    if [ $DPDK_MEM_MODE = huge ]; then
        if [ -n "$_multi" ]; then
            DPDK_MEM_ARGS="--file-prefix=$_name --huge-unlink"
        else
            DPDK_MEM_ARGS="--file-prefix=$_name --in-memory"
        fi
    else
        DPDK_MEM_ARGS="--file-prefix=$_name --no-huge -m $_mb"
        [ -n "$_multi" ] || DPDK_MEM_ARGS="$DPDK_MEM_ARGS --no-shconf"
    fi
    DPDK_MEM_YAML=$(printf '%s\n' $DPDK_MEM_ARGS | sed 's/.*/"&"/' | paste -sd, - | sed 's/,/, /g')
    echo "$_name: DPDK memory: $DPDK_MEM_ARGS ($_why)"
}

dpdk_memory_cleanup() {
    if [ "$(id -u)" = 0 ]; then _base=/var/run; else _base=${XDG_RUNTIME_DIR:-/tmp}; fi
    for _p in "$@"; do
        case $_p in '' | */* | .*) continue ;; esac
        rm -rf "$_base/dpdk/$_p"
    done
}
