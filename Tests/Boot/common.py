"""What the boot tests share (Tests/Boot/tests_*.py hold the tests by
area; boottest.py runs them): the test registry and its run order, check(),
the ABI minor version, Dom0's kernel ABI in this build, guest modules and
domain ids, Dom0's QEMU command and typing at its shell."""
import os
import re
import subprocess
import tempfile

from qemu import BootFailure, qemu_command

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# The ABI minor version the guests and Dom0 print (major is 0), from the header.
with open(os.path.join(HERE, "..", "..", "Hypervisor", "ABI", "include", "tern", "abi.h")) as _abi:
    ABI_MINOR = int(re.search(r"^#define TERN_ABI_MINOR (\d+)$", _abi.read(), re.M).group(1))

# Where Dom0/kernel-abi.sh records the ABI of Dom0's kernel in this build.
DOM0_ABI_FILE = os.path.join(HERE, "..", "..", "build", "dom0", "kernel-abi")

# The test registry: every @test function of the tests_*.py files, in the
# order boottest.py imports them (by area), each file's in its own order.
TESTS = []

def test(fn):
    TESTS.append(fn)
    return fn


def check(condition, message, run):
    if not condition:
        raise BootFailure(message, run.log)


def symbol_address(elf, name):
    out = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise AssertionError(f"symbol {name} not in {elf}")


def dom0_abi():
    """The ABI of Dom0's kernel in this build (e.g. 6.1.0-56-cloud-amd64), as a regex."""
    with open(DOM0_ABI_FILE) as f:
        return re.escape(f.read().strip())


GUESTS = "build/guests"
NO_GUESTS_LEFT = r"^\(tern\) No guests left: (\d+) free frames \((\d+) before the first guest\)$"


def modules(*specs):
    """QEMU -initrd list; each spec is 'GUEST options...' for build/guests/GUEST.elf."""
    parts = []
    for spec in specs:
        guest, _, rest = spec.partition(" ")
        parts.append(f"{GUESTS}/{guest}.elf {rest}".strip())
    return ["-initrd", ",".join(parts)]


def domain_ids(run):
    """Domain name -> id, from the 'dN NAME: created' lines."""
    return {m.group(2): int(m.group(1))
            for m in re.finditer(r"^\(tern\) d(\d+) (\S+): created", run.log, re.MULTILINE)}


def check_frames_back(run):
    m = run.find(NO_GUESTS_LEFT)
    check(m.group(1) == m.group(2), f"frames leaked: {m.group(1)} free now, {m.group(2)} before the guests", run)


# Dom0's data disk as `make` builds it (docs/dom0.md, "Data disk"). The
# tests attach it with snapshot=on: what Dom0 writes goes to a temporary
# overlay, never into the file.
DATA_DISK = "build/dom0/data.img"
DATA_DISK_DRIVE = ["-drive", f"file={DATA_DISK},format=raw,if=virtio,snapshot=on"]


def dom0_command(args, cmdline="dom0_mem=384M", kernel_extra="", guests=(), devices=True, qemu_extra=(), data_disk=None):
    """QEMU with Tern, Dom0 (kernel and initramfs as boot modules), guest
    modules after them, (devices=True) a virtio disk (vda) and virtio-net
    on QEMU's user network, (data_disk, by default as devices) the data
    disk (snapshot=on), and `qemu_extra` arguments. Returns (command, disk
    file or None)."""
    with open(os.path.join(HERE, "..", "..", "Dom0", "cmdline")) as f:
        # QEMU's -initrd splits at commas: ",," is a literal one.
        kernel_cmdline = (f.read().strip() + kernel_extra).replace(",", ",,")
    initrd = [f"build/dom0/vmlinux role=dom0 -- {kernel_cmdline}", "build/dom0/initramfs.cpio.lz4 role=dom0-initrd"]
    initrd += [f"build/guests/{g.replace(',', ',,')}" for g in guests]
    extra = ["-initrd", ",".join(initrd)]
    disk = None
    if devices:
        disk = tempfile.NamedTemporaryFile(suffix=".img")
        disk.truncate(16 << 20)
        extra += ["-drive", f"file={disk.name},format=raw,if=virtio",
                  "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]
    if devices if data_disk is None else data_disk:
        extra += DATA_DISK_DRIVE
    return qemu_command(elf=args.elf, memory="1G", cmdline=cmdline, defaults=True, extra=extra + list(qemu_extra)), disk


def make_run_command(args, target="run", overrides=()):
    """The QEMU command `make TARGET` runs (run: Tern by -kernel with Dom0
    and the example guests; run-dom0-bare: Dom0's kernel alone), as the
    Makefile says (`make -s command-TARGET`), with its own scratch disk and
    the data disk, both snapshot=on; `overrides` are more make variables
    (NAME=value). Returns (command, the temporary
    directory of the scratch disk: it goes when this is dropped)."""
    scratch = tempfile.TemporaryDirectory()
    disk = os.path.join(scratch.name, "disk.img")
    overrides = [f"ELF={args.elf}", f"RUN_DISK={disk}", f"RUN_DATA_DISK={DATA_DISK}", "RUN_DRIVE_OPTIONS=,snapshot=on",
                 *overrides]
    # Not the calling make's jobserver or flags (make test runs the tests).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    # The scratch disk (make's rule gives it make run's size), then the command.
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, disk, f"command-{target}"] + overrides,
                         capture_output=True, env=env, check=True).stdout
    return [a.decode() for a in out.split(b"\0")[:-1]], scratch


DOM0_PROMPT = r"^\(d0\) / # "


def shell(*commands):
    """send= pairs typing each command at Dom0's prompt once the previous
    one printed its end marker; a command may be a function of the log so
    far. Returns the pairs and the regex of the last end marker."""
    send = []
    for i, command in enumerate(commands):
        marker = f"END{i}"
        if i:
            send.append((previous, ""))
        if callable(command):
            send.append((DOM0_PROMPT, lambda log, command=command, marker=marker: f"{command(log)}; echo {marker}\n"))
        else:
            send.append((DOM0_PROMPT, f"{command}; echo {marker}\n"))
        previous = rf"^\(d0\) {marker}$"
    return send, previous


def free_frames(run, text):
    """The free-frame counts of every `tern info` in `text`, in order."""
    return [int(m) for m in re.findall(r"^\(d0\) memory: total \d+ MiB, free \d+ MiB \((\d+) frames\)$", text, re.MULTILINE)]


def check_tern_info_frames_back(run, text):
    """`text` holds two `tern info`s, before and after: the same free frames."""
    frames = free_frames(run, text)
    check(len(frames) == 2 and frames[0] == frames[1], f"free frames before and after: {frames}", run)
