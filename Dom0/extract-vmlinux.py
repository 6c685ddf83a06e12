#!/usr/bin/env python3
"""Extracts the uncompressed vmlinux (an ELF with the PVH entry note) from a
bzImage, as the kernel's scripts/extract-vmlinux does: find the compressed
payload by its magic, decompress, check the ELF magic. Debian's cloud
kernel is LZ4-compressed (the legacy LZ4 frame, magic 02 21 4C 18); gzip,
xz and zstd payloads are tried too.

    extract-vmlinux.py BZIMAGE OUT
"""
import subprocess
import sys

FORMATS = [  # (magic, decompress command)
    (b"\x02\x21\x4c\x18", ["lz4", "-dc"]),
    (b"\x1f\x8b\x08", ["gzip", "-dc"]),
    (b"\xfd7zXZ\x00", ["xz", "-dc"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dc"]),
]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    image = open(sys.argv[1], "rb").read()
    for magic, command in FORMATS:
        start = image.find(magic)
        while start != -1:
            try:
                out = subprocess.run(command, input=image[start:], capture_output=True).stdout
            except FileNotFoundError:
                break
            if out[:4] == b"\x7fELF":
                open(sys.argv[2], "wb").write(out)
                return 0
            start = image.find(magic, start + 1)
    sys.exit(f"extract-vmlinux: no ELF payload found in {sys.argv[1]}")


if __name__ == "__main__":
    sys.exit(main())
