"""Boot tests of guests' consoles and logs in Dom0 (toolstack_console_*,
toolstack_logd_*): `tern console` shows one instance of a guest, each
line once; `tern logd` keeps a file per instance, and only one logd runs."""
import re

from common import DOM0_PROMPT, check, dom0_command, shell, test
from qemu import boot

# Typed at Dom0's shell first: `c TAG SECONDS DOMAIN` runs `tern console
# DOMAIN` for at most SECONDS with no input and tags its lines "TAG: ",
# so that the commands stay short (a typed line over 80 columns wraps).
CONSOLE_FUNCTION = "c() { timeout $2 tern console $3 </dev/null|sed \"s/^/$1: /\"; }"
# `n TAG FILE`: "TAG: " the ticker lines in FILE and how many are repeated.
COUNT_FUNCTION = "n() { echo $1: $(grep -c '^tick ' $2) $(sort $2|uniq -d|wc -l); }"


def count(run, pattern):
    return len(re.findall(pattern, run.log, re.MULTILINE))


def check_once(run, pattern, what):
    n = count(run, pattern)
    check(n == 1, f"{what}: {n} times, not once (/{pattern}/)", run)


@test
def toolstack_console_shows_one_instance_each_line_once(args):
    """Ids and names are reused, a console is one instance's: a sleeper
    created as d1 after the boot-time hello (d1 too) does not show the
    hello's line; the sleeper created three times shows only the last
    one's lines, each once, live and after it is gone (by name and by
    id); logd keeps a file per instance (sleeper.log, .log.1, .log.2,
    hello.log), its first line naming the instance; a guest that crashed
    and is gone still shows what it printed."""
    send, done = shell(
        CONSOLE_FUNCTION,
        "S=/etc/tern/sleeper.cfg; tern list | sed 's/^/l0: /'",
        "tern create $S; c c1 3 sleeper",
        "tern destroy sleeper; tern create $S >/dev/null; sleep 2",
        "tern destroy sleeper; tern create $S >/dev/null; c c3 5 sleeper",
        "tern destroy sleeper; c c4 5 sleeper; c c5 5 1",
        "ls /var/log/tern | sed 's/^/f: /'",
        "head -1 /var/log/tern/sleeper.log | sed 's/^/h: /'",
        "sed 's/^/k: /' /var/log/tern/hello.log",
        "echo 'name = \"crasher\"' > /tmp/x.cfg",
        "echo 'kernel = \"/usr/lib/tern/guests/hostile.elf\"' >> /tmp/x.cfg",
        "echo 'cmdline = \"mode=triplefault\"' >> /tmp/x.cfg",
        "tern create /tmp/x.cfg >/dev/null; sleep 2; c x 5 crasher")
    command, _ = dom0_command(args, devices=False, guests=["hello.elf name=hello mem=4M"])
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(tern\) d1 hello: created")
    run.find(r"^\(d1\) hello from a Tern guest: domain 1")   # a boot module: on the serial port
    check(not re.search(r"^\(d0\) l0: +1 ", run.log, re.MULTILINE), "the boot-time hello is still there", run)
    run.find(r"^\(d0\) 1$")   # the new sleeper is d1 too
    run.find(r"^\(d0\) c1: sleeper: round 1: woke after \d+ ms$")
    check(not re.search(r"^\(d0\) c1: hello", run.log, re.MULTILINE), "the sleeper's console showed the boot-time hello's line", run)
    check(not re.search(r"^\(d0\) Console of", run.log, re.MULTILINE), "the how-to-leave line without a terminal", run)
    for tag in ("c3", "c4", "c5"):
        check_once(run, rf"^\(d0\) {tag}: sleeper: upcall vector \d+ installed", f"{tag}: the sleeper's first line")
        check_once(run, rf"^\(d0\) {tag}: sleeper: round 1: woke after \d+ ms$", f"{tag}: round 1")
    check_once(run, r"^\(d0\) c4: \[d1 sleeper: no longer running\]$", "c4: the note")
    check_once(run, r"^\(d0\) c5: \[d1 sleeper: no longer running\]$", "c5: the note (by id)")
    for name in ("sleeper.log", "sleeper.log.1", "sleeper.log.2", "hello.log"):
        run.find(rf"^\(d0\) f: {re.escape(name)}$")
    run.find(r"^\(d0\) h: == d1 sleeper, created_ns \d+, Tern log byte \d+ ==$")
    run.find(r"^\(d0\) k: == d1 hello, created_ns (\d+|unknown), Tern log byte \d+ ==$")
    run.find(r"^\(d0\) k: hello from a Tern guest: domain 1")
    run.find(r"^\(tern\) WARNING: d\d+ crasher crashed: triple fault")
    run.find(r"^\(d0\) x: hostile: loading an empty IDT and raising #BP$")
    run.find(r"^\(d0\) x: \[d\d+ crasher: no longer running\]$")


