"""Boot tests of Tern itself: multiboot1 and the GRUB ISO (multiboot2),
the panic report (selftest), boot and module options, small and large
memory, boot modules, CPUs Tern refuses, and the boot phase regression
under -icount."""
import json
import os
import re
import tempfile

from common import (DOM0_PROMPT, HERE, NO_GUESTS_LEFT, check, check_frames_back, dom0_abi, domain_ids, make_run_command,
                    modules, shell, symbol_address, test)
from qemu import boot, qemu_command


BASELINE = os.path.join(HERE, "phase-baseline.json")
BOOT_COMPLETE = r"\(tern\) Boot complete: \d+ free frames"

# A phase may grow by 20% over the baseline (the bound); phases so
# short that 20% is a handful of instructions also get an absolute allowance
# of this many microseconds (1 us = 1000 instructions at -icount shift=0).
REGRESSION_RATIO = 1.20
REGRESSION_FLOOR_US = 5


def parse_phases(run):
    phases = {}
    for m in re.finditer(r"^\(tern\)\s+phase (\S+)\s+(\d+) us$", run.log, re.MULTILINE):
        phases[m.group(1)] = int(m.group(2))
    return phases


def check_normal_boot(run, loader):
    """What every successful boot must show (the issue's `make run` list)."""
    run.find(r"^\(tern\) Tern hypervisor \d+\.\d+\.\d+ \(Embedded Swift, x86-64\)$")
    run.find(rf"^\(tern\) Loaded by {loader} loader")
    run.find(r"^\(tern\) Memory map \(\d+ regions\):$")
    run.find(r"^\(tern\) RAM: \d+ [KMG]iB usable")
    free = int(run.find(r"^\(tern\) Frame allocator: (\d+) free frames").group(1))
    check(free > 1000, f"only {free} free frames", run)
    run.find(r"^\(tern\) Page tables: W\^X image")
    run.find(r"^\(tern\) LAPIC timer: 100 Hz, 3 ticks in \d+ us$")
    phases = parse_phases(run)
    run.find(r"^\(tern\) SVM: enabled with nested paging")
    for name in ("entry-to-swift", "console-bootinfo", "frame-allocator", "page-tables",
                 "descriptor-tables", "timer-calibration", "timer-first-ticks", "svm", "fpu", "domains", "total"):
        check(name in phases, f"phase {name} missing from the phase table", run)
    check(phases["total"] >= sum(v for k, v in phases.items() if k != "total") - len(phases),
          "phase total is less than the sum of the phases", run)
    return phases


@test
def boot_kernel_multiboot1(args):
    """QEMU -kernel (multiboot1, a.out kludge) boots to idle."""
    run = boot(qemu_command(elf=args.elf, cmdline="loglvl=info"), BOOT_COMPLETE)
    check_normal_boot(run, "multiboot1")
    for line in run.lines():
        check(not line.startswith(("WARNING", "ERROR")), f"unexpected: {line}", run)
    run.find(r"^\(tern\) Command line: \S*tern\.elf loglvl=info$")


@test
def boot_make_run_to_dom0_shell(args):
    """`make run`'s path, its command taken from the Makefile (`make -s
    command-run`; the disks snapshot=on): QEMU's multiboot loader boots
    Tern with Dom0's kernel and initramfs as boot modules and no guest
    beside it; Dom0 mounts its data disk and reaches its shell, where the
    domain list shows Dom0 alone and the guest kernel and initramfs are on
    the data disk."""
    command, _scratch = make_run_command(args)
    send, done = shell("cat /proc/tern/domains", "ls /var/lib/tern/linux")
    run = boot(command, done, timeout=240, send=send)
    check_normal_boot(run, "multiboot1")
    run.find(r"^\(tern\) d0 dom0: created, 512 MiB RAM identity-mapped")
    ids = domain_ids(run)
    check(sorted(ids) == ["dom0"], f"domains created: {sorted(ids)}", run)
    run.find(r"^\(d0\) tern-dom0: /var/lib/tern on vdb \(ext4, \d+ MiB free\)$")
    run.find(rf"^\(d0\) tern-dom0: ready \(kernel {dom0_abi()}\)$")
    run.find(r"^\(d0\) +0 +dom0 +running +512 +1 +[\d.]+ +privileged$")
    check(not re.search(r"^\(d0\) +[1-9]\d* +\S+ +(running|blocked)", run.log, re.MULTILINE), "a guest beside Dom0", run)
    run.find(r"^\(d0\) initramfs.cpio.gz +tools.img +vmlinux$")
    print(f"    QEMU start to Dom0's shell by make run's path: {run.time_of(DOM0_PROMPT):.2f} s (to its prompt's line)")


