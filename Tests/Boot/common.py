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

# The ABI minor version the guests and Dom0 print (major is 0), from the header.
with open(os.path.join(HERE, "..", "..", "Hypervisor", "ABI", "include", "tern", "abi.h")) as _abi:
    ABI_MINOR = int(re.search(r"^#define TERN_ABI_MINOR (\d+)$", _abi.read(), re.M).group(1))

# Where Dom0/kernel-abi.sh records the ABI of Dom0's kernel in this build.
DOM0_ABI_FILE = os.path.join(HERE, "..", "..", "build", "dom0", "kernel-abi")

# The test registry: every @test function of the tests_*.py files.
TESTS = []

# The order the tests run in: the order they had in the one boottest.py
# before the split by area (so runs compare line by line). A new test is
# listed here as well as marked @test; ordered_tests() refuses either alone.
RUN_ORDER = [
    "boot_kernel_multiboot1",
    "boot_iso_grub_multiboot2_to_dom0_shell",
    "selftest_pagefault_reports_vector_rip_cr2",
    "bad_boot_options_are_warnings",
    "loglvl_debug_and_error",
    "small_and_large_memory",
    "boot_module_is_reserved_and_bad_image_refused",
    "cpu_without_nx_is_refused",
    "guest_hello_abi_and_memory_back",
    "guests_interleave_and_spinner_cannot_starve",
    "hostile_guests_are_contained",
    "timer_storm_cannot_stop_terns_timer",
    "timer_upcall_without_vector_reaches_block_and_polling",
    "timer_fuzzer_beside_victims",
    "guest_ring_library_in_embedded_swift",
    "channel_ping_pong_messages",
    "channel_ping_pong_event_and_payload_modes",
    "channel_hostile_maps_grants_not_given",
    "channel_hostile_writes_read_only_grant",
    "channel_hostile_closes_port_twice",
    "channel_hostile_uses_foreign_ports",
    "channel_hostile_corrupts_ring_indices",
    "bad_module_options_are_refused",
    "cpu_without_svm_or_npt_is_refused",
    "dom0_kernel_boots_bare",
    "dom0_linux_starts_under_tern",
    "dom0_shell_answers_on_the_console",
    "dom0_drives_its_disk_and_network",
    "dom0_lists_domains_reads_terns_log_and_cannot_touch_others",
    "toolstack_create_list_console_destroy",
    "toolstack_fifty_guests_and_every_frame_back",
    "toolstack_refuses_bad_configs",
    "toolstack_killed_mid_create_leaves_nothing",
    "toolstack_console_input_reaches_the_guest",
    "toolstack_typing_to_a_guest_that_ignores_input_leaves_it_idle",
    "dom0_backend_serves_a_guest_channel",
    "dom0_backend_killed_releases_its_port_and_mappings",
    "dom0_hostile_8259_programming_is_contained",
    "dom0_hostile_msi_vectors_are_dropped",
    "icount_phase_regression",
]


def test(fn):
    TESTS.append(fn)
    return fn


def ordered_tests():
    """The registered tests in RUN_ORDER; stops unless both name the same tests, once each."""
    by_name = {fn.__name__: fn for fn in TESTS}
    if len(by_name) != len(TESTS) or sorted(by_name) != sorted(RUN_ORDER):
        raise SystemExit("boot tests: RUN_ORDER (Tests/Boot/common.py) and the @test functions differ: "
                         f"not listed {sorted(set(by_name) - set(RUN_ORDER))}, "
                         f"not a test {sorted(set(RUN_ORDER) - set(by_name))}, or a name is there twice")
    return [by_name[name] for name in RUN_ORDER]


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


def dom0_command(args, cmdline="dom0_mem=384M", kernel_extra="", guests=(), devices=True, qemu_extra=()):
    """QEMU with Tern, Dom0 (kernel and initramfs as boot modules), guest
    modules after them, (devices=True) a virtio disk and virtio-net on
    QEMU's user network, and `qemu_extra` arguments. Returns (command,
    disk file or None)."""
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
    return qemu_command(elf=args.elf, memory="1G", cmdline=cmdline, defaults=True, extra=extra + list(qemu_extra)), disk


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
