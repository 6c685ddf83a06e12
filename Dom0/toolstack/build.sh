#!/usr/bin/env bash
# Builds the `tern` toolstack CLI for Dom0's initramfs: release, statically
# linked (Dom0's initramfs has no C library of its own), stripped. Its own
# scratch path, so it does not fight `swift test` over .build.
#
#     Dom0/toolstack/build.sh build/dom0
# Out: build/dom0/tern
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$(mkdir -p "${1:-build/dom0}" && cd "${1:-build/dom0}" && pwd)"
cd "$REPO"
# SwiftPM does not always see a changed ABI header (a system-library
# module): a change of any of them rebuilds from scratch.
abi_hash="$(cat Hypervisor/ABI/include/tern/*.h Hypervisor/ABI/include/module.modulemap | sha256sum | cut -d' ' -f1)"
if [ "$(cat .build-dom0/abi.sha256 2>/dev/null)" != "$abi_hash" ]; then
    rm -rf .build-dom0/release .build-dom0/x86_64-unknown-linux-gnu
    mkdir -p .build-dom0 && echo "$abi_hash" > .build-dom0/abi.sha256
fi
swift build -c release --product tern --scratch-path .build-dom0 -Xswiftc -static-executable 2>&1 |
    { grep -v -e "warning: Using 'dlopen' in statically linked" -e "requires at runtime the shared libraries" || true; }
strip -o "$OUT/tern" .build-dom0/release/tern
echo "tern: $(stat -c %s "$OUT/tern") bytes, static -> $OUT/tern" >&2
