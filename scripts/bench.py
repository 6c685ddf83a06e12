#!/usr/bin/env python3
"""`make bench`: Tern's boot figures, measured in this run.

- wall time from QEMU start to Tern's banner and to "Boot complete", via
  QEMU -kernel (multiboot1), Tern alone: median, min and max of several
  runs (the banner is Tern's first line, so "to banner" is QEMU + firmware
  + loader, and "banner -> boot complete" is Tern itself);
- make run's path (Tern by QEMU -kernel with Dom0, the example guests and
  the data disk) against make run-dom0-bare, QEMU start to Dom0's shell
  prompt, by the Makefile's own commands;
- Dom0: QEMU start to Dom0 userspace ready by phase (firmware+loader, Tern,
  kernel, init), via -kernel and via the GRUB ISO (make iso's path),
  against the same kernel and initramfs under plain QEMU;
- the hypervisor image size (file, loaded, text/rodata/data/bss);
- the boot phase table under -icount shift=0,sleep=off (deterministic);
- guests: null-hypercall round trips against an empty VMRUN/#VMEXIT loop
  (bench=exits) in the same run, and create + boot + shutdown + destroy of
  a minimal guest, in wall time and under -icount;
- channels between two guests (ping and pong): event-channel round-trip
  latency and 4 KiB payload throughput by grant mapping and by grant copy,
  in wall time and under -icount;
- block I/O: Dom0 on its virtio disk against a Linux guest on xvda (a file
  on that disk, served by Dom0's block backend), sequential 1 MiB and
  random 4 KiB (queue depth 32) reads and writes with tern-diskbench: MB/s,
  IOPS, the guest/Dom0 ratio, and upcalls and hypercalls per request;
- network: Dom0 against a Linux guest on br0 (netfront, Dom0's network
  backend, the bridge, Dom0's virtio-net, QEMU's user network), both to a
  tern-netbench server on the host's 127.0.0.1 (10.0.2.2 to them): TCP
  throughput each way (iperf3's method), ping round trips, the guest/Dom0
  ratio, and upcalls and virtio interrupts per packet; without a network
  frontend in the guest it says so and prints Dom0's figures.
Wall times are noisy on a shared 2-core machine: compare ratios within one
run, not figures across runs.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Boot"))
from common import make_run_command  # noqa: E402
from qemu import boot, qemu_command  # noqa: E402

BOOT_COMPLETE = r"\(tern\) Boot complete"


def stats(values):
    return f"median {statistics.median(values):6.3f} s  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def section_sizes(elf):
    out = subprocess.run(["readelf", "-SW", elf], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for m in re.finditer(r"\]\s+(\.\w+)\s+\w+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", out):
        sizes[m.group(1)] = int(m.group(2), 16)
    return sizes


GUEST_MODULES = ",".join(
    ["build/guests/bench.elf name=loop -- mode=loop", "build/guests/bench.elf name=hc"]
    + [f"build/guests/minimal.elf name=m{i}" for i in range(1, 11)])


def guests(args):
    """Null hypercalls vs the empty VMRUN/#VMEXIT loop, and the life cycle
    of a minimal guest, in wall time and in -icount virtual time (1 ns per
    instruction: there, 'ns' counts instructions of guest + Tern)."""
    for label, icount in (("wall time (TCG)", False), ("-icount: 1 ns = 1 instruction", True)):
        run = boot(qemu_command(elf=args.elf, cmdline="bench=exits", icount=icount, extra=["-initrd", GUEST_MODULES]),
                   r"No guests left", timeout=300)
        empty = re.search(r"empty VMRUN/#VMEXIT loop: \d+ exits .* (\d+) per second, (\d+) ns each", run.log)
        calls = re.search(r"null hypercalls in \d+ us: (\d+) per second, (\d+) ns each", run.log)
        print(f"== Guests, {label}")
        if empty and calls:
            e_ns, h_ns = int(empty.group(2)), int(calls.group(2))
            print(f"  empty VMRUN/#VMEXIT round trip: {int(empty.group(1)):>9} per second, {e_ns:>6} ns each")
            print(f"  null hypercall round trip:      {int(calls.group(1)):>9} per second, {h_ns:>6} ns each")
            print(f"  ratio hypercall / empty exit: {h_ns / max(e_ns, 1):.2f}x "
                  f"(Tern's own share of a hypercall: {100 * (h_ns - e_ns) / max(h_ns, 1):.0f}%)")
        timing = [tuple(map(int, m.groups())) for m in re.finditer(
            r"d\d+ m\d+: timing: create (\d+) us, run to stop (\d+) us, destroy (\d+) us", run.log)]
        if timing:
            create, run_us, destroy = (statistics.median(t[i] for t in timing) for i in range(3))
            print(f"  minimal guest (4 MiB), median of {len(timing)}: create {create:.0f} us, "
                  f"first instruction to shutdown {run_us:.0f} us, destroy {destroy:.0f} us, "
                  f"total {create + run_us + destroy:.0f} us")


def ring(args):
    """The I/O ring library alone (its own boot, so it does not share the
    CPU with the hypercall guests): one guest is frontend and backend on
    one page, 100,000 round trips, no exits. Between domains: channels()."""
    for label, icount in (("wall time (TCG)", False), ("-icount", True)):
        run = boot(qemu_command(elf=args.elf, icount=icount, extra=["-initrd", "build/guests/bench.elf name=ring -- mode=ring"]),
                   r"No guests left", timeout=120)
        m = re.search(r"ring: (\d+) requests and responses, (\d+) slots, .* (\d+) round trips per second", run.log)
        if m:
            print(f"== I/O ring in one guest, {label}: {int(m.group(3))} request/response round trips per second "
                  f"({m.group(1)} of them, {m.group(2)} slots of 16 bytes)")


# ping's bench modes (Guests/ping) and their message counts.
CHANNEL_COUNTS = {"evtchn": 20000, "map": 20000, "copy": 20000}


def channel_run(args, mode, icount):
    """One boot of ping (frontend, mode=MODE) and pong (its backend)."""
    modules = (f"build/guests/ping.elf name=ping channel=pong -- mode={mode} count={CHANNEL_COUNTS[mode]},"
               "build/guests/pong.elf name=pong")
    return boot(qemu_command(elf=args.elf, icount=icount, extra=["-initrd", modules]), r"No guests left", timeout=300)


def channels(args):
    """Two guests over a channel Tern wires at boot (each mode its own
    boot, so nothing else shares the CPU): event-channel round-trip latency
    (a send answered by a send, both guests blocking in between), and 4 KiB
    payloads over the ring, read by the backend through a grant mapping made
    once (map) or copied with TERN_HC_GRANT_COPY (copy), in wall time and
    under -icount (there 'ns' counts instructions of the guests and Tern)."""
    for label, icount in (("wall time (TCG)", False), ("-icount: 1 ns = 1 instruction", True)):
        print(f"== Channel between two guests (ping and pong), {label}")
        run = channel_run(args, "evtchn", icount)
        m = re.search(r"ping: evtchn (\d+) round trips, (\d+) ns each", run.log)
        if m:
            ns = int(m.group(2))
            print(f"  {'event-channel round trip:':26}{ns:>8} ns ({1_000_000_000 // max(ns, 1)} per second, {m.group(1)} of them)")
        rates = {}
        for mode in ("map", "copy"):
            run = channel_run(args, mode, icount)
            m = re.search(rf"ping: 4KiB by {mode}: (\d+) messages, (\d+) messages per second, (\d+) MB/s", run.log)
            if m:
                rates[mode] = int(m.group(2))
                name = f"4 KiB payloads by {mode}:"
                print(f"  {name:26}{rates[mode]:>8} messages per second, {int(m.group(3)):>6} MB/s ({m.group(1)} of them)")
        if len(rates) == 2:
            print(f"  ratio map / copy: {rates['map'] / max(rates['copy'], 1):.2f}x "
                  f"(copy: one TERN_HC_GRANT_COPY per batch of up to 16 waiting messages)")


def dom0_channel(args):
    """The same event-channel round trips with Dom0 as the backend:
    tern-echo, a Dom0 process, answers ping through /dev/tern (an upcall
    IRQ into Linux, a read() woken, a write() that notifies), against the
    guest-to-guest figure of channels()."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Dom0", "cmdline")) as f:
        cmdline = f.read().strip().replace(",", ",,")
    modules = f"build/dom0/vmlinux role=dom0 -- {cmdline},build/dom0/initramfs.cpio.lz4 role=dom0-initrd"
    command = qemu_command(elf=args.elf, memory="1G", cmdline="dom0_mem=384M", defaults=True, extra=["-initrd", modules])
    script = ("sed 's/count=1000/count=5000/' /etc/tern/ping.cfg > /tmp/ping.cfg; "
              "/usr/lib/tern/tools/tern-echo $(tern create /tmp/ping.cfg) > /dev/null; echo bench-done\n")
    run = boot(command, r"^\(d0\) bench-done$", timeout=600, send=[(r"^\(d0\) / # ", script)])
    print("== Channel with Dom0 as the backend (tern-echo in Dom0, ping), wall time (TCG)")
    m = re.search(r"ping: evtchn (\d+) round trips, (\d+) ns each", run.log)
    if m:
        ns = int(m.group(2))
        print(f"  {'event-channel round trip:':26}{ns:>8} ns ({1_000_000_000 // max(ns, 1)} per second, {m.group(1)} of them)")
    else:
        print("  no figure (ping did not finish)")


