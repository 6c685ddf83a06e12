#!/usr/bin/env bash
# Builds tern.ko against the Debian kernel headers of Dom0's ABI
# (build/dom0/kernel-abi; fetched and unpacked under build/dom0/headers by
# Dom0/fetch-headers.sh; nothing is installed into the host). kbuild puts
# its products next to the sources, so the sources are copied to
# build/dom0/driver-build first (emptied when the ABI changes).
#
#     Dom0/driver/build.sh build/dom0
# Out: build/dom0/tern.ko   (debug info stripped)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="$(mkdir -p "${1:-build/dom0}" && cd "${1:-build/dom0}" && pwd)"
WORK="$OUT/driver-build"

bash "$REPO/Dom0/fetch-headers.sh" "$OUT"
KERNEL_ABI="$(cat "$OUT/kernel-abi")"
KDIR="$OUT/headers/usr/src/linux-headers-$KERNEL_ABI"

[ -f "$WORK/.abi-$KERNEL_ABI" ] || rm -rf "$WORK"
mkdir -p "$WORK"
touch "$WORK/.abi-$KERNEL_ABI"
for f in Kbuild tern.h main.c proc.c control.c events.c mappings.c; do
    cmp -s "$HERE/$f" "$WORK/$f" || cp "$HERE/$f" "$WORK/$f"
done
# (No pahole and no vmlinux here, so no BTF for the module: drop that note.)
make -s -C "$KDIR" M="$WORK" TERN_ABI_INCLUDE="$REPO/Hypervisor/ABI/include" modules |
    { grep -v '^Skipping BTF generation' || true; }

# The module loads only into the kernel whose vermagic it carries.
MODINFO="$(command -v modinfo || echo /sbin/modinfo)"
vermagic="$("$MODINFO" -F vermagic "$WORK/tern.ko")"
case "$vermagic" in
    "$KERNEL_ABI "*) ;;
    *) echo "tern.ko: vermagic '$vermagic' is not for $KERNEL_ABI" >&2; exit 1 ;;
esac
ref="$(find "$OUT/kernel/lib/modules/$KERNEL_ABI" -name 'virtio_blk.ko' 2>/dev/null | head -n 1)"
if [ -n "$ref" ] && [ "$("$MODINFO" -F vermagic "$ref")" != "$vermagic" ]; then
    echo "tern.ko: vermagic '$vermagic' differs from the kernel's modules' ('$("$MODINFO" -F vermagic "$ref")')" >&2
    exit 1
fi
# Without its debug info, as Debian installs its modules (19 KB, not 300):
# the initramfs stays small. build/dom0/driver-build/tern.ko keeps it.
strip --strip-debug -o "$OUT/tern.ko" "$WORK/tern.ko"
echo "tern.ko: $(stat -c %s "$OUT/tern.ko") bytes, vermagic $vermagic -> $OUT/tern.ko" >&2
