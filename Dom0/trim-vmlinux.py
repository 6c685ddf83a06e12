#!/usr/bin/env python3
"""Writes a loadable-only copy of vmlinux for the boot ISO: the ELF header,
the program headers, and each PT_LOAD segment's bytes without its trailing
zeros (p_filesz shrinks; p_memsz stays, so a loader zero-fills the rest,
as the ELF format says). Section headers, symbols and debug data go.

Why: the cloud kernel's vmlinux is 53 MB, a third of it zeros at the end
of its last segment (.bss, .brk, .init.scratch stored in the file); GRUB
reads modules from the emulated CD-ROM slowly, so every MB costs boot time
(docs/dom0.md, measured). The PVH entry note stays where it was, inside
the first segment.

    trim-vmlinux.py IN OUT
"""
import struct
import sys

PT_LOAD, PT_NOTE = 1, 4
PAGE = 4096
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")


def main(src, dst):
    data = open(src, "rb").read()
    (ident, etype, machine, version, entry, phoff, _shoff, flags,
     ehsize, phentsize, phnum, _shentsize, _shnum, _shstrndx) = EHDR.unpack_from(data, 0)
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or phentsize != PHDR.size:
        sys.exit(f"trim-vmlinux: {src} is not a 64-bit ELF file")
    headers = [list(PHDR.unpack_from(data, phoff + i * phentsize)) for i in range(phnum)]
    out = bytearray(EHDR.size + phnum * PHDR.size)
    placed = []   # (old offset, old end, new offset) of each load segment
    for h in headers:
        ptype, _, offset, vaddr, _, filesz, _, _ = h
        if ptype != PT_LOAD:
            continue
        body = data[offset:offset + filesz].rstrip(b"\0")
        # Keep the offset congruent to the address modulo the page size.
        at = len(out) + ((vaddr - len(out)) % PAGE)
        out += b"\0" * (at - len(out)) + body
        placed.append((offset, offset + filesz, at))
        h[2], h[5], h[7] = at, len(body), PAGE
    for h in headers:
        if h[0] == PT_LOAD:
            continue
        # Other headers (the notes) point into a load segment: move them along.
        for old, end, new in placed:
            if old <= h[2] and h[2] + h[5] <= end:
                h[2] = new + (h[2] - old)
                break
        else:
            h[2], h[5] = 0, 0   # outside every segment: dropped
            if h[0] == PT_NOTE:
                sys.exit("trim-vmlinux: a note outside the load segments")
    EHDR.pack_into(out, 0, ident, etype, machine, version, entry, EHDR.size, 0, flags,
                   ehsize, PHDR.size, phnum, 0, 0, 0)
    for i, h in enumerate(headers):
        PHDR.pack_into(out, EHDR.size + i * PHDR.size, *h)
    with open(dst, "wb") as f:
        f.write(out)
    print(f"trim-vmlinux: {len(data)} -> {len(out)} bytes", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
