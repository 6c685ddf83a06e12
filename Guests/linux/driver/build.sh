#!/usr/bin/env bash
# Builds the Linux guest's modules, tern_guest.ko, tern_echo_front.ko,
# tern_blkfront.ko and tern_netfront.ko, against the Debian kernel headers Dom0's tern.ko is
# built against (the guest runs the same kernel; fetched under
# DOM0_BUILD_DIR/headers by Dom0/fetch-headers.sh, nothing installed into
# the host). kbuild puts its products next to the sources, so they are
# copied to OUT/linux-driver-build first (emptied when the kernel ABI
# changes).
#
#     Guests/linux/driver/build.sh build/dom0 build/guests
# Out: OUT/tern_guest.ko, OUT/tern_echo_front.ko, OUT/tern_blkfront.ko, OUT/tern_netfront.ko
#      (debug info stripped)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
DOM0="$(mkdir -p "${1:-build/dom0}" && cd "${1:-build/dom0}" && pwd)"
OUT="$(mkdir -p "${2:-build/guests}" && cd "${2:-build/guests}" && pwd)"
WORK="$OUT/linux-driver-build"

bash "$REPO/Dom0/fetch-headers.sh" "$DOM0"
KERNEL_ABI="$(cat "$DOM0/kernel-abi")"
KDIR="$DOM0/headers/usr/src/linux-headers-$KERNEL_ABI"

[ -f "$WORK/.abi-$KERNEL_ABI" ] || rm -rf "$WORK"
mkdir -p "$WORK"
touch "$WORK/.abi-$KERNEL_ABI"
for f in Kbuild tern_guest.h internal.h main.c events.c grants.c bus.c power.c echo_front.c blkfront.c netfront.c; do
    cmp -s "$HERE/$f" "$WORK/$f" || cp "$HERE/$f" "$WORK/$f"
done
# (No pahole and no vmlinux here, so no BTF for the modules: drop that note.)
make -s -C "$KDIR" M="$WORK" TERN_ABI_INCLUDE="$REPO/Hypervisor/ABI/include" modules |
    { grep -v '^Skipping BTF generation' || true; }

MODINFO="$(command -v modinfo || echo /sbin/modinfo)"
for module in tern_guest tern_echo_front tern_blkfront tern_netfront; do
    # It loads only into the kernel whose vermagic it carries.
    vermagic="$("$MODINFO" -F vermagic "$WORK/$module.ko")"
    case "$vermagic" in
        "$KERNEL_ABI "*) ;;
        *) echo "$module.ko: vermagic '$vermagic' is not for $KERNEL_ABI" >&2; exit 1 ;;
    esac
    strip --strip-debug -o "$OUT/$module.ko" "$WORK/$module.ko"
    echo "$module.ko: $(stat -c %s "$OUT/$module.ko") bytes, vermagic $vermagic -> $OUT/$module.ko" >&2
done