@test
def boot_iso_grub_multiboot2_to_dom0_shell(args):
    """The ISO's path (`make iso`; real hardware boots this way): the ISO
    boots through GRUB's multiboot2 (its first
    menu entry, at once) to Dom0's root shell, with a virtio disk and
    network; the example guests beside Dom0 run (hello powers off and gives
    its memory back, the sleeper stays), and the domain list typed in Dom0
    shows Dom0 and the sleeper."""
    send, done = shell("cat /proc/tern/domains")
    with tempfile.NamedTemporaryFile(suffix=".img") as disk:
        disk.truncate(16 << 20)
        run = boot(qemu_command(iso=args.iso, memory="1G", defaults=True, extra=[
            "-drive", f"file={disk.name},format=raw,if=virtio",
            "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]), done, timeout=240, send=send)
    check_normal_boot(run, "multiboot2")
    run.find(r"^\(tern\) Loaded by multiboot2 loader: GRUB")
    run.find(r"^\(tern\) d0 dom0: created, 512 MiB RAM identity-mapped")
    ids = {m.group(2): m.group(1) for m in re.finditer(r"^\(tern\) d(\d+) (\S+): created", run.log, re.MULTILINE)}
    check(sorted(ids) == ["dom0", "hello", "sleeper"], f"domains created: {sorted(ids)}", run)
    run.find(rf"^\(d{ids['hello']}\) goodbye$")
    m = run.find(rf"^\(tern\) d{ids['hello']} hello: destroyed, (\d+) frames returned, free frames (\d+) -> (\d+)$")
    check(int(m.group(3)) - int(m.group(2)) == int(m.group(1)), "destroy did not return every frame", run)
    run.find(rf"^\(d0\) tern-dom0: ready \(kernel {dom0_abi()}\)$")
    run.find(r"^\(d0\) +0 +dom0 +running +512 +1 +[\d.]+ +privileged$")
    run.find(rf"^\(d0\) +{ids['sleeper']} +sleeper +(running|blocked) +4 +1 +[\d.]+ +-$")
    print(f"    QEMU start to Dom0's shell through GRUB: {run.seconds:.2f} s")


@test
def selftest_pagefault_reports_vector_rip_cr2(args):
    """selftest=pagefault: the panic report names #PF, the exact faulting
    RIP (the symbol tern_selftest_fault_rip) and the address in CR2."""
    run = boot(qemu_command(elf=args.elf, cmdline="selftest=pagefault"),
               r"Hypervisor halted", expect_failure=True)
    rip = symbol_address(args.elf, "tern_selftest_fault_rip")
    address = int(run.find(r"selftest: reading unmapped address (0x[0-9a-f]+)").group(1), 16)
    run.find(r"^\(tern\) PANIC: #PF Page fault \(vector 14\), error code 0x0$")
    run.find(rf"^\(tern\)   page fault: read at CR2=0x{address:016x}, page not present$")
    run.find(rf"^\(tern\)   RIP: 0x{rip:016x}  CS: 0x0008")
    run.find(rf"^\(tern\)   CR0: 0x[0-9a-f]{{16}}  CR2: 0x{address:016x}$")
    run.find(rf"^\(tern\)     #0  0x{rip:016x}$")
    run.find(r"^\(tern\)     #1  0x[0-9a-f]{16}$")   # the frame-pointer walk went on
    for reg in ("RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8", "R15"):
        run.find(rf"{reg}:\s*0x[0-9a-f]{{16}}")
    check("Boot complete" in run.log, "selftest ran before boot completed", run)


@test
def bad_boot_options_are_warnings(args):
    """Unknown options and bad values are named in a warning; boot goes on."""
    run = boot(qemu_command(elf=args.elf, cmdline="loglvl=loud frobnicate=1 nosuchflag"),
               BOOT_COMPLETE, expect_failure=False, settle_lines=0)
    run.find(r"^\(tern\) WARNING: command line: bad value in 'loglvl=loud', ignored$")
    run.find(r"^\(tern\) WARNING: command line: unknown option 'frobnicate=1', ignored$")
    run.find(r"^\(tern\) WARNING: command line: unknown option 'nosuchflag', ignored$")


@test
def loglvl_debug_and_error(args):
    """loglvl=debug adds debug lines; loglvl=error hides info lines."""
    run = boot(qemu_command(elf=args.elf, cmdline="loglvl=debug"), BOOT_COMPLETE)
    run.find(r"^\(tern\) debug: Boot stack high-water mark: \d+ of \d+ bytes$")
    quiet = boot(qemu_command(elf=args.elf, cmdline="loglvl=error selftest=pagefault"),
                 r"Hypervisor halted", expect_failure=True)
    check("Tern hypervisor" not in quiet.log, "info lines printed at loglvl=error", quiet)
    quiet.find(r"PANIC: #PF")   # panic reports print whatever the level


@test
def small_and_large_memory(args):
    """128 MiB and 5 GiB (RAM above 4 GiB): the allocator and direct map
    cover what the memory map reports."""
    for memory, low_mib, high_mib in (("128M", 100, 127), ("5G", 4900, 5120)):
        run = boot(qemu_command(elf=args.elf, memory=memory), BOOT_COMPLETE)
        check_normal_boot(run, "multiboot1")
        free = int(run.find(r"Frame allocator: (\d+) free frames").group(1))
        mib = free * 4096 // (1 << 20)
        check(low_mib <= mib <= high_mib, f"{memory}: {mib} MiB free, expected {low_mib}..{high_mib}", run)
        if memory == "5G":
            run.find(r"^\(tern\)   0x0000000100000000 - 0x0000000[0-9a-f]{9}  usable$")


@test
def boot_module_is_reserved_and_bad_image_refused(args):
    """A module that is not an ELF executable is listed, its frames are
    reserved, it is refused with a message naming it, and boot goes on."""
    with tempfile.NamedTemporaryFile(suffix=".bin") as module:
        module.write(b"\xAB" * 300_000)
        module.flush()
        run = boot(qemu_command(elf=args.elf, extra=["-initrd", f"{module.name} name=junk"]), BOOT_COMPLETE,
                   allowed=[r"ERROR: module junk: cannot build the domain: not a loadable x86-64 ELF executable \(no ELF magic\)"])
    m = run.find(r"^\(tern\) Module 0: (0x[0-9a-f]+) - (0x[0-9a-f]+) \(292 KiB\) \S+ name=junk$")
    start, end = int(m.group(1), 16), int(m.group(2), 16)
    check(end - start == 300_000, f"module size {end - start}", run)
    reserved = re.findall(r"Reserved (0x[0-9a-f]+) - (0x[0-9a-f]+): boot module", run.log)
    check(reserved, "module not reserved", run)
    lo, hi = (int(x, 16) for x in reserved[0])
    check(lo <= start and end <= hi, "reservation does not cover the module", run)
    run.find(r"^\(tern\) ERROR: module junk: cannot build the domain: not a loadable x86-64 ELF executable \(no ELF magic\)$")


@test
def bad_module_options_are_refused(args):
    """Bad guest options are named, that guest is not started, others are."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "hello name=bad!name", "hello name=odd mem=3M", "hello name=typo memory=4M", "hello name=fine")),
        NO_GUESTS_LEFT, allowed=[r"ERROR: module"])
    run.find(r"^\(tern\) ERROR: module \S+: bad value in 'name=bad!name'; not started$")
    run.find(r"^\(tern\) ERROR: module odd: cannot build the domain: mem=3145728 bytes: must be 2 MiB to 64 GiB, in 2 MiB steps$")
    run.find(r"^\(tern\) ERROR: module typo: unknown option 'memory=4M'; not started$")
    run.find(r"^\(d\d+\) goodbye$")
    check(len(domain_ids(run)) == 1, "a refused module was started", run)
    check_frames_back(run)


@test
def cpu_without_nx_is_refused(args):
    """A CPU without NX stops at once with a message that says why."""
    run = boot(qemu_command(elf=args.elf, cpu="qemu64,-nx"), r"FATAL: this CPU has no NX bit; Tern needs it",
               timeout=30, expect_failure=True)
    check("Tern hypervisor" not in run.log, "boot went on without NX", run)


@test
def cpu_without_svm_or_npt_is_refused(args):
    """Without SVM, or with SVM but no nested paging, Tern says what it
    needs and how to get it in QEMU."""
    run = boot(qemu_command(elf=args.elf, cpu="qemu64"), r"FATAL: Tern needs AMD SVM", expect_failure=True)
    run.find(r"FATAL: Tern needs AMD SVM with nested paging; this CPU has SVM but no nested paging \(in QEMU use -cpu EPYC\)$")
    run = boot(qemu_command(elf=args.elf, cpu="qemu64,-svm"), r"FATAL: Tern needs AMD SVM", expect_failure=True)
    run.find(r"FATAL: Tern needs AMD SVM with nested paging; this CPU has no SVM \(in QEMU use -cpu EPYC\)$")


@test
def icount_phase_regression(args):
    """Deterministic virtual time: each phase within 20% of the baseline."""
    run = boot(qemu_command(elf=args.elf, icount=True), BOOT_COMPLETE, timeout=120)
    phases = parse_phases(run)
    check(phases, "no phase table", run)
    if args.update_baseline:
        with open(BASELINE, "w") as f:
            json.dump({"qemu": "-icount shift=0,sleep=off -kernel", "phases_us": phases}, f, indent=2)
            f.write("\n")
        print(f"    baseline written to {BASELINE}")
        return
    with open(BASELINE) as f:
        baseline = json.load(f)["phases_us"]
    regressions = []
    print(f"    {'phase':20} {'baseline':>10} {'now':>10} {'ratio':>7}")
    for name, base in baseline.items():
        now = phases.get(name)
        if now is None:
            regressions.append(f"phase {name} is gone (update the baseline if on purpose)")
            continue
        ratio = now / base if base else None
        print(f"    {name:20} {base:10} {now:10} {ratio:7.2f}" if ratio is not None else f"    {name:20} {base:10} {now:10}       -")
        if now > base * REGRESSION_RATIO and now - base > REGRESSION_FLOOR_US:
            regressions.append(f"phase {name}: {now} us vs baseline {base} us")
    for name in phases:
        if name not in baseline:
            regressions.append(f"new phase {name} not in the baseline (run with --update-baseline)")
    check(not regressions, "boot-time regression under -icount:\n  " + "\n  ".join(regressions), run)