@test
def toolstack_console_after_terns_log_wrapped(args):
    """After Tern's 64 KiB log ring has overwritten the start of a guest's
    life (a ticker prints 4000 lines, about 92 KB, one every 3 ms: at one
    a millisecond the live reader could not always keep up on a slow
    machine, docs/testing.md), `tern console` still
    shows every line of it once: a gone hello's and the ticker's from
    logd's files, and a running sleeper's from logd's file joined to the
    ring's later lines without a repeat. The ticker's console, followed
    live while it printed, has each of its 4000 lines once too."""
    send, done = shell(
        CONSOLE_FUNCTION,
        COUNT_FUNCTION,
        "tern create /etc/tern/hello.cfg >/dev/null; sleep 1",
        "tern create /etc/tern/sleeper.cfg >/dev/null; sleep 4",
        "T='cmdline=\"count=4000 ms=3\"'",
        "tern create /etc/tern/ticker.cfg \"$T\" >/dev/null",
        "tern console ticker </dev/null >/tmp/live",
        "n live /tmp/live",
        "tail -1 /tmp/live | sed 's/^/t: /'",
        "tern dmesg | head -1 | sed 's/^/d: /'",
        "c h 5 hello",
        "c s 3 sleeper",
        "tern console ticker </dev/null >/tmp/kept",
        "n kept /tmp/kept")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=600, send=send)
    run.find(r"^\(d0\) d: \[\d+ bytes lost\]$")   # the ring wrapped
    run.find(r"^\(d0\) live: 4000 0$")
    run.find(r"^\(d0\) t: \[d2 ticker: stopped\]$")
    check_once(run, r"^\(d0\) h: hello from a Tern guest: domain 1", "the gone hello's line")
    run.find(r"^\(d0\) h: \[d1 hello: no longer running\]$")
    check_once(run, r"^\(d0\) s: sleeper: upcall vector \d+ installed", "the sleeper's first line")
    for n in (1, 2, 3):
        check_once(run, rf"^\(d0\) s: sleeper: round {n}: woke after \d+ ms$", f"the sleeper's round {n}")
    run.find(r"^\(d0\) kept: 4000 0$")


