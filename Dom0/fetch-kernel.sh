#!/usr/bin/env bash
# Fetches Dom0's kernel: Debian's cloud kernel of the ABI recorded in
# build/dom0/kernel-abi (Dom0/kernel-abi.sh: the pinned one while the
# archive has it; platform-facts.md: out-of-tree modules built against
# these headers load only into this exact build). Nothing is installed into
# the host; the package is unpacked under build/dom0/kernel. Cached: a
# second run for the same ABI does nothing.
#
# Out: build/dom0/vmlinuz      the bzImage (LZ4), for QEMU -kernel
#      build/dom0/vmlinux      the uncompressed ELF (PVH entry note)
#      build/dom0/kernel/      the unpacked package (modules under lib/)
set -euo pipefail

OUT="${1:-build/dom0}"
[ -f "$OUT/kernel-abi" ] || { echo "fetch-kernel: $OUT/kernel-abi missing (Dom0/kernel-abi.sh; make dom0 runs it)" >&2; exit 1; }
KERNEL_ABI="$(cat "$OUT/kernel-abi")"
PKG="linux-image-${KERNEL_ABI}"

if [ -f "$OUT/vmlinux" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/kernel/.abi-$KERNEL_ABI" ]; then
    exit 0
fi
mkdir -p "$OUT/download"
if ! ls "$OUT/download/${PKG}_"*.deb >/dev/null 2>&1; then
    echo "fetch-kernel: apt-get download $PKG" >&2
    (cd "$OUT/download" && apt-get download "$PKG" 2>&1 | grep -v "unsandboxed" >&2) || {
        echo "fetch-kernel: cannot download $PKG (run 'apt-get update' first?)" >&2
        exit 1
    }
fi
rm -rf "$OUT/kernel"
dpkg-deb -x "$OUT/download/${PKG}_"*.deb "$OUT/kernel"
cp "$OUT/kernel/boot/vmlinuz-$KERNEL_ABI" "$OUT/vmlinuz"
python3 "$(dirname "$0")/extract-vmlinux.py" "$OUT/vmlinuz" "$OUT/vmlinux"
touch "$OUT/kernel/.abi-$KERNEL_ABI"
echo "fetch-kernel: $PKG $(dpkg-deb -f "$OUT/download/${PKG}_"*.deb Version) -> $OUT" >&2
