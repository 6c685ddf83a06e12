"""Run Tern in QEMU and watch its serial console.

One QEMU run = one `Boot`: started with the serial port on a pipe, read
line by line until a success marker, a failure marker, QEMU's exit or a
timeout. Every outcome but the expected marker is a failure that carries the
log tail, so a boot test can never pass by waiting.
"""
import os
import re
import select
import subprocess
import time

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
# -cpu EPYC: TCG's AMD model with SVM and NPT (platform-facts.md).
BASE_ARGS = ["-cpu", "EPYC", "-smp", "1", "-display", "none", "-no-reboot",
             "-serial", "stdio", "-monitor", "none", "-nodefaults"]
ICOUNT_ARGS = ["-icount", "shift=0,sleep=off"]

# Lines that mean the hypervisor stopped abnormally.
FAILURE_PATTERNS = [re.compile(p) for p in (r"PANIC:", r"FATAL:", r"\(tern\) ERROR:", r"Kernel panic")]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class BootFailure(Exception):
    def __init__(self, message, log):
        tail = "\n".join(log.splitlines()[-40:])
        # TERN_BOOT_LOGS=DIR keeps each failed boot's whole serial log there.
        kept = ""
        if os.environ.get("TERN_BOOT_LOGS"):
            os.makedirs(os.environ["TERN_BOOT_LOGS"], exist_ok=True)
            path = os.path.join(os.environ["TERN_BOOT_LOGS"], f"failed-{os.getpid()}-{int(time.time())}.log")
            with open(path, "w") as f:
                f.write(log)
            kept = f" (all of it: {path})"
        super().__init__(f"{message}\n--- last lines of the serial log{kept} ---\n{tail}\n---")
        self.log = log


class Boot:
    def __init__(self, log, seconds, start_to_first_line, line_times=()):
        self.log = log
        # TERN_BOOT_LOGS_ALL=DIR keeps every finished boot's serial log there
        # (to read what a passing test saw: figures, timings).
        if os.environ.get("TERN_BOOT_LOGS_ALL"):
            os.makedirs(os.environ["TERN_BOOT_LOGS_ALL"], exist_ok=True)
            with open(os.path.join(os.environ["TERN_BOOT_LOGS_ALL"], f"boot-{os.getpid()}-{time.time():.0f}.log"), "w") as f:
                f.write(log)
        self.seconds = seconds
        self.start_to_first_line = start_to_first_line
        self.line_times = list(line_times)   # (seconds since QEMU start, line)

    def time_of(self, pattern):
        """Seconds from QEMU start to the first line matching `pattern`."""
        regex = re.compile(pattern)
        for seconds, line in self.line_times:
            if regex.search(line):
                return seconds
        raise BootFailure(f"expected /{pattern}/ in the log", self.log)

    def lines(self, prefix="(tern) "):
        return [l[len(prefix):] for l in self.log.splitlines() if l.startswith(prefix)]

    def find(self, pattern):
        m = re.search(pattern, self.log, re.MULTILINE)
        if not m:
            raise BootFailure(f"expected /{pattern}/ in the log", self.log)
        return m


def qemu_command(elf=None, iso=None, cmdline=None, memory="512M", icount=False, cpu=None, extra=(), defaults=False):
    """defaults=True keeps QEMU's default devices (Linux as Dom0 wants the
    PC speaker's port 0x61 to calibrate against the PIT)."""
    args = [QEMU] + [a for a in BASE_ARGS if defaults is False or a != "-nodefaults"] + ["-m", memory]
    if cpu:
        args[args.index("EPYC")] = cpu
    if icount:
        args += ICOUNT_ARGS
    if elf:
        args += ["-kernel", elf]
        if cmdline is not None:
            args += ["-append", cmdline]
    elif iso:
        args += ["-cdrom", iso, "-boot", "d"]
    return args + list(extra)


TYPE_CHUNK = 8        # bytes typed at a time
TYPE_PAUSE = 0.01     # seconds between them