@test
def toolstack_console_says_how_to_leave_and_ctrl_c_leaves(args):
    """`tern console` at Dom0's shell (standard input the serial
    terminal): it first says on stderr that Ctrl-] or Ctrl-C leaves; a
    typed line reaches the `echo` guest; Ctrl-C leaves (status 0, the
    guest keeps running and never sees the key), and so does Ctrl-] in a
    second session, which shows the first session's line once. `tern
    console 0` and `tern console dom0` say, as one `tern:` line with
    status 1, that Dom0's console is this terminal."""
    send = [
        (DOM0_PROMPT, "tern create /etc/tern/echo.cfg; echo END0\n"),
        (r"^\(d0\) END0$", ""),
        (DOM0_PROMPT, "tern console echo; echo after1: $?\n"),
        (r"Console of d1 echo: Ctrl-\] or Ctrl-C leaves \(the guest keeps running\)", "hi tern\r"),
        (r"^\(d0\) echo: hi tern$", "\x03"),
        (r"^\(d0\) after1: \d+$", ""),
        (DOM0_PROMPT, "tern console echo; echo after2: $?\n"),
        (r"Console of d1 echo: Ctrl-\]", "again\r"),
        (r"^\(d0\) echo: again$", "\x1d"),
        (r"^\(d0\) after2: \d+$", ""),
    ]
    more, done = shell(
        "tern list | grep ' echo ' | sed 's/^/l: /'",
        "tern console 0; echo dom0: $?",
        "tern console dom0 2>&1 | sed 's/^/by name: /'")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send + more)
    out = run.log[run.log.index("tern console echo"):]
    notes = count(run, r"^\(d0\) Console of d1 echo: Ctrl-\] or Ctrl-C leaves \(the guest keeps running\)$")
    check(notes == 2, f"the how-to-leave note {notes} times in two sessions", run)
    check(len(re.findall(r"^\(d0\) hi tern$", out, re.MULTILINE)) == 1,
          "the typed line echoed once (by the console, in raw mode from its first line)", run)
    run.find(r"^\(d0\) after1: 0$")
    run.find(r"^\(d0\) after2: 0$")
    check(len(re.findall(r"^\(d0\) echo: hi tern$", out, re.MULTILINE)) == 2,
          "'echo: hi tern' once in each session (live, then in the second's past)", run)
    check(not re.search(r"\?", "\n".join(re.findall(r"^\(d0\) echo: .*$", out, re.MULTILINE))),
          "a control key reached the guest", run)
    run.find(r"^\(d0\) l: +1 +echo +(running|blocked) ")
    run.find(r"^\(d0\) tern: d0 dom0: Dom0's console is this terminal \(Tern's serial port\); tern console shows a guest's$")
    run.find(r"^\(d0\) dom0: 1$")
    run.find(r"^\(d0\) by name: tern: d0 dom0: Dom0's console is this terminal")


@test
def toolstack_logd_runs_once_and_keeps_each_line_once(args):
    """One `tern logd` at a time: with Dom0's init's logd running, another
    says `tern: logd already running (pid N)` (N in /run/tern-logd.pid)
    with status 1, in the foreground or the background, and exits; the
    ticker's five ticks are each once in its file (a second logd doubled
    every line before). Killed, the logd frees its lock; one started again
    goes on from where it stopped: the next ticker's lines are in a new
    ticker.log, the first instance's (now ticker.log.1) are not kept
    again."""
    send, done = shell(
        # Init's logd may not have started when the prompt comes.
        "while [ ! -s /run/tern-logd.pid ]; do sleep 1; done",
        "tern logd; echo second: $?",
        "echo pids: $(cat /run/tern-logd.pid) $(pidof tern)",
        "tern logd 2>/tmp/l2 </dev/null & sleep 1; sed 's/^/bg: /' /tmp/l2",
        "echo running: $(pidof tern | wc -w)",
        "tern create /etc/tern/ticker.cfg >/dev/null; sleep 3",
        "sed 's/^/k1: /' /var/log/tern/ticker.log",
        "kill $(cat /run/tern-logd.pid); sleep 1; echo left: $(pidof tern)",
        "tern logd </dev/null >/dev/null 2>&1 & sleep 1",
        "echo restarted: $(pidof tern | wc -w)",
        "tern create /etc/tern/ticker.cfg >/dev/null; sleep 3",
        "sed 's/^/k2: /' /var/log/tern/ticker.log",
        "sed 's/^/k3: /' /var/log/tern/ticker.log.1",
        "ls /var/log/tern | sed 's/^/f: /'")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    pid = run.find(r"^\(d0\) tern: logd already running \(pid (\d+)\)$").group(1)
    run.find(r"^\(d0\) second: 1$")
    run.find(rf"^\(d0\) pids: {pid} {pid}$")
    run.find(rf"^\(d0\) bg: tern: logd already running \(pid {pid}\)$")
    run.find(r"^\(d0\) running: 1$")
    for tag in ("k1", "k2", "k3"):
        # The ticker lives about 150 ms and Tern destroys it on poweroff: a
        # logd scheduled late reads its created line after it has gone, and
        # the header says so (created_ns unknown, KeptLogHeader). CI saw it
        # once, for the restarted logd.
        run.find(rf"^\(d0\) {tag}: == d\d+ ticker, created_ns (\d+|unknown), Tern log byte \d+ ==$")
        for n in range(1, 6):
            check_once(run, rf"^\(d0\) {tag}: tick {n} of 5$", f"{tag}: tick {n}")
        check_once(run, rf"^\(d0\) {tag}: ticker done$", f"{tag}: ticker done")
    run.find(r"^\(d0\) left: ?$")
    run.find(r"^\(d0\) restarted: 1$")
    check(not re.search(r"^\(d0\) f: ticker\.log\.2$", run.log, re.MULTILINE), "the restarted logd kept the first ticker again", run)


