#!/usr/bin/env bash
# ci/build.sh DIR [configure args...] — configures and builds margay out of tree in DIR.
# Out-of-tree builds let the normal and sanitizer builds live side by side.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
shift
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
mkdir -p "$dir"
cd "$dir"
if [ ! -f Makefile ]; then
  "$top/configure" "$@" >configure.out 2>&1 || { cat configure.out; exit 1; }
  sed -n '/margay .* configuration/,$p' configure.out
fi
make -j"$(nproc)" >make.out 2>&1 || { tail -60 make.out; exit 1; }
echo "build: $dir ok"
