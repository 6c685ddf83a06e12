"""Boot tests of the toolstack (toolstack_*): `tern` in Dom0 creates, lists,
shows the console of and destroys guests."""
import re

from common import ABI_MINOR, check, check_tern_info_frames_back, dom0_command, shell, test
from qemu import boot


@test
def toolstack_create_list_console_destroy(args):
    """The first session of the README, from Dom0's shell: `tern create`
    two guests from /etc/tern, `tern list` shows them, `tern console`
    shows a running guest's output and an exited guest's kept log,
    `tern destroy` removes the running one, and Tern's free frames come
    back to what they were."""
    send, done = shell(
        "tern info",
        "tern create /etc/tern/sleeper.cfg",
        "tern create /etc/tern/hello.cfg",
        "sleep 3; tern list",
        "tern top -b -n 2 | sed 's/^/top: /'",
        "tern uptime | sed 's/^/uptime: /'",
        "timeout 3 tern console sleeper </dev/null | sed 's/^/console: /'",
        "tern console hello </dev/null | sed 's/^/console: /'",
        "tern destroy sleeper; tern list",
        "tern info")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    out = run.log[run.log.index("tern info"):]
    ids = re.findall(r"^\(d0\) (\d+)$", out, re.MULTILINE)
    check(ids == ["1", "2"], f"tern create printed {ids}, not the ids 1 and 2", run)
    run.find(r"^\(tern\) d2 hello: created, 4 MiB RAM")
    # tern top: two screens, a second apart, each with Dom0 and the sleeper.
    screens = re.findall(r"^\(d0\) top: tern top: up \d+:\d\d:\d\d, 2 domains, \d+ MiB free$", run.log, re.MULTILINE)
    check(len(screens) == 2, f"tern top -n 2 showed {len(screens)} screens", run)
    run.find(r"^\(d0\) top: +1 +sleeper +(running|blocked) +\d+ +[\d.]+ +4 +256$")
    run.find(r"^\(d0\) uptime: dom0 +0 +0:00:\d\d$")
    run.find(r"^\(d0\) uptime: sleeper +1 +0:00:0\d$")
    run.find(rf"^\(d0\) console: hello from a Tern guest: domain 2, 4 MiB, ABI version {ABI_MINOR}$")
    check(not re.search(r"^\(d[12]\) ", run.log, re.MULTILINE),
          "a toolstack guest's console lines went to the serial port too (they show once, in tern console)", run)
    run.find(r"^\(d0\) +1 +sleeper +(running|blocked) +4 +1 +[\d.]+$")
    run.find(r"^\(d0\) console: sleeper: round 1: woke after \d+ ms$")
    run.find(r"^\(d0\) console: hello from a Tern guest: domain 2")
    run.find(r"^\(d0\) console: \[d2 hello: no longer running\]$")
    run.find(r"^\(tern\) d1 sleeper: destroyed by the toolstack$")
    check_tern_info_frames_back(run, out)
    check("crashed" not in run.log, "a domain crashed", run)


@test
def toolstack_fifty_guests_and_every_frame_back(args):
    """50 guests created from Dom0 with `tern create`, all listed, all
    destroyed with `tern destroy`; Tern's free-frame count is back to
    where it started."""
    make = ("for i in $(seq 50); do sed \"s/^name = .*/name = \\\"g$i\\\"/\" /etc/tern/sleeper.cfg > /tmp/g$i.cfg; "
            "tern create /tmp/g$i.cfg >/dev/null || echo create-failed $i; done")
    send, done = shell(
        "tern info",
        make,
        "echo listed: $(tern list | grep -c ' g[0-9]')",
        "for i in $(seq 50); do tern destroy g$i || echo destroy-failed $i; done; echo left: $(tern list | grep -c ' g[0-9]')",
        "tern info")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=600, send=send)
    failed = re.findall(r"^\(d0\) (create|destroy)-failed \d+$", run.log, re.MULTILINE)
    check(not failed, f"{len(failed)} creates or destroys failed", run)
    run.find(r"^\(d0\) listed: 50$")
    run.find(r"^\(d0\) left: 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info"):])


