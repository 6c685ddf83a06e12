#!/usr/bin/env bash
# Dom0's data disk (docs/dom0.md, "Data disk"): an ext4 file system
# labelled tern-data, which Dom0's init mounts at /var/lib/tern. Built
# without root and without mounting anything: mke2fs -d copies a staged
# directory in, debugfs writes single files into an existing image.
#
#   data-disk.sh build   IMAGE SIZE DEST=SOURCE...
#       a new image of SIZE (mke2fs's units: 1G, 512M) holding each SOURCE
#       file at DEST (a path inside the file system); a sparse file.
#   data-disk.sh refresh IMAGE DEST=SOURCE...
#       an existing image (make run's persistent copy, build/tern-data.img)
#       gets each SOURCE at DEST, replacing what was there; every other
#       file in it (what the user made in Dom0) stays.
set -euo pipefail

# The label Dom0's init looks for (Dom0/initramfs/init).
LABEL=tern-data
# mke2fs, debugfs and e2fsck live in /sbin, which a user's PATH may lack.
export PATH="$PATH:/sbin:/usr/sbin"

usage() { echo "usage: $0 build IMAGE SIZE DEST=SOURCE... | refresh IMAGE DEST=SOURCE..." >&2; exit 2; }
[ $# -ge 2 ] || usage
mode="$1"; image="$2"; shift 2

check_files() { # DEST=SOURCE...: every source exists, every dest is relative
    local spec
    for spec in "$@"; do
        [[ "$spec" == *=* ]] || usage
        [ -f "${spec#*=}" ] || { echo "data-disk: ${spec#*=} missing" >&2; exit 1; }
        case "${spec%%=*}" in /*|*..*) echo "data-disk: bad path ${spec%%=*}" >&2; exit 1;; esac
    done
}

# e2fsck -p's status: 0 clean, 1 errors corrected; anything else is not fine.
fsck_ok() { # IMAGE OPTIONS...
    local image="$1" status=0
    shift
    e2fsck "$@" "$image" >/dev/null 2>&1 || status=$?
    [ "$status" -le 1 ] || { echo "data-disk: e2fsck $* $image: status $status" >&2; e2fsck -fn "$image" >&2 || true; exit 1; }
}

case "$mode" in
build)
    [ $# -ge 2 ] || usage
    size="$1"; shift
    check_files "$@"
    stage="$image.root"
    rm -rf "$stage" "$image.new"
    for spec in "$@"; do
        mkdir -p "$stage/$(dirname "${spec%%=*}")"
        ln -f "${spec#*=}" "$stage/${spec%%=*}" 2>/dev/null || cp "${spec#*=}" "$stage/${spec%%=*}"
    done
    # -E: the root directory is root's in Dom0 whoever builds it; the inode
    # tables are zeroed here (else Dom0's kernel zeroes them in the
    # background after its first mount, under TCG, during the boot); the
    # journal is left as the new file's holes, which read as zeros.
    : > "$image.new"   # mke2fs gives it SIZE (sparse)
    mke2fs -q -F -t ext4 -L "$LABEL" -E root_owner=0:0,lazy_itable_init=0,lazy_journal_init=1 \
        -d "$stage" "$image.new" "$size"
    fsck_ok "$image.new" -fn
    rm -rf "$stage"
    mv "$image.new" "$image"
    echo "data-disk: $image ($size, $(du -k "$image" | cut -f1) KiB used on the host): $*" >&2
    ;;
refresh)
    check_files "$@"
    [ -f "$image" ] || { echo "data-disk: $image missing" >&2; exit 1; }
    # Replay the journal first (QEMU may have been quit with Ctrl-A X).
    fsck_ok "$image" -fp
    commands="$(mktemp)"
    trap 'rm -f "$commands" "$commands.out"' EXIT
    for spec in "$@"; do
        dest="${spec%%=*}" dir=""
        for part in $(dirname "$dest" | tr / ' '); do
            [ "$part" = . ] && continue
            dir="$dir/$part"
            echo "mkdir $dir"        # an error if it exists: ignored
        done
        echo "rm /$dest"             # an error if it does not: ignored
        echo "write ${spec#*=} /$dest"
    done > "$commands"
    debugfs -w -f "$commands" "$image" >/dev/null 2>&1
    # debugfs reports errors and carries on: check what it wrote.
    for spec in "$@"; do
        rm -f "$commands.out"
        debugfs -R "dump /${spec%%=*} $commands.out" "$image" >/dev/null 2>&1
        cmp -s "${spec#*=}" "$commands.out" || { echo "data-disk: /${spec%%=*} in $image differs from ${spec#*=} after writing" >&2; exit 1; }
    done
    fsck_ok "$image" -fn
    echo "data-disk: refreshed in $image: $*" >&2
    ;;
*) usage ;;
esac
