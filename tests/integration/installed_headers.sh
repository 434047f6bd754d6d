#!/bin/sh
# tests/integration/installed_headers.sh — installs margay into a temporary DESTDIR,
# builds a Demikernel-style program (installed_headers.c) against the installed
# headers with `cc -std=c99 -Wall -Wextra -Werror $(pkg-config --cflags --libs margay)`
# and runs it over the posix libOS on loopback. This is what an outside user does, so
# it catches headers that are not installed, that need margay's own build flags, or a
# margay.pc that points to the wrong place. Exit 77 (skip) says why when a tool is
# missing.
set -u

srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
CC_FOR_TEST=${CC_FOR_TEST:-cc}

skip() { echo "SKIP: $*"; exit 77; }
command -v pkg-config >/dev/null 2>&1 || skip "pkg-config is not installed"
command -v "$CC_FOR_TEST" >/dev/null 2>&1 || skip "no C compiler '$CC_FOR_TEST' (set CC_FOR_TEST)"
command -v timeout >/dev/null 2>&1 || skip "the 'timeout' command (coreutils) is needed"
[ -f "$top_builddir/Makefile" ] || skip "run from the build directory (no Makefile in $top_builddir)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/margay-install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
dest="$tmp/root"

# Install without the parent make's job server (we may be running under make check).
if ! env -u MAKEFLAGS -u MFLAGS make -C "$top_builddir" install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
    echo "FAIL: make install DESTDIR=$dest failed:"; tail -n 30 "$tmp/install.log"
    exit 1
fi

pc=$(find "$dest" -name margay.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: margay.pc was not installed"; exit 1; }
for h in demi/libos.h demi/sga.h demi/types.h demi/wait.h demi/cc.h; do
    [ -n "$(find "$dest" -path "*/include/$h")" ] || { echo "FAIL: $h was not installed"; exit 1; }
done

# The .pc file names the configured prefix; the sysroot points pkg-config into DESTDIR.
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$(pkg-config --cflags margay) || { echo "FAIL: pkg-config --cflags margay"; exit 1; }
libs=$(pkg-config --libs margay) || { echo "FAIL: pkg-config --libs margay"; exit 1; }
libdir=$(pkg-config --variable=libdir margay)
case "$libdir" in
"$dest"/*) ;;              # pkgconf applies the sysroot to variables too
*) libdir="$dest$libdir" ;; # pkg-config does not
esac

# A sanitizer build's library needs the sanitizer runtimes in the program too.
san=
grep -q '^#define MARGAY_SANITIZERS 1' "$top_builddir/config.h" 2>/dev/null &&
    san="-fsanitize=address,undefined"

# shellcheck disable=SC2086 # word splitting of the flags is intended
if ! $CC_FOR_TEST -std=c99 -Wall -Wextra -Werror $san $cflags -o "$tmp/prog" \
    "$srcdir/tests/integration/installed_headers.c" $libs >"$tmp/cc.log" 2>&1; then
    echo "FAIL: the PDPIX program does not compile against the installed headers:"
    echo "  $CC_FOR_TEST -std=c99 -Wall -Wextra -Werror $san $cflags ... $libs"
    cat "$tmp/cc.log"
    exit 1
fi

# Below the ephemeral ports and the ports test_posix walks (see examples_posix.sh).
port=$((10000 + ($$ * 53) % 9000))
if ! LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" DEMI_LIBOS=posix \
    timeout -k 5 60 "$tmp/prog" "$port" >"$tmp/run.log" 2>&1; then
    echo "FAIL: the installed program did not run cleanly:"; cat "$tmp/run.log"
    exit 1
fi
grep -q 'installed_headers: ok' "$tmp/run.log" || { echo "FAIL: no success line"; cat "$tmp/run.log"; exit 1; }
cat "$tmp/run.log"
echo "PASS: compiled with -std=c99 -Wall -Wextra -Werror against $dest and ran over posix"
exit 0
