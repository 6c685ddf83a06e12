#!/usr/bin/env bash
# The Linux guest's tools disk (docs/blockback.md, "Linux guests"): what
# its busybox initramfs lacks to use and measure a disk, on a small ext2
# image that guests attach read-only (xvdb) and mount at /tools:
#   mkfs.ext4, fsck.ext4   e2fsprogs' mke2fs and e2fsck from this build
#                          machine (Debian's, dynamic), with the libraries
#                          and loader they need under /tools/lib, run
#                          through wrappers that name that loader
#   tern-diskbench         the same static binary as Dom0's (Dom0/tools)
#   tern-netbench          likewise (make bench's network section)
#   disk-test              what the boot tests run on a guest's xvda
#                          (Guests/linux/disk-test, a busybox sh script)
#
#     Guests/linux/build-tools-disk.sh OUT.img DISKBENCH NETBENCH
set -euo pipefail
export PATH="$PATH:/sbin:/usr/sbin"
out="$1" diskbench="$2" netbench="$3"
stage="$out.root"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib" "$stage/etc"

copy_with_libraries() { # BINARY NAME: the binary as bin/NAME.real and what ldd says it loads
    local binary="$1" name="$2" lib
    install -m 0755 "$binary" "$stage/bin/$name.real"
    for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
        [ -f "$stage/lib/$(basename "$lib")" ] || install -m 0755 "$(readlink -f "$lib")" "$stage/lib/$(basename "$lib")"
    done
}
wrapper() { # NAME REAL [ARGS...]: bin/NAME runs bin/REAL.real through the loader here
    local name="$1" real="$2"
    shift 2
    printf '#!/bin/sh\nMKE2FS_CONFIG=/tools/etc/mke2fs.conf exec /tools/lib/ld-linux-x86-64.so.2 --library-path /tools/lib /tools/bin/%s.real %s "$@"\n' \
        "$real" "$*" > "$stage/bin/$name"
    chmod 0755 "$stage/bin/$name"
}
copy_with_libraries "$(command -v mke2fs)" mke2fs
copy_with_libraries "$(command -v e2fsck)" e2fsck
wrapper mkfs.ext4 mke2fs -t ext4
wrapper fsck.ext4 e2fsck
[ -f /etc/mke2fs.conf ] && install -m 0644 /etc/mke2fs.conf "$stage/etc/mke2fs.conf"
install -m 0755 "$diskbench" "$stage/bin/tern-diskbench"
install -m 0755 "$netbench" "$stage/bin/tern-netbench"
install -m 0755 "$(dirname "$0")/disk-test" "$stage/bin/disk-test"

rm -f "$out.new"
: > "$out.new"
mke2fs -q -F -t ext2 -L tern-tools -E root_owner=0:0 -d "$stage" "$out.new" 16M
rm -rf "$stage"
mv "$out.new" "$out"
echo "tools disk: $out ($(du -k "$out" | cut -f1) KiB used): mkfs.ext4 fsck.ext4 tern-diskbench tern-netbench disk-test" >&2
