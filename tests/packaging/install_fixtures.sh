#!/usr/bin/env bash
# What tests/packaging needs from Debian, installed or fetched by this script (as root; .ci/run
# runs it before pytest):
#   - qemu-user (runs the arm64 layer; called explicitly, never registered with binfmt_misc),
#     skopeo and umoci (real OCI tools that check the images we write);
#   - Debian's arm64 python3.11 and the libraries it links, fetched with `apt-get download` and
#     extracted with `dpkg-deb -x` into DEST (default build/fixtures/debian-arm64): the CPython
#     distribution of the arm64 layer, the headers of its cross build, and the sysroot that
#     qemu-aarch64 -L loads glibc from. Nothing is installed for arm64.
#   - glibc and dash for amd64 and arm64 (build/fixtures/base-rootfs-ARCH): the root
#     filesystems of the small base images that `lamina image build` appends to in the tests.
# Idempotent: complete folders are left as they are.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-build/fixtures/debian-arm64}
fixtures=$(dirname "$dest")
base_packages=(libc6 libgcc-s1 dash)

# Python 3.11 for arm64 with every library its stdlib extensions link, and libc6 for qemu.
arm64_packages=(
  libc6 libgcc-s1
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libpython3.11-dev
  libbz2-1.0 libcrypt1 libdb5.3 libexpat1 libffi8 liblzma5 libncursesw6 libnsl2
  libreadline8 libsqlite3-0 libssl3 libtinfo6 libtirpc3 libuuid1 zlib1g
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
)

missing_tools=()
command -v qemu-aarch64 >/dev/null || missing_tools+=(qemu-user)
command -v skopeo >/dev/null || missing_tools+=(skopeo)
command -v umoci >/dev/null || missing_tools+=(umoci)
command -v objdump >/dev/null || missing_tools+=(binutils)

if [[ -f "$dest/.complete" && -f "$fixtures/base-rootfs-arm64/.complete" && -f "$fixtures/base-rootfs-amd64/.complete" && ${#missing_tools[@]} -eq 0 ]]; then
  exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq
if [[ ${#missing_tools[@]} -gt 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_tools[@]}"
fi

# fetch_and_extract FOLDER ARCH PACKAGE...: the packages' files, as dpkg would lay them out.
fetch_and_extract() {
  local folder=$1 architecture=$2
  shift 2
  [[ -f "$folder/.complete" ]] && return 0
  local downloads
  downloads=$(mktemp -d) && chmod 755 "$downloads"  # apt's _apt user writes there
  local packages=("$@")
  (cd "$downloads" && apt-get download -qq "${packages[@]/%/:$architecture}")
  rm -rf "$folder" && mkdir -p "$folder"
  for package in "$downloads"/*.deb; do
    dpkg-deb -x "$package" "$folder"
  done
  rm -rf "$downloads"
  touch "$folder/.complete"
}

fetch_and_extract "$dest" arm64 "${arm64_packages[@]}"
fetch_and_extract "$fixtures/base-rootfs-arm64" arm64 "${base_packages[@]}"
fetch_and_extract "$fixtures/base-rootfs-amd64" amd64 "${base_packages[@]}"
echo "arm64 python3.11 from Debian in $dest; base image root filesystems in $fixtures/base-rootfs-{amd64,arm64}"
