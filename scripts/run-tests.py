#!/usr/bin/env python3
"""`make test`: the SAFETY check (scripts/check-safety.py), the test-docs
check (scripts/check-test-docs.py), the host unit tests (swift test), then
the boot tests.

Prints the runners' output (the boot tests' own summary as `boot tests: N
passed, N failed`), then one closing line for the whole run:
`N passed, N failed` (the SAFETY check and the test-docs check count as
one test each, + unit tests + boot tests). Exits non-zero on any failure,
including a runner that could not start or reported nothing.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# A runner's own `N passed, N failed` line (the boot tests end with one).
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


def run(command, label=None):
    """Runs a command, streaming its output; returns (exit code, output).
    With `label`, the runner's own summary line is shown as `label: N
    passed, N failed`, so that the combined line at the end is the only
    one of that form (the output returned is unchanged)."""
    print("$ " + " ".join(command), flush=True)
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        if label and SUMMARY.match(line.rstrip("\n")):
            sys.stdout.write(f"{label}: {line}")
        else:
            sys.stdout.write(line)
        lines.append(line)
    sys.stdout.flush()
    return proc.wait(), "".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--elf", default="build/tern.elf")
    parser.add_argument("--iso", default="build/tern.iso")
    args = parser.parse_args()

    passed = failed = 0
    # Every raw-memory operation and unsafe global has a SAFETY reason:
    # one test, run first (it takes under a second).
    status, _ = run([sys.executable, "scripts/check-safety.py"])
    if status == 0:
        passed += 1
        print("safety check: passed")
    else:
        failed += 1
        print("safety check: FAILED (sites above lack a `// SAFETY: reason` comment)")

    # Every boot test has a row in docs/testing.md and every row a test:
    # one test too (scripts/check-test-docs.py).
    status, _ = run([sys.executable, "scripts/check-test-docs.py"])
    if status == 0:
        passed += 1
    else:
        failed += 1
        print("test docs check: FAILED (docs/testing.md's boot test table, above)")

    status, output = run(["swift", "test"])
    # XCTest: "Executed 97 tests, with 0 failures (0 unexpected) in ..."
    summaries = re.findall(r"Executed (\d+) tests?, with (\d+) failures?", output)
    if summaries:
        total, failures = map(int, summaries[-1])
        passed += total - failures
        failed += failures
    if status != 0 and (not summaries or int(summaries[-1][1]) == 0):
        failed += 1  # the unit tests did not build or run: count it
        print("unit tests: swift test failed without a test summary")
    if not summaries or int(summaries[-1][0]) == 0:
        failed += 1
        print("unit tests: no tests ran")

    status, output = run([sys.executable, "Tests/Boot/boottest.py", "--elf", args.elf, "--iso", args.iso],
                         label="boot tests")
    m = re.search(r"^(\d+) passed, (\d+) failed$", output, re.MULTILINE)
    if m:
        passed += int(m.group(1))
        failed += int(m.group(2))
    if status != 0 and (not m or int(m.group(2)) == 0):
        failed += 1
        print("boot tests: runner failed without a summary")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