def time_to_shell(command, prompt):
    """QEMU start to Dom0's shell prompt (`prompt`, a regex; a prompt ends
    no line, so it is timed as boot's send trigger sees it), and init's
    length ("tern-dom0: init started" to "tern-dom0: ready"), one run."""
    seen = {}
    start = time.monotonic()

    def at_prompt(_log):
        seen["prompt"] = time.monotonic() - start
        return "echo shell-up\n"

    run = boot(command, r"^(\(d0\) )?shell-up$", timeout=240, send=[(prompt, at_prompt)])
    return seen["prompt"], run.time_of(r"tern-dom0: ready") - run.time_of(r"tern-dom0: init started"), run


def make_run(args, runs=5):
    """`make run`'s path against `make run-dom0-bare` (the same Dom0 kernel,
    initramfs and devices under plain QEMU), QEMU start to Dom0's shell
    prompt, median of `runs`, taken alternately in the same run; the
    commands are the Makefile's (`make -s command-run`), with the data disk
    and a scratch disk snapshot=on. Goal (issue 16): within 1.3x of bare."""
    paths = {"make run (Tern by -kernel)": ("run", r"^\(d0\) / # "),
             "make run-dom0-bare": ("run-dom0-bare", r"^/ # ")}
    commands = {label: make_run_command(args, target) for label, (target, _) in paths.items()}
    figures = {label: [] for label in paths}
    for _ in range(runs):
        for label, (_, prompt) in paths.items():
            shell, init, run = time_to_shell(commands[label][0], prompt)
            if label.startswith("make run ") and not re.search(r"tern-dom0: /var/lib/tern on vd", run.log):
                raise SystemExit("bench: make run's Dom0 did not mount its data disk:\n" + run.log[-2000:])
            figures[label].append((shell, init))
    print(f"== make run's path vs bare QEMU, QEMU start -> Dom0's shell prompt (median of {runs}, wall time)")
    print(f"  {'path':28} {'to shell':>8} {'(min-max)':>13} {'init':>6}")
    for label, values in figures.items():
        shells = [v[0] for v in values]
        print(f"  {label:28} {statistics.median(shells):7.2f}s ({min(shells):.2f}-{max(shells):.2f}) "
              f"{statistics.median(v[1] for v in values):6.2f}")
    ratio = statistics.median(v[0] for v in figures["make run (Tern by -kernel)"]) / \
        statistics.median(v[0] for v in figures["make run-dom0-bare"])
    print(f"  make run / bare: {ratio:.2f}x (goal: within 1.3x)")


def dom0_boot(args, runs=5):
    """QEMU start to Dom0 userspace ready, split into phases, median of
    `runs`: Tern's path via QEMU -kernel (multiboot1) and via the GRUB ISO
    (`make iso`'s, real hardware's), against the same kernel and initramfs under plain QEMU
    (no hypervisor), in the same run. Goal (issue 4): within 1.3x of bare.
    Phase ends: Tern's banner (firmware + loader before it), Tern's "Boot
    complete" (Dom0 and the guests built), init's first line (the kernel),
    "tern-dom0: ready" (init: modules, tern.ko, network started)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Dom0", "cmdline")) as f:
        cmdline = f.read().strip()
    modules = f"build/dom0/vmlinux role=dom0 -- {cmdline.replace(',', ',,')},build/dom0/initramfs.cpio.lz4 role=dom0-initrd"
    paths = {
        "bare QEMU -kernel bzImage": qemu_command(memory="1G", defaults=True, extra=[
            "-kernel", "build/dom0/vmlinuz", "-initrd", "build/dom0/initramfs.cpio.lz4", "-append", cmdline]),
        "Tern via -kernel (multiboot1)": qemu_command(elf=args.elf, memory="1G", cmdline="dom0_mem=384M",
                                                      defaults=True, extra=["-initrd", modules]),
        "Tern via GRUB ISO (make iso)": qemu_command(iso=args.iso, memory="1G", defaults=True),
    }
    rows = {}
    for label, command in paths.items():
        phases = []
        for _ in range(runs):
            run = boot(command, r"tern-dom0: ready", timeout=240)
            init = run.time_of(r"tern-dom0: init started")
            if label.startswith("bare"):
                phases.append((None, None, init, run.seconds))
            else:
                phases.append((run.start_to_first_line, run.time_of(BOOT_COMPLETE), init, run.seconds))
        rows[label] = [statistics.median(p[i] for p in phases) if phases[0][i] is not None else None for i in range(4)]
        rows[label].append((min(p[3] for p in phases), max(p[3] for p in phases)))
    print(f"== Dom0 boot, QEMU start -> userspace ready (median of {runs}; phase lengths in s)")
    print(f"  {'path':30} {'firmware+loader':>15} {'Tern':>6} {'kernel':>7} {'init':>6} {'total':>7}  (min-max)  vs bare")
    bare_total = rows["bare QEMU -kernel bzImage"][3]
    for label, (banner, complete, init, ready, (lo, hi)) in rows.items():
        if banner is None:
            cells = f"{'(with kernel)':>15} {'-':>6} {init:7.2f}"
        else:
            cells = f"{banner:15.2f} {complete - banner:6.2f} {init - complete:7.2f}"
        print(f"  {label:30} {cells} {ready - init:6.2f} {ready:7.2f}  ({lo:.2f}-{hi:.2f})  {ready / bare_total:.2f}x")
    print("  goal: Tern via -kernel within 1.3x of bare; Xen 4.17 needs about 20 s here (platform-facts.md)")


TOOLSTACK_COUNTS = (1, 10, 50, 200)
XL_CREATE_SECONDS = 16.0   # Xen 4.17's `xl create` in the same QEMU (platform-facts.md)


TOOLSTACK_PROBES = 5


# The running guests: sleepers blocked on a one-hour timer (idle, as
# LightVM's measure has them), or waking once a second (200 wake-ups a
# second at the 200th: load on the machine, not work of the create).
IDLE_GUEST_MS = 3_600_000
WAKING_GUEST_MS = 1000


def toolstack_run(args, pool, total=200, icount=False, guest_ms=IDLE_GUEST_MS):
    """One Dom0 boot; `total` 2 MiB sleepers (each sleeping `guest_ms` at a
    time) created one after the other (all stay running), with or without
    a pool of prepared shells. Before the 1st, 10th, 50th and 200th stays,
    TOOLSTACK_PROBES probes are each created (`tern create --time`) and
    destroyed: each is the Nth running guest. Returns the log."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Dom0", "cmdline")) as f:
        cmdline = f.read().strip().replace(",", ",,")
    modules = f"build/dom0/vmlinux role=dom0 -- {cmdline},build/dom0/initramfs.cpio.lz4 role=dom0-initrd"
    command = qemu_command(elf=args.elf, memory="1536M", cmdline="dom0_mem=384M", defaults=True, extra=["-initrd", modules],
                           icount=icount)
    checkpoints = "|".join(str(n) for n in TOOLSTACK_COUNTS)
    probes = " ".join(str(r) for r in range(1, TOOLSTACK_PROBES + 1))
    script = (f"printf 'name = \"b\"\\nkernel = \"/usr/lib/tern/guests/sleeper.elf\"\\nmemory = 2\\ncmdline = \"rounds=0 ms={guest_ms}\"\\n' > /tmp/base.cfg; "
              + (f"tern prepare {total + len(TOOLSTACK_COUNTS) * TOOLSTACK_PROBES} --memory 2; " if pool else "")
              + f"for i in $(seq {total}); do "
              f"case $i in {checkpoints}) for r in {probes}; do "
              "sed \"s/^name = .*/name = \\\"p$i-$r\\\"/\" /tmp/base.cfg > /tmp/p.cfg; "
              "tern create --time /tmp/p.cfg | sed \"s/^/k$i: /\"; tern destroy p$i-$r; done;; esac; "
              "sed \"s/^name = .*/name = \\\"b$i\\\"/\" /tmp/base.cfg > /tmp/b.cfg; tern create /tmp/b.cfg > /dev/null; done; "
              "echo bench-done\n")
    return boot(command, r"^\(d0\) bench-done$", timeout=2400, send=[(r"^\(d0\) / # ", script)])