@test
def toolstack_refuses_bad_configs(args):
    """Each bad config is refused before anything is created, with a
    message that names the file, the line and the key (or what is
    missing): an unknown key, a bad memory size, two vCPUs, a missing
    kernel file, a name in use, more memory than is free."""
    configs = {
        "unknown": 'name = "u"\\nkernel = "/usr/lib/tern/guests/hello.elf"\\ncolour = "red"',
        "oddmem": 'name = "o"\\nkernel = "/usr/lib/tern/guests/hello.elf"\\nmemory = 3',
        "vcpus": 'name = "v"\\nkernel = "/usr/lib/tern/guests/hello.elf"\\nvcpus = 2',
        "nokernel": 'name = "n"\\nkernel = "/usr/lib/tern/guests/missing.elf"',
        "dupname": 'name = "sleeper"\\nkernel = "/usr/lib/tern/guests/sleeper.elf"',
        "huge": 'name = "h"\\nkernel = "/usr/lib/tern/guests/hello.elf"\\nmemory = 60000',
    }
    commands = ["tern create /etc/tern/sleeper.cfg"]
    for name, text in configs.items():
        commands.append(f"printf '{text}\\n' > /tmp/{name}.cfg; tern create /tmp/{name}.cfg 2>&1 | sed 's/^/{name}: /'")
    commands.append("echo domains: $(tern list | tail -n +2 | wc -l)")
    send, done = shell(*commands)
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) unknown: tern: /tmp/unknown\.cfg:3: colour: unknown key \(known: name, kernel, ramdisk, memory, vcpus, cmdline, weight, devices, disk, vif, "
             r"on_poweroff, on_reboot, on_crash\)$")
    run.find(r"^\(d0\) oddmem: tern: /tmp/oddmem\.cfg:3: memory: 3 is not an even number of MiB from 2 to 65536$")
    run.find(r"^\(d0\) vcpus: tern: /tmp/vcpus\.cfg:3: vcpus: 2: only 1 vCPU per guest is supported for now$")
    run.find(r"^\(d0\) nokernel: tern: /usr/lib/tern/guests/missing\.elf: cannot open: No such file or directory$")
    run.find(r"^\(d0\) dupname: tern: a domain named sleeper exists \(d1\)$")
    run.find(r"^\(d0\) huge: tern: not enough free memory: 60000 MiB asked, \d+ MiB free$")
    run.find(r"^\(d0\) domains: 2$")   # Dom0 and the sleeper, nothing else


@test
def toolstack_killed_mid_create_leaves_nothing(args):
    """`tern create` killed (SIGKILL) after Tern built and started the
    domain but before it committed it: tern.ko sees /dev/tern closed and
    destroys the provisional domain; nothing is left and the free frames
    are back."""
    send, done = shell(
        "tern info",
        "TERN_TEST_STALL_BEFORE_COMMIT=60 tern create /etc/tern/sleeper.cfg & sleep 4; "
        "echo during: $(tern list | grep -c sleeper); kill -9 $!; sleep 1; echo after: $(tern list | grep -c sleeper)",
        "dmesg | grep -o 'destroyed provisional domain [0-9]*'",
        "tern info")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) during: 1$")
    run.find(r"^\(d0\) after: 0$")
    run.find(r"^\(d0\) destroyed provisional domain 1$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info"):])


@test
def toolstack_console_input_reaches_the_guest(args):
    """`tern console` sends what it reads to the guest: piped lines go
    through TERN_HC_CONSOLE_INPUT into the `echo` guest's console ring,
    which echoes each one and stops at `quit`; the console ends by itself
    when the guest stops."""
    send, done = shell(
        "tern create /etc/tern/echo.cfg",
        "printf 'hello tern\\nsecond line\\nquit\\n' | tern console echo | sed 's/^/console: /'",
        "tern list")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    # The guest's console is its own (not mirrored to the serial port):
    # each line appears once, through `tern console`.
    run.find(r"^\(d0\) console: echo: type a line \(quit to stop\)$")
    run.find(r"^\(d0\) console: echo: hello tern$")
    run.find(r"^\(d0\) console: echo: second line$")
    run.find(r"^\(d0\) console: echo: bye after 2 lines$")
    check(not re.search(r"^\(d1\) echo:", run.log, re.MULTILINE), "the guest's lines were mirrored to the serial port", run)
    run.find(r"^\(d0\) console: \[d1 echo: stopped\]$")
    check("crashed" not in run.log, "a domain crashed", run)


