#!/usr/bin/env python3
"""Tern's boot tests: boot the real hypervisor in QEMU (TCG) and check what
it prints on the serial console.

    python3 Tests/Boot/boottest.py --elf build/tern.elf --iso build/tern.iso
    python3 Tests/Boot/boottest.py ... --only icount      # tests matching a word
    python3 Tests/Boot/boottest.py ... --update-baseline  # see docs/testing.md

Ends with the line `N passed, N failed`; exits non-zero if any failed.
"""
# The tests are here by area: tests_boot.py, tests_guests.py,
# tests_channels.py, tests_dom0.py, tests_toolstack.py, tests_console.py, tests_block.py, tests_net.py and tests_netfront.py, run in that
# order (the imports below); what they share and the registry (@test) are
# in common.py.
import argparse
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Importing an area registers its tests.
# The areas, in the order they run (each registers its tests on import).
import tests_boot  # noqa: E402
import tests_guests  # noqa: E402,F401
import tests_linux_guest  # noqa: E402,F401
import tests_channels  # noqa: E402,F401
import tests_dom0  # noqa: E402,F401
import tests_toolstack  # noqa: E402,F401
import tests_console  # noqa: E402,F401
import tests_block  # noqa: E402,F401
import tests_net  # noqa: E402,F401
import tests_netfront  # noqa: E402,F401
from common import TESTS  # noqa: E402
from qemu import BootFailure  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elf", default="build/tern.elf")
    parser.add_argument("--iso", default="build/tern.iso")
    parser.add_argument("--only", help="run only tests whose name contains this")
    parser.add_argument("--update-baseline", action="store_true",
                        help="rewrite Tests/Boot/phase-baseline.json from this run")
    args = parser.parse_args()

    passed = failed = 0
    for fn in TESTS:
        if args.only and args.only not in fn.__name__:
            continue
        if args.update_baseline and fn is not tests_boot.icount_phase_regression:
            continue
        started = time.monotonic()
        print(f"boot test {fn.__name__} ...", flush=True)
        try:
            fn(args)
        except Exception as error:  # a failing test prints why and goes on
            failed += 1
            print(f"FAIL {fn.__name__} ({time.monotonic() - started:.1f} s)")
            if isinstance(error, (BootFailure, AssertionError)):
                print(error)
            else:
                traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {fn.__name__} ({time.monotonic() - started:.1f} s)", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
