#!/bin/bash
# The Linux guest's test initramfs: busybox-static (the same package as
# Dom0's, Dom0/initramfs/build.sh) and Guests/linux/init; no modules.
# Usage: build-initramfs.sh DOM0_BUILD_DIR OUTPUT
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DOM0="$1"
OUT="$2"
BUSYBOX="$DOM0/busybox/bin/busybox"
[ -x "$BUSYBOX" ] || { echo "linux-guest initramfs: no $BUSYBOX (make dom0 unpacks it)" >&2; exit 1; }
ROOT="$(dirname "$OUT")/linux-initramfs-root"
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,proc,sys,dev,tmp}
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list); do
    [ -e "$ROOT/bin/$applet" ] || ln -s busybox "$ROOT/bin/$applet"
done
install -m 0755 "$HERE/init" "$ROOT/init"
(cd "$ROOT" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) | lz4 -l -9 -q > "$OUT"
echo "linux-guest initramfs: $(stat -c %s "$OUT") bytes -> $OUT" >&2