def probe_times(log):
    """The probes' `tern create --time` lines of a toolstack_run log: per
    checkpoint N, a list of (create us, Tern build us, source, first line us)."""
    times = {}
    for m in re.finditer(r"^\(d0\) k(\d+): created d\d+ p\S+ in (\d+) us \(read and checked in \d+ us; Tern: build (\d+) us, (from pool|fresh)\); "
                         r"first console line after (\d+) us", log, re.MULTILINE):
        times.setdefault(int(m.group(1)), []).append((int(m.group(2)), int(m.group(3)), m.group(4), int(m.group(5))))
    return times


def checkpoint_windows(times):
    """(N, probes) per checkpoint that has figures; says so for one without."""
    for n in TOOLSTACK_COUNTS:
        window = times.get(n, [])
        if window:
            yield n, window
        else:
            print(f"  guest {n:>3}: no figure")


def print_toolstack_figures(run, label):
    """One toolstack_run's probes: median to first line per checkpoint,
    ratio to the 1st and to `xl create`; Tern's destroy time."""
    times = probe_times(run.log)
    print(f"== tern create -> first console line, 2 MiB guests, {label} (wall time, TCG; median of {TOOLSTACK_PROBES})")
    first = None
    for n, window in checkpoint_windows(times):
        console = statistics.median(t[3] for t in window) / 1000
        create = statistics.median(t[0] for t in window) / 1000
        build = statistics.median(t[1] for t in window) / 1000
        sources = sorted(set(t[2] for t in window))
        first = first or console
        print(f"  guest {n:>3}: {console:8.1f} ms to first console line (create {create:6.1f} ms, Tern build {build:6.2f} ms, "
              f"{'/'.join(sources)}; range {min(t[3] for t in window) / 1000:.1f}-{max(t[3] for t in window) / 1000:.1f}), "
              f"{console / first:.2f}x the 1st, {XL_CREATE_SECONDS * 1000 / console:,.0f}x faster than xl create")
    destroys = [int(x) for x in re.findall(r"^\(tern\) d\d+ p\S+: timing: .* destroy (\d+) us$", run.log, re.MULTILINE)]
    if destroys:
        print(f"  destroy (Tern's part): median {statistics.median(destroys):.0f} us of {len(destroys)}")


def toolstack(args):
    """`tern create` from Dom0's shell to the guest's first console line
    (the CLI polls Tern's log for it), for the 1st, 10th, 50th and 200th
    running guest, the running ones idle (median of TOOLSTACK_PROBES
    creates, each the Nth running guest), without and with the pool of
    prepared shells (`tern prepare`), against Xen's `xl create` (about 16 s
    in the same QEMU); destroy time from Tern's log."""
    for pool in (False, True):
        label = "idle guests running, " + ("with a pool of prepared shells" if pool else "without a pool")
        print_toolstack_figures(toolstack_run(args, pool), label)


def toolstack_waking(args):
    """The same with the pool, the running guests each waking once a
    second: what the machine's load (not the create's work) adds."""
    print_toolstack_figures(toolstack_run(args, True, guest_ms=WAKING_GUEST_MS),
                            f"guests running that wake every {WAKING_GUEST_MS} ms, with a pool")


def toolstack_icount(args):
    """The idle case with the pool, under -icount shift=0 (1 ns of Dom0's
    clock = one instruction): deterministic, so the growth from the 1st to
    the 200th guest is the instructions' and not the shared machine's noise."""
    run = toolstack_run(args, True, icount=True)
    times = probe_times(run.log)
    print(f"== tern create -> first console line, idle guests running, pool, -icount (thousands of instructions; median of {TOOLSTACK_PROBES})")
    first = None
    for n, window in checkpoint_windows(times):
        line = statistics.median(t[3] for t in window)
        first = first or line
        print(f"  guest {n:>3}: {line:8.0f} to first console line (create {statistics.median(t[0] for t in window):.0f}, "
              f"Tern build {statistics.median(t[1] for t in window):.0f}), {line / first:.2f}x the 1st")


def image_and_boot(args):
    """The image's size, and QEMU start to Tern's banner and boot complete."""
    print("== Image")
    sizes = section_sizes(args.elf)
    loaded = sum(v for k, v in sizes.items() if k in (".text", ".rodata", ".data", ".bss"))
    print(f"tern.elf file: {os.path.getsize(args.elf)} bytes; in memory: {loaded} bytes "
          + ", ".join(f"{k} {sizes[k]}" for k in (".text", ".rodata", ".data", ".bss") if k in sizes))
    print(f"tern.iso: {os.path.getsize(args.iso)} bytes")

    # The ISO's first entry boots Dom0 (make run): it is timed with the
    # Dom0 figures below; here Tern alone, loaded by QEMU.
    banner, complete = [], []
    for _ in range(args.runs):
        run = boot(qemu_command(elf=args.elf), BOOT_COMPLETE, timeout=90)
        banner.append(run.start_to_first_line)
        complete.append(run.seconds)
    print("== QEMU start -> Tern alone, via -kernel (multiboot1)")
    print(f"  to banner:        {stats(banner)}")
    print(f"  to boot complete: {stats(complete)}")


def icount_phases(args):
    """Tern's boot phases in virtual time."""
    print("== Boot phases under -icount shift=0,sleep=off (virtual time, deterministic)")
    run = boot(qemu_command(elf=args.elf, icount=True), BOOT_COMPLETE, timeout=120)
    for line in run.log.splitlines():
        if "phase" in line or "Calibrated" in line:
            print("  " + line)


LINUX_CFG = "/etc/tern/linux.cfg"
LINUX_READY = "guest: ready"          # Guests/linux/init's last line
XL_CREATE_TO_USERSPACE_SECONDS = 30.0  # Xen 4.17's xl create to a Linux guest's userspace here (issue 16)


