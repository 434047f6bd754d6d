#!/usr/bin/env bash
# ci/install-deps.sh — installs the Debian 12 packages margay builds and tests with.
# Used by both README commands, the container file and CI. Installs only what is
# missing, so a prepared machine pays nothing; needs root (or sudo) when it installs.
set -euo pipefail

PACKAGES=(
  build-essential autoconf automake libtool pkg-config
  libyaml-dev libcunit1-dev libpcap-dev
  libdpdk-dev libibverbs-dev librdmacm-dev libxdp-dev libbpf-dev
  clang libclang-rt-14-dev llvm valgrind
  tshark tcpdump iproute2 socat netcat-openbsd procps
  qemu-system-x86 linux-image-amd64 busybox-static kmod cpio
  rdma-core ibverbs-providers ibverbs-utils rdmacm-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