@test
def toolstack_typing_to_a_guest_that_ignores_input_leaves_it_idle(args):
    """Typing into the console of a guest that ignores its input (the
    sleeper, waking once a second) leaves it blocked: the SDK's upcall
    entry acknowledges the console's event, so BLOCK sleeps again (before,
    the sleeper spun at a second of CPU time per second, issue 13)."""
    send, done = shell(
        "tern create /etc/tern/sleeper.cfg",
        "printf 'hello sleeper\\n' | tern console sleeper > /dev/null & sleep 2; kill $!; "
        "tern list | grep sleeper | sed 's/^/before: /'",
        "sleep 4; tern list | grep sleeper | sed 's/^/after: /'")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    row = r" +(\d+) +sleeper +(\w+) +4 +1 +([\d.]+)$"
    before = run.find(rf"^\(d0\) before:{row}")
    after = run.find(rf"^\(d0\) after:{row}")
    spent = float(after.group(3)) - float(before.group(3))
    print(f"    the sleeper's CPU time in the 4 s after the typing: {spent:.1f} s")
    check(after.group(2) == "blocked", f"the sleeper is {after.group(2)} 4 s after the typing", run)
    check(spent < 0.5, f"the sleeper used {spent:.1f} s of CPU in 4 s after the typing", run)
    check("crashed" not in run.log, "a domain crashed", run)


def tagged(tag, command):
    """`command` run with its stdout and stderr kept, then one line
    "TAG: STATUS OUTPUT" (the output's lines joined by spaces)."""
    return f"{command} >/tmp/out 2>&1; echo \"{tag}: $? $(cat /tmp/out)\""


@test
def toolstack_cli_checks_and_one_line_errors(args):
    """`tern`'s checks on the real system, each error one `tern:` line
    with status 1: an unknown command, a usage error, pause of a paused
    guest and unpause of a running one (from the domain's state), a
    negative id, the shell limit of `prepare`, a kernel that is
    /dev/zero, Dom0's static busybox (an x86-64 ET_EXEC without the Tern
    ELF note), a kernel over Tern's image limit, a bad command-line
    setting; `create -n` with settings prints what it would create and
    creates nothing, and refuses a name in use; `--version` names Tern's
    ABI from /dev/tern; `create -c` shows the new guest's console."""
    cfg = lambda name, kernel: f"printf 'name = \"{name}\"\\nkernel = \"{kernel}\"\\n' > /tmp/{name}.cfg"
    send, done = shell(
        "tern create /etc/tern/sleeper.cfg",
        tagged("unknown", "tern foo"),
        tagged("usage", "tern create"),
        tagged("pause1", "tern pause sleeper"),
        tagged("pause2", "tern pause sleeper"),
        tagged("unpause1", "tern unpause sleeper"),
        tagged("unpause2", "tern unpause sleeper"),
        tagged("negative", "tern pause -1"),
        tagged("prepare", "tern prepare 300"),
        cfg("zero", "/dev/zero") + "; " + tagged("zero", "tern create /tmp/zero.cfg"),
        cfg("bb", "/bin/busybox") + "; " + tagged("busybox", "tern create /tmp/bb.cfg"),
        "truncate -s 65M /tmp/big.elf; " + cfg("big", "/tmp/big.elf") + "; "
        + tagged("big", "tern create /tmp/big.cfg"),
        tagged("setting", "tern create /etc/tern/hello.cfg memory=3"),
        tagged("dryrun", "tern create -n /etc/tern/hello.cfg 'name=\"h2\"' memory=8"),
        tagged("dryrun-taken", "tern create -n /etc/tern/sleeper.cfg"),
        "echo h2 listed: $(tern list | grep -c ' h2 ')",
        tagged("version", "tern --version"),
        # Short: a typed line longer than the console's 80 columns wraps, and
        # its wrapped "echo ENDn" could look like the end marker.
        "tern create -c /etc/tern/hello.cfg </dev/null|sed 's/^/c: /'")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) unknown: 1 tern: unknown command 'foo' \(commands: create, list, .*\)$")
    run.find(r"^\(d0\) usage: 1 tern: missing expected argument '<config>' \(see 'tern help create'\)$")
    run.find(r"^\(d0\) pause1: 0 ?$")
    run.find(r"^\(d0\) pause2: 1 tern: d1 sleeper: already paused$")
    run.find(r"^\(d0\) unpause1: 0 ?$")
    run.find(r"^\(d0\) unpause2: 1 tern: d1 sleeper: is not paused \(it is (running|blocked)\)$")
    run.find(r"^\(d0\) negative: 1 tern: -1: no such domain$")
    run.find(r"^\(d0\) prepare: 1 tern: 300 shells: at most 256 can be ready \(of all sizes together\)$")
    run.find(r"^\(d0\) zero: 1 tern: /dev/zero: not a regular file \(a character device\)$")
    run.find(r"^\(d0\) busybox: 1 tern: /bin/busybox: not a Tern guest \(no Tern ELF note\) nor a Linux vmlinux \(no PVH entry note\); docs/porting\.md$")
    run.find(r"^\(d0\) big: 1 tern: /tmp/big\.elf: 65 MiB: larger than the 64 MiB a guest image may be \(TERN_IMAGE_FRAMES_MAX\)$")
    run.find(r"^\(d0\) setting: 1 tern: command line: memory: 3 is not an even number of MiB from 2 to 65536$")
    run.find(rf"^\(d0\) dryrun: 0 would create h2: kernel /usr/lib/tern/guests/hello\.elf \(\d+ KiB, Tern ABI 0\.{ABI_MINOR}\), "
             r"memory 8 MiB, 1 vCPU, weight 256, (no cmdline|cmdline \".*\")$")
    run.find(r"^\(d0\) dryrun-taken: 1 tern: a domain named sleeper exists \(d1\)$")
    run.find(r"^\(d0\) h2 listed: 0$")
    run.find(rf"^\(d0\) version: 0 tern 0\.{ABI_MINOR} \(toolstack\), Tern ABI 0\.{ABI_MINOR}$")
    run.find(r"^\(d0\) c: 2$")
    run.find(r"^\(d0\) c: hello from a Tern guest: domain 2")
    run.find(r"^\(d0\) c: \[d2 hello: (stopped|no longer running)\]$")
    check("crashed" not in run.log, "a domain crashed", run)


