#!/usr/bin/env bash
# Builds Dom0's initramfs: busybox-static, the kernel modules Dom0 needs
# (from the kernel package's lib/modules/<ABI>, the ABI in
# build/dom0/kernel-abi) and tern.ko (with modules.dep), the init script, the `tern` toolstack
# with example configs in /etc/tern, the guests in /usr/lib/tern/guests and
# tools in /usr/lib/tern/tools; an LZ4 (legacy format)
# cpio archive, the fastest for this kernel to unpack (platform-facts.md).
#
#     Dom0/initramfs/build.sh build/dom0     (after Dom0/fetch-kernel.sh
#                                             and Dom0/driver/build.sh)
# Out: build/dom0/initramfs.cpio.lz4
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$(mkdir -p "${1:-build/dom0}" && cd "${1:-build/dom0}" && pwd)"
KERNEL="$OUT/kernel"
ABI="$(cat "$OUT/kernel-abi")"                   # Dom0/kernel-abi.sh
[ -d "$KERNEL/lib/modules/$ABI" ] || { echo "initramfs: no $KERNEL/lib/modules/$ABI (make dom0 fetches it)" >&2; exit 1; }
ROOT="$OUT/initramfs-root"

mkdir -p "$OUT/download"
if ! ls "$OUT/download/busybox-static_"*.deb >/dev/null 2>&1; then
    (cd "$OUT/download" && apt-get download busybox-static 2>&1 | grep -v "unsandboxed" >&2)
fi
rm -rf "$ROOT" "$OUT/busybox"
dpkg-deb -x "$OUT/download/busybox-static_"*.deb "$OUT/busybox"

mkdir -p "$ROOT"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/modules/"$ABI"}
cp "$OUT/busybox/bin/busybox" "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list); do
    [ -e "$ROOT/bin/$applet" ] || ln -s busybox "$ROOT/bin/$applet"
done
install -m 0755 "$HERE/init" "$ROOT/init"
mkdir -p "$ROOT/etc/udhcpc"
install -m 0755 "$HERE/udhcpc.script" "$ROOT/etc/udhcpc/default.script"
cp "$HERE/modules-load" "$ROOT/etc/modules-load"

# The modules and what they depend on, then modules.dep for modprobe.
while read -r module; do
    path="$(find "$KERNEL/lib/modules/$ABI" -name "$module.ko" | head -n 1)"
    [ -n "$path" ] || { echo "initramfs: module $module not in the kernel package" >&2; exit 1; }
    rel="${path#$KERNEL/lib/modules/$ABI/}"
    mkdir -p "$ROOT/lib/modules/$ABI/$(dirname "$rel")"
    cp "$path" "$ROOT/lib/modules/$ABI/$rel"
done < "$HERE/modules-load"
# tern.ko (Dom0/driver/build.sh), where out-of-tree modules go.
[ -f "$OUT/tern.ko" ] || { echo "initramfs: $OUT/tern.ko missing (make dom0 builds it)" >&2; exit 1; }
mkdir -p "$ROOT/lib/modules/$ABI/extra"
cp "$OUT/tern.ko" "$ROOT/lib/modules/$ABI/extra/tern.ko"
cp "$KERNEL/lib/modules/$ABI/"modules.{builtin,builtin.modinfo,order} "$ROOT/lib/modules/$ABI/"
DEPMOD="$(command -v depmod || echo /sbin/depmod)"
"$DEPMOD" -b "$ROOT" "$ABI"

# The toolstack (Dom0/toolstack/build.sh), its example configs and the
# guests they name.
[ -f "$OUT/tern" ] || { echo "initramfs: $OUT/tern missing (make dom0 builds it)" >&2; exit 1; }
mkdir -p "$ROOT/usr/bin" "$ROOT/etc/tern" "$ROOT/usr/lib/tern/guests" "$ROOT/var/log/tern"
install -m 0755 "$OUT/tern" "$ROOT/usr/bin/tern"
install -m 0644 "$HERE"/etc-tern/*.cfg "$ROOT/etc/tern/"
GUESTS="$(cd "$OUT/../guests" 2>/dev/null && pwd || true)"
[ -n "$GUESTS" ] && ls "$GUESTS"/*.elf >/dev/null 2>&1 || { echo "initramfs: no guests in build/guests (make guests)" >&2; exit 1; }
install -m 0644 "$GUESTS"/*.elf "$ROOT/usr/lib/tern/guests/"
# Dom0 tools in C (Dom0/tools): tern-echo, a backend for ping's channel;
# tern-hostile-pic and tern-hostile-msi, the interrupt programming Tern
# must survive; tern-diskbench, fio's method for `make bench`'s disk figures;
# tern-netbench, iperf3's TCP test for its network figures.
mkdir -p "$ROOT/usr/lib/tern/tools"
for tool in tern-echo tern-hostile-pic tern-hostile-msi tern-diskbench tern-netbench; do
    [ -f "$OUT/$tool" ] || { echo "initramfs: $OUT/$tool missing (make dom0 builds it)" >&2; exit 1; }
    install -m 0755 "$OUT/$tool" "$ROOT/usr/lib/tern/tools/$tool"
done

(cd "$ROOT" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) | lz4 -l -9 -q > "$OUT/initramfs.cpio.lz4"
echo "initramfs: $(stat -c %s "$OUT/initramfs.cpio.lz4") bytes -> $OUT/initramfs.cpio.lz4" >&2
