#!/bin/bash
# The Linux guest's test initramfs: busybox-static (the same package as
# Dom0's, Dom0/initramfs/build.sh), Guests/linux/init and the guest's
# modules (tern_guest.ko, tern_echo_front.ko, tern_blkfront.ko,
# tern_netfront.ko, built next to OUTPUT by Guests/linux/driver/build.sh)
# in /lib/modules, and udhcpc's hook (Dom0's, Dom0/initramfs/udhcpc.script).
# Usage: build-initramfs.sh DOM0_BUILD_DIR OUTPUT
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DOM0="$1"
OUT="$2"
BUSYBOX="$DOM0/busybox/bin/busybox"
[ -x "$BUSYBOX" ] || { echo "linux-guest initramfs: no $BUSYBOX (make dom0 unpacks it)" >&2; exit 1; }
ROOT="$(dirname "$OUT")/linux-initramfs-root"
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,proc,sys,dev,tmp,lib/modules}
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list); do
    [ -e "$ROOT/bin/$applet" ] || ln -s busybox "$ROOT/bin/$applet"
done
# Where the kernel runs them (orderly_poweroff, orderly_reboot).
for applet in poweroff reboot; do ln -s ../bin/busybox "$ROOT/sbin/$applet"; done
for module in tern_guest tern_echo_front tern_blkfront tern_netfront; do
    ko="$(dirname "$OUT")/$module.ko"
    [ -f "$ko" ] || { echo "linux-guest initramfs: no $ko (Guests/linux/driver/build.sh builds it)" >&2; exit 1; }
    cp "$ko" "$ROOT/lib/modules/"
done
install -m 0755 "$HERE/init" "$ROOT/init"
mkdir -p "$ROOT/etc/udhcpc" "$ROOT/run"
install -m 0755 "$HERE/../../Dom0/initramfs/udhcpc.script" "$ROOT/etc/udhcpc/default.script"
# gzip, not LZ4 as Dom0's: the kernel unpacks LZ4's legacy format through
# an 8 MiB buffer, and in a 64 MiB guest (19 MiB free after the kernel)
# that peak ran it out of memory in 5 of 30 boots ("System is deadlocked
# on memory"); gzip's 32 KiB window never did (0 of 40), at the same boot
# time (docs/porting.md, "Linux guests").
(cd "$ROOT" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) | gzip -9 -n > "$OUT"
echo "linux-guest initramfs: $(stat -c %s "$OUT") bytes -> $OUT" >&2