# What `tern logd` said (its life-cycle lines in Dom0's kernel log), one
# "logd: ..." line each.
LOGD_LINES = "dmesg | grep 'tern logd:' | sed 's/.*tern logd/logd/'"

# A shell function for typed lines under 80 columns: `t TAG COMMAND...`
# prints "TAG: STATUS OUTPUT", as tagged() does.
TAG_FUNCTION = "t(){ n=$1;shift;\"$@\">/tmp/o 2>&1;echo \"$n: $? $(cat /tmp/o)\";}"


@test
def toolstack_crash_kept_shown_and_restarted(args):
    """on_crash from Dom0's shell. A guest that reads outside its memory
    (hostile mode=badmem) with on_crash="preserve" is kept crashed: `tern
    list` shows it, `list -l` and `info` say bad_access, a shutdown of it
    is refused, logd says it left it. With on_crash="restart", logd
    creates it again under the same name from the config `tern create`
    saved (its relative kernel path made absolute) until the crash-loop
    guard leaves it crashed after 5 restarts. Both destroyed at the end:
    every frame back."""
    send, done = shell(
        "tern info",
        TAG_FUNCTION,
        "cp /usr/lib/tern/guests/hostile.elf /tmp/",
        "echo 'kernel = \"hostile.elf\"' > /tmp/h.cfg",
        "echo 'cmdline = \"mode=badmem\"' >> /tmp/h.cfg",
        "echo 'on_crash = \"preserve\"' >> /tmp/h.cfg",
        "(cd /tmp; tern create h.cfg 'name=\"keep\"'); echo create: $?",
        "sleep 2; tern list | grep ' keep '",
        "tern list -l | grep ' keep '",
        "tern info keep",
        "t again tern shutdown keep",
        "(cd /tmp;tern create h.cfg 'name=\"loop\"' 'on_crash=\"restart\"')",
        "sleep 8; " + LOGD_LINES,
        "grep kernel /var/lib/tern/loop.cfg",
        "tern list | grep ' loop '",
        "tern destroy keep; tern destroy loop",
        "echo left: $(tern list | grep -c -E ' (keep|loop) ')",
        "tern info")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    keep = run.find(r"^\(d0\) +(\d+) +keep +crashed +4 +1 +[\d.]+$").group(1)
    # The create itself says the guest crashed in its first instructions.
    run.find(rf"^\(d0\) tern: d{keep} keep crashed at once: nested page fault: .*\(outside its memory\) "
             r"\(on_crash = \"preserve\"; its output: tern console keep\)$")
    run.find(r"^\(d0\) create: 1$")
    run.find(rf"^\(tern\) d{keep} keep: kept crashed \(access outside its memory\) until destroyed$")
    run.find(r"^\(d0\) +\d+ +keep +crashed +4 +1 +[\d.]+ +256 +[\d.]+ +bad_access +-$")
    run.find(rf"^\(d0\) domain: d{keep} keep\n\(d0\) state: crashed\n"
             r"\(d0\) stopped: bad_access \(it touched memory outside its own\), [\d.]+ s ago$")
    run.find(rf"^\(d0\) again: 1 tern: d{keep} keep: has stopped \(it is crashed; `tern destroy keep` ends it\)$")
    run.find(rf"^\(d0\) logd: d{keep} keep: crashed \(bad_access\), on_crash=preserve: left crashed \(`tern destroy keep` ends it\)$")
    restarts = re.findall(r"^\(d0\) logd: d(\d+) loop: crashed \(bad_access\), on_crash=restart: restarted as d(\d+)$",
                          run.log, re.MULTILINE)
    check(len(restarts) == 5, f"logd restarted loop {len(restarts)} times, not 5", run)
    created = re.findall(r"^\(tern\) d\d+ loop: created", run.log, re.MULTILINE)
    check(len(created) == 6, f"loop was created {len(created)} times, not 6 (once, then 5 restarts)", run)
    loop = run.find(r"^\(d0\) logd: d(\d+) loop: crashed \(bad_access\), on_crash=restart: restarted 5 times in 60 s already, "
                    r"so left crashed \(`tern destroy loop` ends it\)$").group(1)
    run.find(rf"^\(d0\) +{loop} +loop +crashed +4 +1 +[\d.]+$")
    run.find(r"^\(d0\) kernel = \"/tmp/hostile\.elf\"$")
    run.find(r"^\(d0\) left: 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info"):])