def linux_cfg_cmdline():
    """The kernel command line of Dom0's /etc/tern/linux.cfg."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Dom0", "initramfs", "etc-tern", "linux.cfg")) as f:
        return re.search(r'^cmdline = "(.*)"$', f.read(), re.M).group(1)


def linux_guest(args, runs=5, guests=8, quiet_runs=3):
    """A Linux guest (Debian's kernel, the test initramfs; linux.cfg):
    `tern create` in Dom0 to the guest's init's ready line (`tern create
    --time --ready`, from the command's start, the kernel file's read
    included; median of `runs`, 128 MiB, each destroyed before the next)
    beside the same kernel (vmlinux, QEMU's PVH boot) and initramfs booted
    bare by QEMU with 128 MiB, QEMU start to the same line (median of
    `runs`), in the same run; the same pair again with `quiet` added on
    both sides (`quiet_runs` each: the kernel's console lines are most of
    what the guest pays for, each byte two port exits); then `guests`
    guests of 64 MiB created one after the other, each once the one before
    is ready: the 1st against the last (the others running beside it).
    Goals (issue 16): create to ready within 1.2x of bare, the last within
    10% of the 1st; Xen 4.17's xl create needs about 30 s to a guest's
    userspace here."""
    def bare_runs(count, extra=""):
        times = []
        for _ in range(count):
            run = boot(qemu_command(memory="128M", extra=["-kernel", "build/dom0/vmlinux.trimmed", "-initrd",
                                                          "build/guests/linux-initramfs.cpio.gz", "-append",
                                                          linux_cfg_cmdline() + extra]),
                       rf"linux-{LINUX_READY}$", timeout=240)
            times.append(run.time_of(rf"linux-{LINUX_READY}$"))
        return times
    bare = bare_runs(runs)
    bare_quiet = bare_runs(quiet_runs, " quiet")
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Dom0", "cmdline")) as f:
        dom0 = f.read().strip().replace(",", ",,")
    modules = f"build/dom0/vmlinux role=dom0 -- {dom0},build/dom0/initramfs.cpio.lz4 role=dom0-initrd"
    command = qemu_command(elf=args.elf, memory="1G", cmdline="dom0_mem=384M", defaults=True,
                           extra=["-initrd", modules, "-drive", "file=build/dom0/data.img,format=raw,if=virtio,snapshot=on"])
    timed = f"--time --ready '{LINUX_READY}'"
    script = (f"for r in $(seq {runs}); do tern create {timed} {LINUX_CFG} 'name=\"b'$r'\"' | sed 's/^/one: /'; "
              "tern destroy b$r; done; "
              f"sed 's/^cmdline = \"\\(.*\\)\"$/cmdline = \"\\1 quiet\"/' {LINUX_CFG} > /tmp/q.cfg; "
              f"for r in $(seq {quiet_runs}); do tern create {timed} /tmp/q.cfg 'name=\"q'$r'\"' | sed 's/^/quiet: /'; "
              "tern destroy q$r; done; "
              f"for i in $(seq {guests}); do tern create {timed} {LINUX_CFG} 'name=\"l'$i'\"' memory=64 | sed \"s/^/n$i: /\"; done; "
              "echo bench-done\n")
    run = boot(command, r"^\(d0\) bench-done$", timeout=1800, send=[(r"^\(d0\) / # ", script)])
    with open("build/bench-linux-guest.log", "w") as f:   # what a stalled guest did: tern console shows only its own lines
        f.write(run.log)
    ready = rf"'{re.escape(LINUX_READY)}' after (\d+) us"
    one = [int(m) / 1e6 for m in re.findall(rf"^\(d0\) one: created .*; {ready}$", run.log, re.M)]
    quiet = [int(m) / 1e6 for m in re.findall(rf"^\(d0\) quiet: created .*; {ready}$", run.log, re.M)]
    nth = {int(n): int(t) / 1e6 for n, t in re.findall(rf"^\(d0\) n(\d+): created .*; {ready}$", run.log, re.M)}
    if not one:
        raise SystemExit("bench: no Linux guest reached its ready line:\n" + run.log[-3000:])
    create, base = statistics.median(one), statistics.median(bare)
    print(f"== Linux guest: tern create -> its init's ready line, beside the same kernel and initramfs bare (median of {runs}, wall time)")
    print(f"  tern create (128 MiB)     {create:6.2f}s ({min(one):.2f}-{max(one):.2f})  from the command's start, its file reads included")
    print(f"  bare QEMU (128M, PVH)     {base:6.2f}s ({min(bare):.2f}-{max(bare):.2f})  QEMU start -> the same line")
    print(f"  tern create / bare: {create / base:.2f}x (goal: at most 1.2x); "
          f"Xen 4.17 xl create ~{XL_CREATE_TO_USERSPACE_SECONDS:.0f} s: {XL_CREATE_TO_USERSPACE_SECONDS / create:.1f}x faster")
    if len(one) != runs:
        print(f"  ({runs - len(one)} of {runs} single guests did not reach their ready line within 300 s: stalled)")
    if quiet:
        q, qb = statistics.median(quiet), statistics.median(bare_quiet)
        print(f"  with quiet on both sides (median of {quiet_runs}): tern create {q:.2f}s, bare {qb:.2f}s: {q / qb:.2f}x")
    print(f"  {guests} guests of 64 MiB, each created once the one before was ready (s to ready; - stalled): " +
          ", ".join(f"{nth[i]:.2f}" if i in nth else "-" for i in range(1, guests + 1)))
    if 1 in nth and guests in nth:
        print(f"  guest {guests} / guest 1: {nth[guests] / nth[1]:.2f}x (goal: within 10%)")
    else:
        print(f"  guest {guests} / guest 1: no figure (a stalled boot; docs/porting.md)")


# The block section (docs/blockback.md, "Measuring"): tern-diskbench's four
# tests, each run in Dom0 on a file of the scratch disk and then in the
# guest on xvda, another file of the same size on the same disk.
BLOCK_DISK = "build/bench-block.img"
BLOCK_DISK_SIZE = "1200M"          # mke2fs's units; sparse on the host
BLOCK_LABEL = "tern-bench"         # not tern-data: Dom0's init mounts that one
BLOCK_FILE_MIB = 512               # dom0.img and guest.img, each written whole
BLOCK_SPAN_MIB = 256               # the part of each file the tests use
BLOCK_SECONDS = 10                 # per test and side
BLOCK_TESTS = ("seqwrite", "seqread", "randwrite", "randread")   # writes first: the reads read written blocks
BLOCK_GUEST_MIB = 128
BLOCK_RESULT = r"(\w+): ([\d.]+) MB/s, (\d+) IOPS \((\d+) requests in ([\d.]+) s\)"

# Dom0's part, run from the scratch disk (bench.py puts it there with
# mke2fs -d): sh run.sh SECONDS SPAN_MIB FILE_MIB GUEST_MIB. Every line
# it prints for bench.py starts with "block: ". w, C: the boot tests'
# helpers (tests_linux_guest.WAIT_DEF, tests_block.RUN_DEF), filled in.
BLOCK_SCRIPT = r"""
S=$1 SPAN=$2 MIB=$3 MEM=$4 M=/mnt/bench B=/usr/lib/tern/tools/tern-diskbench
say(){ echo "block: $*"; }
# Upcalls Tern raised in Dom0 so far (tern.ko's IRQ); page cache emptied.
ev(){ awk '/tern-events/{print $2}' /proc/interrupts; }
fresh(){ sync; echo 3 > /proc/sys/vm/drop_caches; }
@WAIT_DEF@
@RUN_DEF@
for f in dom0 guest; do dd if=/dev/zero of=$M/$f.img bs=1M count=$MIB 2>/dev/null; done; sync
say "files: dom0.img $(du -k $M/dom0.img | cut -f1) KiB, guest.img $(du -k $M/guest.img | cut -f1) KiB allocated"
tern create /etc/tern/linux.cfg 'name="bench"' memory=$MEM \
  "disk=[\"$M/guest.img,xvda,rw\",\"@TOOLS_IMG@,xvdb,ro\"]" > /dev/null
w bench
# T TEST SECONDS SPAN (in the guest): the test; then "counters", before
# and after it: the upcalls Tern raised in the guest (its tern-events
# IRQ) and the requests xvda completed (/sys/block/xvda/stat: reads,
# writes, discards, flushes). Short lines: Tern cuts a console line at 160.
C bench 'mkdir /tools; mount -o ro /dev/xvdb /tools; N(){ echo $(awk "/tern-events/{print \$2}" /proc/interrupts) $(awk "{print \$1+\$5+\$12+\$16}" /sys/block/xvda/stat); }; T(){ a=$(N); r=$(/tools/bin/tern-diskbench /dev/xvda $1 $2 $3 2>&1); echo "blk $r"; echo "blk counters $1: $a $(N)"; }; echo blk ready' blk | sed 's/^blk /block: guest /'
for t in @TESTS@; do
  fresh; say "dom0 $($B $M/dom0.img $t $S $SPAN 2>&1)"
  fresh; e=$(ev); C bench "T $t $S $SPAN" blk | sed 's/^blk /block: guest /'; say "dom0 events $t: $e / $(ev)"
done
# Tern logs the guest's exits (hypercalls among them) at its destroy; its
# backends log what they served and what it cost (their figures line).
tern destroy bench; sleep 1; dmesg | grep -E "tern-blkback d[0-9]+/xvda: (guest gone|figures)" | sed "s/^/block: /"
"""


def dom0_with_scratch_disk(args, scratch_drive, extra=()):
    """QEMU with Tern and Dom0 (kernel and initramfs as boot modules, 384
    MiB), the data disk (snapshot=on) and a section's scratch disk
    (`scratch_drive`, a -drive value), and `extra` arguments: the block and
    network sections' boot."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Dom0", "cmdline")) as f:
        dom0 = f.read().strip().replace(",", ",,")
    modules = f"build/dom0/vmlinux role=dom0 -- {dom0},build/dom0/initramfs.cpio.lz4 role=dom0-initrd"
    return qemu_command(elf=args.elf, memory="1G", cmdline="dom0_mem=384M", defaults=True,
                        extra=["-initrd", modules,
                               "-drive", "file=build/dom0/data.img,format=raw,if=virtio,snapshot=on",
                               "-drive", scratch_drive, *extra])


def block_cache_mode(path):
    """cache=none (QEMU opens the image with O_DIRECT) where the host's
    file system takes O_DIRECT, else writeback (tmpfs has no O_DIRECT)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    except OSError:
        return "writeback"
    os.close(fd)
    return "none"


def script_disk(script, path=BLOCK_DISK, label=BLOCK_LABEL, size=BLOCK_DISK_SIZE):
    """`path` (build/bench-block.img by default), made afresh: a sparse
    ext4 image labelled `label` (tern-bench) holding run.sh, by the host's
    mke2fs -d as Dom0's data disk (Dom0/data-disk.sh; inode tables zeroed
    here, so that Dom0's kernel does not zero them in the background during
    the tests)."""
    stage = path + ".root"
    subprocess.run(["rm", "-rf", stage, path], check=True)
    os.makedirs(stage)
    with open(os.path.join(stage, "run.sh"), "w") as f:
        f.write(script)
    open(path, "w").close()   # mke2fs gives it the size (sparse)
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/sbin:/usr/sbin")
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", label,
                    "-E", "root_owner=0:0,lazy_itable_init=0,lazy_journal_init=1",
                    "-d", stage, path, size], check=True, env=env)
    subprocess.run(["rm", "-rf", stage], check=True)


def block(args):
    """Block I/O in the same run, Dom0 on its virtio disk against a Linux
    guest (linux.cfg, 128 MiB, tern_blkfront.ko) on xvda, a file on that
    disk served by Dom0's block backend. QEMU gets a scratch disk, made
    here (BLOCK_DISK: ext4, sparse), as Dom0's second virtio disk (vdb,
    after the data disk), with cache=none: QEMU reads and writes it with
    O_DIRECT, so no test is served from the host's page cache, which this
    run does not control (the other jobs on the machine, what is still
    dirty from the files' writing); both sides go through that one drive,
    so the comparison is fair in either mode, this one just leaves the
    host's cache out of both. In Dom0: two files of BLOCK_FILE_MIB written
    whole from /dev/zero (allocated, not sparse), dom0.img and guest.img;
    one guest with guest.img as xvda and the tools disk as xvdb. Then per
    test (seqwrite first, so that the reads read written blocks; seqread,
    randwrite, randread) tern-diskbench (O_DIRECT, native AIO: fio's
    libaio method; 1 MiB requests at depth 1, 4 KiB at random offsets at
    depth 32) for BLOCK_SECONDS over the first BLOCK_SPAN_MIB, in Dom0 on
    dom0.img, then in the guest on /dev/xvda, Dom0's page cache emptied
    before each (the backend does direct I/O; a file system without it
    would go through the cache). Interleaved
    per test, so both sides of a test see the same noise. Goal (issue 17):
    the guest at least 80% of Dom0's throughput and IOPS.
    Per request: the ring requests the guest's xvda completed in each test
    (/sys/block/xvda/stat: a 1 MiB read is several, each at most 11
    pages), the upcalls Tern raised in the guest (its tern-events IRQ:
    the backend's notifications, coalesced) and in Dom0 (the guest's
    notifications and anything else of Dom0's in that window); the
    guest's hypercalls only over its life (Tern's exit counts, logged at
    its destroy: fewer than 350 of them are its boot's and a minute's
    idling, as measured with a guest left idle), against every request
    its backends served; the backend's own figures (batches, merged disk
    operations, notifications each way). Tern shows exit counts only at a
    destroy (so none per test) and never for Dom0."""
    from tests_block import RUN_DEF, TOOLS_IMG
    from tests_linux_guest import WAIT_DEF
    script = (BLOCK_SCRIPT.replace("@WAIT_DEF@", WAIT_DEF).replace("@RUN_DEF@", RUN_DEF)
              .replace("@TOOLS_IMG@", TOOLS_IMG).replace("@TESTS@", " ".join(BLOCK_TESTS)))
    script_disk(script)
    cache = block_cache_mode(BLOCK_DISK)
    command = dom0_with_scratch_disk(args, f"file={BLOCK_DISK},format=raw,if=virtio,cache={cache}")
    typed = (f"mkdir -p /mnt/bench; d=$(findfs LABEL={BLOCK_LABEL}); echo \"block: scratch disk $d\"; "
             f"mount -o noatime $d /mnt/bench && sh /mnt/bench/run.sh {BLOCK_SECONDS} {BLOCK_SPAN_MIB} "
             f"{BLOCK_FILE_MIB} {BLOCK_GUEST_MIB} || echo \"block: failed ($?)\"; echo block: the e''nd\n")
    start = time.monotonic()
    try:
        run = boot(command, r"^\(d0\) block: the end$", timeout=1200, send=[(r"^\(d0\) / # ", typed)])
    finally:
        os.remove(BLOCK_DISK)
    took = time.monotonic() - start
    with open("build/bench-block.log", "w") as f:
        f.write(run.log)
    log = run.log
    dom0 = {m.group(1): m for m in re.finditer(rf"^\(d0\) block: dom0 {BLOCK_RESULT}$", log, re.M)}
    guest = {m.group(1): m for m in re.finditer(rf"^\(d0\) block: guest {BLOCK_RESULT}$", log, re.M)}
    if not dom0 or not guest:
        raise SystemExit("bench: the block section has no figures (build/bench-block.log):\n" + log[-3000:])
    # (guest upcalls, xvda requests) before and after each of the guest's tests; Dom0's upcalls around it.
    counters = {m.group(1): [int(n) for n in m.group(2, 3, 4, 5)] for m in re.finditer(
        r"^\(d0\) block: guest counters (\w+): (\d+) (\d+) (\d+) (\d+)$", log, re.M)}
    dom0_upcalls = {m.group(1): int(m.group(3)) - int(m.group(2)) for m in re.finditer(
        r"^\(d0\) block: dom0 events (\w+): (\d+) / (\d+)$", log, re.M)}
    device = re.search(r"^\(d0\) block: scratch disk (\S+)$", log, re.M)
    print(f"== Block I/O: Dom0 on its virtio disk vs a Linux guest on xvda, a file on that disk "
          f"(same run, {BLOCK_SECONDS} s a test, wall time, TCG)")
    print(f"  method: tern-diskbench, fio's libaio method (O_DIRECT, Linux native AIO): seq 1 MiB requests at depth 1, "
          f"rand 4 KiB at random offsets at depth 32, over the first {BLOCK_SPAN_MIB} MiB; Dom0 on dom0.img, the guest "
          f"on xvda = guest.img ({BLOCK_FILE_MIB} MiB each, allocated, on {device.group(1) if device else '?'}: ext4, "
          f"QEMU cache={cache}); each test in Dom0, then in the guest")
    print(f"  {'test':10} {'Dom0 MB/s':>10} {'IOPS':>7}   {'guest MB/s':>10} {'IOPS':>7}   guest/Dom0")
    ratios = []
    for test in BLOCK_TESTS:
        d, g = dom0.get(test), guest.get(test)
        ratio = int(g.group(3)) / max(int(d.group(3)), 1) if d and g else None
        if ratio is not None:
            ratios.append(ratio)
        print(f"  {test:10} " + (f"{float(d.group(2)):10.1f} {int(d.group(3)):7d}" if d else f"{'-':>10} {'-':>7}") + "   "
              + (f"{float(g.group(2)):10.1f} {int(g.group(3)):7d}" if g else f"{'-':>10} {'-':>7}")
              + f"   {f'{ratio:.2f}' if ratio is not None else '-':>10}")
    if ratios:
        print(f"  guest/Dom0, lowest: {min(ratios):.2f} (goal: at least 0.80; the same for MB/s and IOPS: "
              f"both sides make requests of one size)")
    print("  per request of the guest's xvda (ring requests, from its /sys/block/xvda/stat; upcalls: Tern raising "
          "the domain's event IRQ, so notifications coalesce):")
    print(f"  {'test':10} {'app I/Os':>9} {'ring requests':>14} {'per I/O':>8} {'guest upcalls':>14} {'Dom0 upcalls':>13}")
    for test in BLOCK_TESTS:
        if test not in guest or test not in counters:
            print(f"  {test:10} no counters")
            continue
        e0, r0, e1, r1 = counters[test]
        requests, ios = r1 - r0, int(guest[test].group(4))
        per = lambda n: f"{n / max(requests, 1):.3f}"
        print(f"  {test:10} {ios:9d} {requests:14d} {requests / max(ios, 1):8.1f} {per(e1 - e0):>14} "
              f"{per(dom0_upcalls[test]) if test in dom0_upcalls else '-':>13}")
    served = {m.group(1): int(m.group(2)) for m in re.finditer(
        r"tern-blkback d\d+/(xvd\w): guest gone: (\d+) requests served", log)}
    figures = re.search(r"tern-blkback d\d+/xvda: figures: (\d+) requests in (\d+) batches, (\d+) disk operations; "
                        r"notifications (\d+) taken, (\d+) sent; busy (\d+) ms", log)
    if figures:
        n, batches, operations, taken, sent, busy = (int(x) for x in figures.groups())
        print(f"  xvda's backend over the guest's life: {n} requests in {batches} batches ({n / max(batches, 1):.1f} a batch), "
              f"{operations} disk operations ({n / max(operations, 1):.1f} requests each: adjacent ones merged); "
              f"notifications per request: {taken / max(n, 1):.3f} from the guest, {sent / max(n, 1):.3f} to it")
    exits = re.search(r"^\(tern\) d\d+ bench: exits: (\d+) \((.*)\)$", log, re.M)
    total = sum(served.values())
    if exits and total:
        calls = re.search(r"\bhypercall (\d+)", exits.group(2))
        listed = [int(n) for n in re.findall(r"\b[a-z]+ (\d+)", exits.group(2))]
        hypercalls = (f"{int(calls.group(1))} hypercalls, {int(calls.group(1)) / total:.3f} per request" if calls
                      else f"hypercalls not among the reasons listed (under {min(listed)}), "
                           f"under {min(listed) / total:.3f} per request")
        print(f"  guest hypercalls over its whole life (boot, idle during Dom0's tests, its own tests): {hypercalls} "
              f"served ({', '.join(f'{k} {v}' for k, v in sorted(served.items()))})")
        print(f"  its exits: {exits.group(1)} ({exits.group(2)})")
    else:
        print("  guest hypercalls per request: no figure (no exits line at its destroy, or no served counts)")
    print("  not available: hypercalls per test (Tern shows a domain's exit counts only at its destroy), "
          "Dom0's hypercalls (it is never destroyed)")
    print(f"  the section took {took:.0f} s (QEMU start to the end; log in build/bench-block.log)")


# The network section (docs/results.md, "Network"): tern-netbench's two
# TCP tests and ping, each run in Dom0 and then in a Linux guest, to one
# server on the host's loopback, which QEMU's user network (slirp) shows
# Dom0 and guests as 10.0.2.2 (nothing else is ever addressed).
NET_DISK = "build/bench-network.img"
NET_DISK_SIZE = "16M"
NET_LABEL = "tern-bench-net"       # not tern-data: Dom0's init mounts that one
NET_HOST = "10.0.2.2"              # slirp's gateway: the host's 127.0.0.1
NET_SECONDS = 10                   # per TCP test and side
NET_PINGS = 20                     # pings per side, one a second
NET_GUEST_MIB = 128
NET_TESTS = ("send", "recv", "send4", "recv4", "ping")
NET_STREAMS = 4                    # send4, recv4: that many connections at once (iperf3 -P 4)
# The guest's part (net_guest_script): on until it works, then always. A
# guest without a network frontend (tern_netfront.ko) is reported as such
# and leaves Dom0's figures alone.
NET_GUEST = True
NET_RESULT = r"(send4|recv4|send|recv): ([\d.]+) Mbit/s \((\d+) bytes in ([\d.]+) s\)"
NET_PING = (r"ping: (\d+) packets transmitted, (\d+) packets received, .*?"
            r"round-trip min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+) ms")

# Dom0's part, run from the scratch disk: sh run.sh HOST PORT SECONDS
# PINGS GUEST_MIB GUEST(1|0). Every line it prints for bench.py starts
# with "net: ". Per test, before and after it, Dom0's counters (K): the
# upcalls Tern raised in Dom0 (tern.ko's IRQ), virtio-net's interrupts
# (its queues' MSI-X vectors) and eth0's packets received and sent (the
# virtio NIC, br0's port to QEMU: Dom0's traffic and the guest's both
# cross it). w, C: the boot tests' helpers (tests_linux_guest.WAIT_DEF,
# tests_block.RUN_DEF), filled in.
NET_SCRIPT = r"""
H=$1 P=$2 S=$3 N=$4 MEM=$5 GUEST=$6 B=/usr/lib/tern/tools/tern-netbench
say(){ echo "net: $*"; }
ev(){ awk '/tern-events/{print $2}' /proc/interrupts; }
vq(){ awk '/virtio[0-9]+-(input|output)/{s+=$2} END{print s+0}' /proc/interrupts; }
pk(){ echo $(cat /sys/class/net/$1/statistics/rx_packets /sys/class/net/$1/statistics/tx_packets); }
K(){ echo $(ev) $(vq) $(pk eth0); }
# X TEST: one test in Dom0, its result line ("send: ...", "ping: ...").
X(){ if [ $1 = ping ]; then echo "ping: $(ping -q -c $N -w $((N+10)) $H 2>&1 | grep -E 'received|round-trip' | tr '\n' ' ')"
     else $B ${1%4} $H $P $S $([ ${1%4} = $1 ] || echo 4) 2>&1; fi; }
