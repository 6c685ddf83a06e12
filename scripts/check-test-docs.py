#!/usr/bin/env python3
"""Every boot test has a row in docs/testing.md, and every row names a test.

The boot tests are the functions decorated `@test` in Tests/Boot/tests_*.py
(read with `ast`, nothing is imported or run); the rows are those of the
table headed `| test | what it checks |` in docs/testing.md. Prints what
is missing or left over and exits 1; exits 0 and prints one line when the
two agree. `make test` runs it (scripts/run-tests.py), counted as one test.
"""
import ast
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join("docs", "testing.md")
HEADER = "| test | what it checks |"


def boot_tests():
    """(name, file) of every @test function, in file order."""
    tests = []
    for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "Boot", "tests_*.py"))):
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Name) and d.id == "test" for d in node.decorator_list):
                tests.append((node.name, os.path.relpath(path, ROOT)))
    return tests


def documented_tests():
    """The first column of the test table in docs/testing.md."""
    with open(os.path.join(ROOT, DOC)) as f:
        lines = f.read().splitlines()
    if HEADER not in lines:
        return None
    rows = []
    for line in lines[lines.index(HEADER) + 2:]:   # after the header and |---|
        if not line.startswith("|"):
            break
        m = re.match(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", line)
        rows.append(m.group(1) if m else line)
    return rows


def main():
    tests = boot_tests()
    rows = documented_tests()
    if rows is None:
        print(f"{DOC}: no table headed '{HEADER}'")
        return 1
    names = {name for name, _ in tests}
    problems = [f"{DOC}: no row for boot test {name} ({path})" for name, path in tests if name not in rows]
    problems += [f"{DOC}: row {row!r} names no @test function in Tests/Boot/tests_*.py"
                 for row in rows if row not in names]
    problems += [f"{DOC}: two rows for {row}" for row in sorted(set(rows)) if rows.count(row) > 1]
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"test docs: all {len(tests)} boot tests have a row in {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