@test
def toolstack_shutdown_reboot_and_weights(args):
    """Asking guests to stop, from Dom0's shell: `tern shutdown -w` of the
    sleeper (an SDK guest: it hears TERN_VIRQ_SHUTDOWN and powers off
    itself); `tern reboot -w` of it, and logd brings it back under the
    same name (on_reboot's default, restart); a guest that never takes an
    event (the spinner) does not act: `shutdown -w --timeout 3` gives up
    saying so, and `list -l` shows the request pending; `shutdown -f`
    stops one at once, kept with on_poweroff="preserve"; `sched-credit`
    lists the weights and sets Dom0's and a guest's, and refuses a
    stopped one's."""
    send, done = shell(
        TAG_FUNCTION,
        "tern create /etc/tern/sleeper.cfg",
        "t down tern shutdown -w sleeper",
        "echo left: $(tern list | grep -c sleeper)",
        "tern create /etc/tern/sleeper.cfg",
        "t reboot tern reboot -w sleeper",
        "sleep 2; tern list | grep sleeper",
        "echo 'kernel = \"/usr/lib/tern/guests/spinner.elf\"' >/tmp/s.cfg",
        "tern create /tmp/s.cfg 'name=\"spin\"'",
        "t spin tern shutdown -w --timeout 3 spin",
        "tern list -l | grep spin; tern destroy spin",
        "P='on_poweroff=\"preserve\"'",
        "tern create /etc/tern/sleeper.cfg 'name=\"nap\"' \"$P\"",
        "t force tern shutdown -f nap",
        "sleep 1; tern list | grep nap",
        "tern info nap | grep stopped",
        "tern sched-credit",
        "tern sched-credit -d 0 -w 512",
        "tern sched-credit -d sleeper -w 100",
        "t stopped tern sched-credit -d nap -w 5",
        "tern list -l | grep -E 'dom0|sleeper'",
        "tern destroy nap; tern destroy sleeper",
        LOGD_LINES)
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    # The graceful shutdown: the guest powered off itself.
    run.find(r"^\(d0\) down: 0 d1 sleeper: stopped$")
    run.find(r"^\(tern\) d1 sleeper: shut down \(poweroff\)$")
    check("d1 sleeper: shut down by the toolstack" not in run.log, "the sleeper was stopped, not asked", run)
    run.find(r"^\(d0\) left: 0$")
    # The reboot: kept for logd, which creates it again.
    run.find(r"^\(d0\) reboot: 0 d1 sleeper: stopped( \(reboot\), kept shutdown)?$")
    run.find(r"^\(tern\) d1 sleeper: kept shutdown \(reboot\) until destroyed$")
    run.find(r"^\(d0\) logd: d1 sleeper: shutdown \(reboot\), on_reboot=restart: restarted as d1$")
    run.find(r"^\(d0\) +1 +sleeper +(running|blocked) +4 +1 +[\d.]+$")
    # The spinner never hears the request.
    spin = run.find(r"^\(d0\) spin: 1 tern: d(\d+) spin: still running 3 s after the request \(it may not act on it\); "
                    r"`tern destroy spin` stops it now$").group(1)
    run.find(rf"^\(d0\) +{spin} +spin +running +4 +1 +[\d.]+ +256 +[\d.]+ +- +poweroff$")
    # Forced, and kept by on_poweroff="preserve".
    run.find(r"^\(d0\) force: 0 ?$")
    nap = run.find(r"^\(tern\) d(\d+) nap: shut down by the toolstack$").group(1)
    run.find(rf"^\(d0\) +{nap} +nap +shutdown +4 +1 +[\d.]+$")
    run.find(r"^\(d0\) stopped: poweroff \(it powered off, or was shut down by the toolstack\), [\d.]+ s ago$")
    run.find(rf"^\(d0\) logd: d{nap} nap: shutdown \(poweroff\), on_poweroff=preserve: left shutdown \(`tern destroy nap` ends it\)$")
    # Weights.
    run.find(r"^\(d0\) +ID +Name +Weight\n\(d0\) +0 +dom0 +256\n\(d0\) +1 +sleeper +256$")
    run.find(r"^\(d0\) +0 +dom0 +512$")
    run.find(r"^\(d0\) +1 +sleeper +100$")
    run.find(rf"^\(d0\) stopped: 1 tern: d{nap} nap: has stopped \(it is shutdown; `tern destroy nap` ends it\)$")
    run.find(r"^\(d0\) +0 +dom0 +running +\d+ +1 +[\d.]+ +512 +[\d.]+ +- +-$")
    run.find(r"^\(d0\) +1 +sleeper +(running|blocked) +4 +1 +[\d.]+ +100 +[\d.]+ +- +-$")
    check("crashed" not in run.log, "a domain crashed", run)