D(){ a=$(K); say "dom0 $(X $1)"; say "dom0 counters $1: $a / $(K)"; }
@WAIT_DEF@
@RUN_DEF@
for i in $(seq 100); do [ -s /run/dhcp-br0 ] && break; sleep 0.2; done
say "dom0 address $(cat /run/dhcp-br0 2>/dev/null) on br0, ports $(ls /sys/class/net/br0/brif | tr '\n' ' ')"
say "dom0 virtio-net interrupts: $(grep -E 'virtio[0-9]+-(input|output)' /proc/interrupts | awk '{print $NF}' | tr '\n' ' ')"
say "dom0 clock $(cut -d' ' -f1 /proc/uptime)"
G=0 d=
@GUEST_PART@
for t in @TESTS@; do
  D $t
  [ $G = 1 ] && E $t
done
say "dom0 clock $(cut -d' ' -f1 /proc/uptime)"
if [ -n "$d" ]; then tern destroy nb; sleep 1; dmesg | grep "tern-netback d$d/" | sed "s/^/net: /"; fi
"""

# The guest's part of run.sh: a Linux guest (linux.cfg) with a vif on br0
# and the tools disk as xvdb; in it (typed on its console, C), the tools
# mounted, eth0 (tern_netfront.ko, loaded by init) brought up by DHCP
# (busybox udhcpc with Dom0's hook, /etc/udhcpc/default.script) and
# then (C again: the console takes 1 KiB at a time) the test function T
# defined: T TEST HOST PORT SECONDS PINGS prints its
# result line and the guest's counters before and after (Q: its upcalls,
# the tern-events IRQ, and eth0's packets received and sent). G=1 once
# eth0 has an address; otherwise a "guest unavailable" line says why. E
# TEST: the guest's test, with Dom0's counters and the guest's vif (its
# tap in Dom0, vifD.0) around it. The typed text has no single quote (C
# takes it in single quotes) and prints lines under 160 characters (Tern
# cuts a console line there).
NET_GUEST_SETUP = (
    'mkdir -p /tools /etc /run; mount -o ro /dev/xvdb /tools; '
        'for i in 1 2 3 4 5; do [ -e /sys/class/net/eth0 ] && break; sleep 1; done; '
    'if [ -e /sys/class/net/eth0 ]; then udhcpc -i eth0 -q -n -t 10 -T 1 >/dev/null 2>&1; '
    'echo "nb address $(cat /run/dhcp-eth0 2>/dev/null) mac $(cat /sys/class/net/eth0/address)"; '
    'else echo "nb unavailable: no eth0 in the guest (its modules: $(ls /lib/modules | tr "\\n" " "))"; fi')
NET_GUEST_DEFS = (
    'Q(){ echo $(awk "/tern-events/{print \\$2}" /proc/interrupts) '
    '$(cat /sys/class/net/eth0/statistics/rx_packets /sys/class/net/eth0/statistics/tx_packets 2>/dev/null); }; '
    'T(){ a=$(Q); if [ $1 = ping ]; then '
    'r="ping: $(ping -q -c $5 -w $(($5+10)) $2 2>&1 | grep -E "received|round-trip" | tr "\\n" " ")"; '
    'else r=$(/tools/bin/tern-netbench ${1%4} $2 $3 $4 $([ ${1%4} = $1 ] || echo 4) 2>&1); fi; '
    'echo "nb $r"; echo "nb counters $1: $a / $(Q)"; }')
NET_GUEST_PART = r"""
guest_up(){
  tern create /etc/tern/linux.cfg 'name="nb"' memory=$MEM 'vif=["bridge=br0"]' 'disk=["@TOOLS_IMG@,xvdb,ro"]' > /dev/null ||
    { say "guest unavailable: tern create failed"; return; }
  w nb; d=$(tern list | awk '$2=="nb" {print $1}')
  grep -qs 'guest: ready' /var/log/tern/nb.log || { say "guest unavailable: no ready line in 240 s"; return; }
  o=$(C nb '@GUEST_SETUP@' nb)
  echo "$o" | sed 's/^nb /net: guest /'
  if echo "$o" | grep -q '^nb address [0-9]'; then G=1; C nb '@GUEST_DEFS@' nb
  elif ! echo "$o" | grep -q '^nb unavailable'; then say "guest unavailable: eth0 got no address by DHCP"; fi
}
E(){ a="$(K) $(pk vif$d.0)"; q=$S; [ $1 = ping ] && q=$N; C nb "T $1 $H $P $S $N" nb $q | sed 's/^nb /net: guest /'; say "dom0 counters guest $1: $a / $(K) $(pk vif$d.0)"; }
[ "$GUEST" = 1 ] && guest_up
"""


def net_guest_script():
    """NET_GUEST_PART with its placeholders filled in."""
    from tests_block import TOOLS_IMG
    return (NET_GUEST_PART.replace("@TOOLS_IMG@", TOOLS_IMG).replace("@GUEST_SETUP@", NET_GUEST_SETUP)
            .replace("@GUEST_DEFS@", NET_GUEST_DEFS))


def free_ports(count):
    """The first of `count` consecutive TCP ports free on the host's loopback now."""
    import socket
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count > 65536:
            continue
        try:
            held = []
            for p in range(base, base + count):
                t = socket.socket()
                held.append(t)
                t.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for t in held:
                t.close()