@test
def toolstack_console_of_kept_and_restarted_crashed_guests(args):
    """A guest that crashed and that Tern keeps (on_crash="preserve")
    still shows its output, and how it ended: `[dN keep: crashed
    (triple_fault), kept until destroyed]`; destroyed, its output is
    still there. One that logd restarts after each crash (on_crash=
    "restart": six instances until the crash-loop guard leaves the last
    crashed) shows only the last instance's lines, once, and logd keeps
    loop.log and the four instances before it."""
    send, done = shell(
        CONSOLE_FUNCTION,
        "echo 'kernel = \"/usr/lib/tern/guests/hostile.elf\"' > /tmp/k.cfg",
        "echo 'cmdline = \"mode=triplefault\"' >> /tmp/k.cfg",
        "tern create /tmp/k.cfg 'name=\"keep\"' 'on_crash=\"preserve\"'",
        "sleep 1; tern list | grep ' keep ' | sed 's/^/l: /'",
        "c k 5 keep",
        "tern destroy keep; c g 5 keep",
        "tern create /tmp/k.cfg 'name=\"loop\"' 'on_crash=\"restart\"'",
        "sleep 10; tern list | grep ' loop ' | sed 's/^/l: /'",
        "c r 5 loop",
        "ls /var/log/tern | grep loop | sed 's/^/f: /'")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    keep = run.find(r"^\(d0\) l: +(\d+) +keep +crashed ").group(1)
    check_once(run, r"^\(d0\) k: hostile: loading an empty IDT and raising #BP$", "the kept guest's line")
    run.find(rf"^\(d0\) k: \[d{keep} keep: crashed \(triple_fault\), kept until destroyed\]$")
    check_once(run, r"^\(d0\) g: hostile: loading an empty IDT and raising #BP$", "the destroyed guest's line")
    run.find(rf"^\(d0\) g: \[d{keep} keep: no longer running\]$")
    created = len(re.findall(r"^\(tern\) d\d+ loop: created", run.log, re.MULTILINE))
    check(created == 6, f"loop was created {created} times, not 6 (once, then 5 restarts)", run)
    loop = run.find(r"^\(d0\) l: +(\d+) +loop +crashed ").group(1)
    check_once(run, r"^\(d0\) r: hostile: loading an empty IDT and raising #BP$", "the restarted guest's line")
    run.find(rf"^\(d0\) r: \[d{loop} loop: crashed \(triple_fault\), kept until destroyed\]$")
    files = re.findall(r"^\(d0\) f: (\S+)$", run.log, re.MULTILINE)
    check(sorted(files) == ["loop.log"] + [f"loop.log.{n}" for n in range(1, 5)], f"logd's files of loop: {files}", run)