def type_text(proc, text, log_lines):
    if callable(text):
        text = text("\n".join(log_lines))
    if text:
        # In pieces, as a fast typist: a whole line written at once lost a
        # byte now and then under load (Dom0's shell saw "linu/vmlinux";
        # where it is lost is not known yet).
        data = text.encode()
        for at in range(0, len(data), TYPE_CHUNK):
            proc.stdin.write(data[at:at + TYPE_CHUNK])
            proc.stdin.flush()
            if at + TYPE_CHUNK < len(data):
                time.sleep(TYPE_PAUSE)


def boot(command, until, timeout=60.0, expect_failure=False, settle_lines=0, allowed=(), count=1, send=()):
    """Runs `command` until a line matches `until` (a regex).

    expect_failure: the run is meant to stop on a failure marker (panic
    tests); then the failure markers do not abort it early.
    settle_lines: keep reading this many more lines after the marker (for
    reports that follow it).
    allowed: regexes of failure-marker lines this test provokes on purpose
    (a hostile guest's error); any other failure marker still fails.
    count: stop at the count-th line matching `until`.
    send: (regex, text) pairs, in order: once a line matches the regex,
    `text` is typed on the serial console (QEMU's stdin). A line still
    being written counts too (a shell prompt has no newline), from where
    the last match in it ended. `text` may be a function of the log so
    far (to type something learnt from it).
    """
    pending = [(re.compile(r), t) for r, t in send]
    allowed = [re.compile(a) for a in allowed]
    start = time.monotonic()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE if pending else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    target = re.compile(until)
    buffer = b""
    partial_from = 0   # where in the unfinished line the next send trigger may match
    log_lines = []
    line_times = []
    first_line_at = None
    found_at = None
    failure = None
    try:
        while True:
            now = time.monotonic()
            if now - start > timeout:
                failure = f"timeout after {timeout:.0f} s waiting for /{until}/ ({count} more)"
                break
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    failure = f"QEMU exited (status {proc.returncode}) before /{until}/"
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                proc.wait()
                failure = f"QEMU exited (status {proc.returncode}) before /{until}/"
                break
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for raw in complete:
                line = ANSI.sub("", raw.decode("utf-8", "replace")).strip("\r")
                log_lines.append(line)
                line_times.append((time.monotonic() - start, line))
                if first_line_at is None and line.startswith("(tern)"):
                    first_line_at = time.monotonic() - start
                if found_at is not None:
                    settle_lines -= 1
                    continue
                if failure:
                    continue   # the lines after the marker: its report
                if (not expect_failure and any(p.search(line) for p in FAILURE_PATTERNS)
                        and not any(a.search(line) for a in allowed)):
                    failure = f"failure marker in the log: {line.strip()}"
                    continue
                if pending and pending[0][0].search(line, partial_from if raw is complete[0] else 0):
                    type_text(proc, pending.pop(0)[1], log_lines)
                if target.search(line):
                    count -= 1
                    if count <= 0:
                        found_at = time.monotonic() - start
            if complete:
                partial_from = 0
            if failure or (found_at is not None and settle_lines <= 0):
                break
            partial = ANSI.sub("", buffer.decode("utf-8", "replace")).strip("\r")
            while pending and (match := pending[0][0].search(partial, partial_from)):
                partial_from = match.end()
                type_text(proc, pending.pop(0)[1], log_lines)
        if failure and failure.startswith("failure marker"):
            # A panic report follows its first line (RIP, registers,
            # backtrace): keep what comes within a second.
            drain_until = time.monotonic() + 1.0
            while time.monotonic() < drain_until:
                ready, _, _ = select.select([proc.stdout], [], [], 0.1)
                if not ready:
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
            log_lines += [ANSI.sub("", raw.decode("utf-8", "replace")).strip("\r") for raw in buffer.split(b"\n") if raw]
    finally:
        proc.kill()
        _, err = proc.communicate()
    log = "\n".join(log_lines)
    if failure:
        stderr = err.decode("utf-8", "replace").strip()
        stderr = "\n".join(l for l in stderr.splitlines() if "TCG doesn't support" not in l)
        if stderr:
            failure += f"\nQEMU stderr: {stderr[-2000:]}"
        raise BootFailure(failure, log)
    return Boot(log, found_at, first_line_at, line_times)