def net_counters(log, pattern):
    """{test: (before, after)} of the lines `pattern` ("... TEST: N N / N N")."""
    found = {}
    for m in re.finditer(pattern + r" (\w+): ([\d ]+) / ([\d ]+)$", log, re.M):
        before, after = [list(map(int, g.split())) for g in m.group(2, 3)]
        if len(before) == len(after):
            found[m.group(1)] = [b - a for a, b in zip(before, after)]
    return found


def network(args):
    """Network throughput and latency in the same run, Dom0 against a Linux
    guest (linux.cfg, 128 MiB, tern_netfront.ko, a vif on br0), both to one
    endpoint on the host: `tern-netbench server` on the host's 127.0.0.1,
    which QEMU's user network (slirp) shows as 10.0.2.2. Dom0's path: br0,
    eth0 (virtio-net), slirp; the guest's: its netfront, the netif rings,
    Dom0's network backend and the guest's tap vifD.0 on br0, then Dom0's
    path. Per test, in Dom0 and then in the guest (interleaved, as the block
    section, so both sides of a test see the same noise): tern-netbench
    send and recv (iperf3's TCP method: one connection, 128 KiB writes for
    NET_SECONDS, the receiver's bytes over its time), ping (NET_PINGS, one
    a second: the round trip). Goal (issue 18): the guest at least 70% of
    Dom0's throughput. Per packet (eth0's packets received and sent in the
    test): the upcalls Tern raised in the guest (its tern-events IRQ: the
    backend's notifications, coalesced) and in Dom0 (the guest's, and
    anything else of Dom0's in that window), and Dom0's virtio-net
    interrupts; for Dom0's own tests, its virtio-net interrupts per packet.
    A guest without eth0 (no network frontend yet) is reported, and Dom0's
    figures are printed all the same."""
    from tests_block import RUN_DEF
    from tests_linux_guest import WAIT_DEF
    script = (NET_SCRIPT.replace("@GUEST_PART@", net_guest_script())
              .replace("@WAIT_DEF@", WAIT_DEF).replace("@RUN_DEF@", RUN_DEF).replace("@TESTS@", " ".join(NET_TESTS)))
    script_disk(script, NET_DISK, NET_LABEL, NET_DISK_SIZE)
    port = free_ports(NET_STREAMS)
    server_log = open("build/bench-network-server.log", "w")
    servers = [subprocess.Popen(["build/dom0/tern-netbench", "server", str(port + i), "127.0.0.1"],
                                stdout=server_log, stderr=subprocess.STDOUT) for i in range(NET_STREAMS)]
    command = dom0_with_scratch_disk(args, f"file={NET_DISK},format=raw,if=virtio",
                                     ["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
    typed = (f"mkdir -p /mnt/bench; d=$(findfs LABEL={NET_LABEL}); mount $d /mnt/bench && "
             f"sh /mnt/bench/run.sh {NET_HOST} {port} {NET_SECONDS} {NET_PINGS} {NET_GUEST_MIB} {int(NET_GUEST)} "
             f"|| echo \"net: failed ($?)\"; echo net: the e''nd\n")
    start = time.monotonic()
    try:
        run = boot(command, r"^\(d0\) net: the end$", timeout=1200, send=[(r"^\(d0\) / # ", typed)])
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        server_log.close()
        os.remove(NET_DISK)
    took = time.monotonic() - start
    with open("build/bench-network.log", "w") as f:
        f.write(run.log)
    log = run.log
    results = {}   # (side, test) -> match
    for side in ("dom0", "guest"):
        for m in re.finditer(rf"^\(d0\) net: {side} {NET_RESULT}$", log, re.M):
            results[side, m.group(1)] = m
        for m in re.finditer(rf"^\(d0\) net: {side} {NET_PING}", log, re.M):
            results[side, "ping"] = m
    if not any(side == "dom0" for side, _ in results):
        raise SystemExit("bench: the network section has no figures of Dom0's (build/bench-network.log):\n" + log[-3000:])
    print(f"== Network: Dom0 vs a Linux guest through netback, br0 and Dom0's virtio-net, to the host "
          f"(same run, {NET_SECONDS} s a test, wall time, TCG)")
    print(f"  method: tern-netbench, iperf3's TCP test (one connection, 128 KiB writes for {NET_SECONDS} s, the "
          f"receiver's bytes over the time to its last, on the host's clock), to a server on the host's 127.0.0.1 = "
          f"{NET_HOST} behind QEMU's user network; send: Dom0/guest -> host, recv: host -> Dom0/guest (iperf3 -R); "
          f"ping: {NET_PINGS} echoes, one a second (slirp answers them); each test in Dom0, then in the guest")
    # Dom0's uptime at two lines against the host's time of those lines.
    clock = [(float(m.group(1)), seconds) for seconds, line in run.line_times
             if (m := re.match(r"^\(d0\) net: dom0 clock ([\d.]+)$", line))]
    if len(clock) == 2 and clock[1][1] > clock[0][1]:
        print(f"  Dom0's clock over the section: {clock[1][0] - clock[0][0]:.1f} s while the host's ran "
              f"{clock[1][1] - clock[0][1]:.1f} s ({(clock[1][0] - clock[0][0]) / (clock[1][1] - clock[0][1]):.3f}x; "
              f"why the times are the host's)")
    unavailable = re.search(r"^\(d0\) net: guest unavailable: (.*)$", log, re.M)
    if not NET_GUEST:
        print("  the guest's part is off (NET_GUEST in scripts/bench.py)")
    elif unavailable:
        print(f"  THE GUEST'S PART DID NOT RUN: {unavailable.group(1)}; Dom0's figures stand "
              f"(the guest's need its network frontend, tern_netfront.ko)")
    guest_address = re.search(r"^\(d0\) net: guest address (\S+) mac (\S+)$", log, re.M)
    if guest_address:
        print(f"  the guest's eth0: {guest_address.group(1)} by DHCP, mac {guest_address.group(2)}")
    print(f"  {'test':18} {'Dom0':>15} {'guest':>15}   guest/Dom0")
    ratios = {}
    names = {"send": "send (TCP)", "recv": "recv (TCP)", "send4": f"send, {NET_STREAMS} conns", "recv4": f"recv, {NET_STREAMS} conns"}
    for test in ("send", "recv", "send4", "recv4"):
        d, g = results.get(("dom0", test)), results.get(("guest", test))
        cell = lambda m: f"{float(m.group(2)):9.1f} Mbit/s" if m else f"{'-':>15}"
        ratio = float(g.group(2)) / max(float(d.group(2)), 1e-9) if d and g else None
        if ratio is not None:
            ratios[test] = ratio
        print(f"  {names[test]:18} {cell(d)} {cell(g)}   {f'{ratio:.2f}' if ratio is not None else '-':>10}")
    d, g = results.get(("dom0", "ping")), results.get(("guest", "ping"))
    cell = lambda m: f"{float(m.group(4)):12.2f} ms" if m else f"{'-':>15}"
    ratio = float(g.group(4)) / max(float(d.group(4)), 1e-9) if d and g else None
    print(f"  {'ping rtt avg':18} {cell(d)} {cell(g)}   {f'{ratio:.2f}' if ratio is not None else '-':>10}")
    for side, m in (("Dom0", d), ("guest", g)):
        if m:
            print(f"    {side}'s ping: {m.group(2)} of {m.group(1)} answered, min/avg/max {m.group(3)}/{m.group(4)}/{m.group(5)} ms")
    for side in ("dom0", "guest"):
        missing = [test for test in NET_TESTS if (side, test) not in results]
        if missing and (side == "dom0" or guest_address):
            errors = re.findall(rf"^\(d0\) net: {side} (tern-netbench: .*|ping: (?!\d).*)$", log, re.M)
            print(f"    {side}: no figure for {', '.join(missing)} ({'; '.join(errors) or 'no result line'})")
    single = [ratios[t] for t in ("send", "recv") if t in ratios]
    parallel = [ratios[t] for t in ("send4", "recv4") if t in ratios]
    if single:
        print(f"  guest/Dom0 throughput, one connection (iperf3's default), lowest: {min(single):.2f} (goal: at least 0.70)"
              + (f"; {NET_STREAMS} connections, lowest: {min(parallel):.2f}" if parallel else ""))
    else:
        print("  guest/Dom0 throughput: no figure (goal: at least 0.70)")
    # Per packet: (packets = eth0's received + sent in the test).
    dom0_own = net_counters(log, r"^\(d0\) net: dom0 counters")            # upcalls, virtio IRQs, rx, tx
    guest_own = net_counters(log, r"^\(d0\) net: guest counters")          # upcalls, rx, tx
    dom0_for_guest = net_counters(log, r"^\(d0\) net: dom0 counters guest")  # upcalls, virtio IRQs, rx, tx, vif rx, vif tx
    print("  per packet (packets: eth0's received + sent during the test; upcalls: Tern raising the domain's event "
          "IRQ, so notifications coalesce; virtio: Dom0's virtio-net interrupts):")
    print(f"  {'test':6} {'side':6} {'packets':>8} {'at its tap':>10} {'virtio/pkt':>10} {'Dom0 upcalls/pkt':>16} "
          f"{'guest upcalls/pkt':>17} {'pkts/Dom0 upcall':>16} {'pkts/guest upcall':>17}")
    per = lambda n, p: f"{n / p:.3f}" if p else "-"
    per1 = lambda n, p: f"{n / p:.1f}" if p else "-"
    for test in NET_TESTS:
        c = dom0_own.get(test)
        if c:
            packets = c[2] + c[3]
            print(f"  {test:6} {'Dom0':6} {packets:8d} {'':>10} {per(c[1], packets):>10} {per(c[0], packets):>16}")
        gc, dc = guest_own.get(test), dom0_for_guest.get(test)
        if gc and len(gc) == 3 and dc and len(dc) == 6:
            packets = gc[1] + gc[2]
            print(f"  {test:6} {'guest':6} {packets:8d} {dc[4] + dc[5]:10d} {per(dc[1], packets):>10} "
                  f"{per(dc[0], packets):>16} {per(gc[0], packets):>17} {per1(packets, dc[0]):>16} {per1(packets, gc[0]):>17}")
    for m in re.finditer(r"^\(d0\) net: (?:\[ *[\d.]+\] )?(tern-netback d\d+/vif\d+: .*)$", log, re.M):
        print(f"  {m.group(1)}")
    with open("build/bench-network-server.log") as f:
        served = re.findall(r"^server: (?:received from|sent to) ", f.read(), re.M)
    print(f"  the host's server served {len(served)} tests (its log: build/bench-network-server.log)")
    print(f"  the section took {took:.0f} s (QEMU start to the end; log in build/bench-network.log)")


SECTIONS = (image_and_boot, guests, ring, channels, make_run, dom0_boot, dom0_channel, toolstack, toolstack_waking, toolstack_icount,
            icount_phases, linux_guest, block, network)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--elf", default="build/tern.elf")
    parser.add_argument("--iso", default="build/tern.iso")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", help="comma-separated sections to run: " + ", ".join(f.__name__ for f in SECTIONS))
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    unknown = (wanted or set()) - {f.__name__ for f in SECTIONS}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    for section in SECTIONS:
        if wanted is None or section.__name__ in wanted:
            section(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