@test
def toolstack_a_guests_memory_never_reaches_the_next(args):
    """What a guest leaves in its memory never reaches a later guest:
    `hostile mode=scribble` (448 MiB, most of the free memory) fills its
    free memory with a marker and powers off; `mode=leakcheck` created
    right after gets most of the same frames back (Tern zeroes them at its
    build) and finds no word that is not zero; a second round after a
    pause finds nothing either. The frames come back."""
    send, done = shell(
        "tern info | grep memory",
        "H=/tmp/h.cfg; printf 'kernel = \"%s\"\\n' /usr/lib/tern/guests/hostile.elf > $H",
        "w(){ while tern list | grep -q \" $1 \"; do sleep 1; done; }",
        "tern create $H 'name=\"s1\"' memory=448 'cmdline=\"mode=scribble\"'; w s1",
        "tern create $H 'name=\"a\"' memory=448 'cmdline=\"mode=leakcheck\"'; w a",
        "tern create $H 'name=\"s2\"' memory=448 'cmdline=\"mode=scribble\"'; w s2",
        "sleep 5; tern create $H 'name=\"b\"' memory=448 'cmdline=\"mode=leakcheck\"'; w b",
        "for g in s1 a s2 b; do tern console $g </dev/null | sed \"s/^/$g: /\"; done",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=400, send=send)
    for name in ("s1", "s2"):
        run.find(rf"^\(d0\) {name}: hostile: scribbled 4\d\d MiB of free memory with the marker$")
    for name in ("a", "b"):
        run.find(rf"^\(d0\) {name}: hostile: leakcheck: 4\d\d MiB of free memory, 0 words not zero, 0 with the marker$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
    check("crashed" not in run.log, "a domain crashed", run)
