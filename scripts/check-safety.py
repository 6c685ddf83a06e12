#!/usr/bin/env python3
"""Unsafe code accounted for: every raw-memory operation and every
`nonisolated(unsafe)` global in Tern's Swift needs a `// SAFETY: reason`.

Like Firecracker's `undocumented_unsafe_blocks`: each site listed in
PATTERNS (below) must have a comment containing `SAFETY` followed by a
colon and a reason (`// SAFETY: ...`, `// SAFETY (both): ...`) on the
site's line or within WINDOW lines above it. One comment may cover a short
block of consecutive sites, as long as it is within WINDOW lines of each.

Comments and string literals are blanked before matching, so a pattern
mentioned in a comment or a string is not a site. What the patterns do not
see: subscripts of typed pointers (`p[i]`), pointers handed to C, scoped
`withUnsafe...` closures. Those rest on the SAFETY reason where the
pointer was made (a bitPattern, a rebinding, a start and count).

Usage: scripts/check-safety.py [--window N] [--list] [paths...]
Exit 0 when every site has a reason; 1 (listing `file:line: what`) if not.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Where the rule applies: Swift files under these directories, minus
# anything under a Tests/ directory.
SCOPE = ["Hypervisor", "Guests/Runtime", "Dom0/toolstack", "Dom0/blockback", "Dom0/netback", "Guests/disk", "Guests/net"]

# How many lines above a site its SAFETY comment may be.
WINDOW = 6

# The sites, matched against code with comments and strings blanked out.
# name -> regex. Each match on a line is one site.
PATTERNS = {
    # Reading or writing through a typed pointer.
    "pointee": r"\.pointee\b",
    # Raw loads and stores: a method called on something (`p.load(`,
    # `$0.load(`, `)\n    .storeBytes(`), not an enum case (`case .load(`).
    "load/store": r"(?:[\w)\]!?]|^\s*)\.(?:load|loadUnaligned|storeBytes)\s*(?:<[^>()]*>\s*)?\(",
    # Typing raw memory: the type must match what is really there.
    "rebind": r"\b(?:withMemoryRebound|bindMemory|assumingMemoryBound)\s*\(",
    # Bulk copies and initialisation: both ranges must be valid for count.
    "copy/init": r"\b(?:copyMemory|initializeMemory|copyBytes|moveInitialize"
                 r"|memcpy|memmove|memset)\s*\(|\.initialize\s*\(\s*(?:repeating|to|from)\s*:",
    # Integers made into pointers: the address must be mapped, and valid
    # for as long as the pointer is used.
    "bitPattern pointer": r"\b(?:Unsafe(?:Mutable)?(?:Raw)?(?:Buffer)?Pointer|OpaquePointer)"
                          r"\s*(?:<[^>()]*>\s*)?\(\s*bitPattern\s*:",
    # A buffer from a bare pointer and a length: the length is trusted.
    "buffer from start:count:": r"\bUnsafe(?:Mutable)?(?:Raw)?BufferPointer"
                                r"\s*(?:<[^>()]*>\s*)?\(\s*start\s*:",
    # Reinterpreting bits or object references.
    "bit cast": r"\b(?:unsafeBitCast|unsafeDowncast|Unmanaged)\b",
}
# Globals (and static members) the compiler does not check for data races.
GLOBAL_PATTERN = r"\bnonisolated\s*\(\s*unsafe\s*\)"
GLOBAL = "nonisolated(unsafe) global"

# The reason: `SAFETY`, an optional parenthesised scope, a colon, text.
REASON_PATTERN = r"\bSAFETY\b\s*(?:\([^)]*\))?\s*:\s*\S"


def swift_files():
    for top in SCOPE:
        for directory, subdirs, files in os.walk(os.path.join(ROOT, top)):
            subdirs[:] = sorted(d for d in subdirs if d != "Tests" and not d.startswith("."))
            for name in sorted(files):
                if name.endswith(".swift"):
                    yield os.path.join(directory, name)


def split_code_and_comments(text):
    """Returns (code, comments): two copies of text, same length and line
    breaks. code has comments and string literals blanked (interpolated
    code in strings is kept); comments has only the comments' text."""
    code, comments = [], []

    def emit(chunk, to_code, to_comment):
        blank = re.sub(r"[^\n]", " ", chunk)
        code.append(chunk if to_code else blank)
        comments.append(chunk if to_comment else blank)

    # What we are inside: ["string", raw hashes, multiline] or ["interp",
    # paren depth] for `\( ... )` in a string; code when empty.
    stack = []
    code_token = re.compile(r'//|/\*|#*"(?:"")?|[()]')
    i, n = 0, len(text)
    while i < n:
        top = stack[-1] if stack else None
        if top is not None and top[0] == "string":
            _, hashes, multiline = top
            close = ('"""' if multiline else '"') + "#" * hashes
            escape = "\\" + "#" * hashes
            m = re.compile(re.escape(close) + "|" + re.escape(escape)).search(text, i)   # re caches it
            if not m:
                emit(text[i:], False, False)
                break
            emit(text[i:m.start()], False, False)
            if m.group(0) == close:
                emit(close, True, False)
                stack.pop()
                i = m.end()
            elif text.startswith("(", m.end()):
                emit(text[m.start():m.end() + 1], True, False)
                stack.append(["interp", 1])
                i = m.end() + 1
            else:
                emit(text[m.start():m.end() + 1], False, False)   # an escaped character
                i = m.end() + 1
            continue
        m = code_token.search(text, i)
        if not m:
            emit(text[i:], True, False)
            break
        emit(text[i:m.start()], True, False)
        token, i = m.group(0), m.end()
        if token == "//":
            end = text.find("\n", i)
            end = n if end < 0 else end
            emit(text[m.start():end], False, True)
            i = end
        elif token == "/*":
            depth = 1
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            emit(text[m.start():i], False, True)
        elif token.endswith('"'):
            emit(token, True, False)
            stack.append(["string", len(token) - len(token.lstrip("#")), token.endswith('"""')])
        else:
            emit(token, True, False)
            if top is not None:   # a parenthesis inside an interpolation
                top[1] += 1 if token == "(" else -1
                if top[1] == 0:
                    stack.pop()
    return "".join(code), "".join(comments)


