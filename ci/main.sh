#!/usr/bin/env bash
# ci/main.sh — README command 1: installs what is missing, builds margay, and runs its
# main job: the tcp-echo example over the posix libOS on loopback, many concurrent
# clients, every echoed byte checked, a one-line result printed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/ci/install-deps.sh"
# Hugepages for the DPDK tests when this machine lets us (never fails: without them
# the tests run with --no-huge and say so).
"$top/ci/hugepages.sh"
"$top/ci/build.sh" "$top/build" --enable-werror
cd "$top/build"
exec "$top/ci/run-echo.sh" "$top/build"
