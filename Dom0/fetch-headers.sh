#!/usr/bin/env bash
# Fetches the headers tern.ko is built against: Debian's kernel headers for
# Dom0's ABI (build/dom0/kernel-abi, the one Dom0/fetch-kernel.sh fetches)
# and the matching kbuild tools. Nothing is installed into the host; the
# packages are unpacked under build/dom0/headers, and the few absolute paths
# in them (/usr/src/..., /usr/lib/linux-kbuild-...) are made to point inside
# it. Cached: a second run for the same ABI does nothing.
#
# Out: build/dom0/headers/usr/src/linux-headers-$KERNEL_ABI   make -C here M=...
set -euo pipefail

OUT="${1:-build/dom0}"
[ -f "$OUT/kernel-abi" ] || { echo "fetch-headers: $OUT/kernel-abi missing (Dom0/kernel-abi.sh; make dom0 runs it)" >&2; exit 1; }
KERNEL_ABI="$(cat "$OUT/kernel-abi")"
COMMON="${KERNEL_ABI%%-[a-z]*}-common"          # 6.1.0-56-common
KVER="${KERNEL_ABI%%-*}"                         # 6.1.0
KBUILD="linux-kbuild-${KVER%.*}"                 # linux-kbuild-6.1
PKGS=("linux-headers-$KERNEL_ABI" "linux-headers-$COMMON" "$KBUILD")
HEADERS="$OUT/headers"
STAMP="$HEADERS/.abi-$KERNEL_ABI"

if [ -f "$STAMP" ]; then
    exit 0
fi
# fetch PACKAGE: its .deb into $OUT/download, unless it is there already.
fetch() {
    ls "$OUT/download/${1}_"*.deb >/dev/null 2>&1 && return 0
    echo "fetch-headers: apt-get download $1" >&2
    (cd "$OUT/download" && apt-get download "$1" 2>&1 | grep -v "unsandboxed" >&2) || {
        echo "fetch-headers: cannot download $1 (run 'apt-get update' first?)" >&2
        exit 1
    }
}
mkdir -p "$OUT/download"
fetch "${PKGS[0]}"
fetch "${PKGS[1]}"
# linux-kbuild-6.1 serves every 6.1 ABI: a cached one older than these
# headers want (Depends: linux-kbuild-6.1 (>= VERSION)) is fetched anew.
need="$(dpkg-deb -f "$OUT/download/${PKGS[0]}_"*.deb Depends | grep -o "$KBUILD (>= [^)]*" | cut -d' ' -f3 || true)"
for deb in "$OUT/download/${KBUILD}_"*.deb; do
    if [ -f "$deb" ] && [ -n "$need" ] && dpkg --compare-versions "$(dpkg-deb -f "$deb" Version)" lt "$need"; then
        echo "fetch-headers: $(basename "$deb") is older than $need" >&2
        rm -f "$deb"
    fi
done
fetch "$KBUILD"

rm -rf "$HEADERS"
mkdir -p "$HEADERS"
for pkg in "${PKGS[@]}"; do
    dpkg-deb -x "$OUT/download/${pkg}_"*.deb "$HEADERS"
done

# The flavour's Makefile is one line, `include /usr/src/linux-headers-
# <common>/Makefile`; include the unpacked one, relative to this Makefile.
# (The common Makefile finds its source tree from its own path, and the
# scripts/ and tools/ symlinks into linux-kbuild are already relative.)
FLAVOUR="$HEADERS/usr/src/linux-headers-$KERNEL_ABI"
sed -i 's|^include /usr/src/|include $(dir $(lastword $(MAKEFILE_LIST)))../|' "$FLAVOUR/Makefile"
if grep -q '/usr/src' "$FLAVOUR/Makefile"; then
    echo "fetch-headers: unexpected $FLAVOUR/Makefile:" >&2
    cat "$FLAVOUR/Makefile" >&2
    exit 1
fi
# Absolute symlinks (lib/modules/$ABI/build and source) -> relative ones.
find "$HEADERS" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$HEADERS$target")" "$link"
done
for dir in "$FLAVOUR/scripts/" "$FLAVOUR/include/generated/"; do
    [ -d "$dir" ] || { echo "fetch-headers: $dir missing after unpacking" >&2; exit 1; }
done

touch "$STAMP"
for pkg in "${PKGS[@]}"; do
    echo "fetch-headers: $pkg $(dpkg-deb -f "$OUT/download/${pkg}_"*.deb Version)" >&2
done
echo "fetch-headers: -> $FLAVOUR" >&2
