#!/usr/bin/env bash
# Decides which ABI of Debian's cloud kernel Dom0 is built with, and
# records it in build/dom0/kernel-abi: fetch-kernel.sh, fetch-headers.sh,
# driver/build.sh, initramfs/build.sh and the boot tests read it there.
#
#   KERNEL_ABI set (make KERNEL_ABI=...): that ABI, or fail;
#   else KERNEL_PIN (the pinned default) while the archive has it;
#   else the ABI linux-image-cloud-amd64 depends on now. Debian drops an
#   ABI's packages from the archive some time after the next one is out.
#
# An ABI is usable when its linux-image package is in build/dom0/download
# or `apt-get download` gets it there. When nothing is usable the package
# lists may be stale: apt-get update once (as root or with sudo, like
# scripts/install-deps.sh), then try again. The file is rewritten only when
# the ABI changes, so make rebuilds the kernel, headers, tern.ko and the
# initramfs only then.
#
#     Dom0/kernel-abi.sh build/dom0
# Out: build/dom0/kernel-abi   one line, e.g. 6.1.0-56-cloud-amd64
set -euo pipefail

KERNEL_PIN="${KERNEL_PIN:-6.1.0-56-cloud-amd64}"
KERNEL_ABI="${KERNEL_ABI:-}"
OUT="${1:-build/dom0}"
META="linux-image-${KERNEL_PIN#*-*-}"           # linux-image-cloud-amd64

# usable ABI: its linux-image .deb is (now) in $OUT/download.
usable() {
    if ! ls "$OUT/download/linux-image-${1}_"*.deb >/dev/null 2>&1; then
        echo "kernel-abi: apt-get download linux-image-$1" >&2
        (cd "$OUT/download" && apt-get download "linux-image-$1" 2>&1 | { grep -v "unsandboxed" || true; } >&2) || true
    fi
    ls "$OUT/download/linux-image-${1}_"*.deb >/dev/null 2>&1
}

# The ABI the metapackage depends on in the package lists (empty if none).
meta_abi() {
    apt-cache depends "$META" 2>/dev/null | sed -n 's/^ *Depends: linux-image-//p' | head -n 1 || true
}

# Sets ABI and WHY, or fails.
choose() {
    if [ -n "$KERNEL_ABI" ]; then
        usable "$KERNEL_ABI" || return 1
        ABI="$KERNEL_ABI" WHY="set by KERNEL_ABI"
        return 0
    fi
    if usable "$KERNEL_PIN"; then
        ABI="$KERNEL_PIN" WHY="the pinned ABI"
        return 0
    fi
    local meta
    meta="$(meta_abi)"
    if [ -n "$meta" ] && [ "$meta" != "$KERNEL_PIN" ] && usable "$meta"; then
        ABI="$meta" WHY="linux-image-$KERNEL_PIN is not in the archive; $META depends on $meta now"
        return 0
    fi
    return 1
}

mkdir -p "$OUT/download"
if ! choose; then
    echo "kernel-abi: apt-get update (the package lists may be stale)" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq || true
    if ! choose; then
        if [ -n "$KERNEL_ABI" ]; then
            echo "kernel-abi: KERNEL_ABI=$KERNEL_ABI: cannot download linux-image-$KERNEL_ABI" >&2
        else
            echo "kernel-abi: cannot download linux-image-$KERNEL_PIN (the pin) nor the ABI $META depends on ('$(meta_abi)')" >&2
        fi
        exit 1
    fi
fi

# Say so when the ABI changes or is not the pin (time to move the pin?).
if [ "$(cat "$OUT/kernel-abi" 2>/dev/null)" != "$ABI" ]; then
    echo "$ABI" > "$OUT/kernel-abi"
    echo "kernel-abi: $ABI ($WHY) -> $OUT/kernel-abi" >&2
elif [ "$ABI" != "$KERNEL_PIN" ]; then
    echo "kernel-abi: $ABI ($WHY)" >&2
fi
