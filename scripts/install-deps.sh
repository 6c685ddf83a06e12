#!/usr/bin/env bash
# Installs the Debian packages Tern's build, boot and tests need, only if
# something is missing. Safe to run repeatedly; `make` calls it.
set -euo pipefail

need_pkgs=()
want() { # want COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2")
}
want qemu-system-x86_64 qemu-system-x86
want nasm nasm
want grub-mkrescue grub-common
want xorriso xorriso
want mformat mtools
want python3 python3
# Dom0's kernel and initramfs (Dom0/fetch-kernel.sh, Dom0/initramfs/build.sh).
want cpio cpio
want lz4 lz4
[ -x /sbin/depmod ] || [ -x /usr/sbin/depmod ] || need_pkgs+=(kmod)
# Dom0's data disk (Dom0/data-disk.sh): mke2fs -d, debugfs, e2fsck.
[ -x /sbin/mke2fs ] || [ -x /usr/sbin/mke2fs ] || need_pkgs+=(e2fsprogs)
# Dom0's tern.ko (Dom0/driver/build.sh): the compiler the Debian kernel was
# built with, make, strip, and libelf for the headers' objtool.
want gcc-12 gcc-12
want make make
want strip binutils
dpkg-query -W -f='${Status}' libelf1 2>/dev/null | grep -q 'ok installed' || need_pkgs+=(libelf1)
# The static `tern` CLI (-static-executable) links glibc's libc.a; Dom0's
# C tools (Dom0/tools) are linked statically against musl (30-40 KB each,
# against 690 KB with glibc).
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_pkgs+=(libc6-dev)
want musl-gcc musl-tools
# grub-mkrescue needs the BIOS platform files to build a bootable ISO.
[ -d /usr/lib/grub/i386-pc ] || need_pkgs+=(grub-pc-bin)

if [ ${#need_pkgs[@]} -eq 0 ]; then
    exit 0
fi
echo "install-deps: installing ${need_pkgs[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