def check_file(path, window):
    """Returns a list of (line number, what, has a reason) for the file's
    sites; what is a PATTERNS name or GLOBAL."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    code, comments = split_code_and_comments(text)
    code_lines, comment_lines = code.split("\n"), comments.split("\n")
    reasons = [bool(re.search(REASON_PATTERN, line)) for line in comment_lines]
    result = []
    for index, line in enumerate(code_lines):
        found = []
        for what, pattern in PATTERNS.items():
            found += [what] * len(re.findall(pattern, line))
        if re.search(GLOBAL_PATTERN, line):
            found.append(GLOBAL)
        reasoned = any(reasons[max(0, index - window):index + 1])
        result += [(index + 1, what, reasoned) for what in found]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=int, default=WINDOW, help="lines above a site its SAFETY may be")
    parser.add_argument("--list", action="store_true", help="list every site, with or without a reason")
    parser.add_argument("paths", nargs="*", help="files to check (default: the whole scope)")
    args = parser.parse_args()

    paths = [os.path.abspath(p) for p in args.paths] or list(swift_files())
    sites = []
    for path in paths:
        relative = os.path.relpath(path, ROOT)
        sites += [(relative, line, what, ok) for line, what, ok in check_file(path, args.window)]
    missing = [site for site in sites if not site[3]]
    if args.list:
        for relative, line, what, ok in sites:
            print(f"{relative}:{line}: {what}{'' if ok else ' (no SAFETY reason)'}")
    for relative, line, what, _ in ([] if args.list else missing):
        print(f"{relative}:{line}: {what} without a SAFETY reason in the {args.window} lines above")
    globals_ = sum(1 for site in sites if site[2] == GLOBAL)
    counts = f"{len(sites) - globals_} raw-memory sites and {globals_} unsafe globals"
    if missing:
        bad_globals = sum(1 for site in missing if site[2] == GLOBAL)
        print(f"check-safety: FAILED: {len(missing) - bad_globals} of {len(sites) - globals_} raw-memory sites "
              f"and {bad_globals} of {globals_} unsafe globals without a SAFETY reason")
        return 1
    print(f"check-safety: {counts}, all with a SAFETY reason")
    return 0


if __name__ == "__main__":
    sys.exit(main())
