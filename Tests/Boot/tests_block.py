"""Boot tests of guest disks (issue 17, docs/blockback.md): `disk = [...]`
in a guest config, the block backend `tern create` starts in Dom0, the
PV guest SDK's frontend (Guests/disk) and what a bad config gets."""
import re

from common import check, check_tern_info_frames_back, dom0_command, shell, test
from qemu import boot

# Dom0 shell helpers: an image of $2 MiB at /var/lib/tern/disks/$1.img
# (sparse); w NAME: until NAME is no longer listed (at most 3 minutes).
MK_DEF = "mk(){ dd if=/dev/zero of=/var/lib/tern/disks/$1.img bs=1M count=0 seek=$2 2>/dev/null; }"
WAIT_GONE_DEF = "w(){ for n in $(seq 180); do tern list | grep -q \" $1 \" || break; sleep 1; done; }"
# D NAME MODE DISK-SPEC: a config for the disk guest in /tmp/NAME.cfg.
CFG_DEF = ("D(){ printf 'name = \"%s\"\\nkernel = \"/usr/lib/tern/guests/disk.elf\"\\n"
           "memory = 8\\ncmdline = \"%s\"\\ndisk = [ \"%s\" ]\\n' $1 \"$2\" \"$3\" > /tmp/$1.cfg; }")


@test
def block_pv_guest_disk_keeps_what_it_wrote(args):
    """A PV guest with `disk = [ "/var/lib/tern/disks/a.img,xvda,rw" ]`:
    `tern create` starts its backend, the guest's frontend connects (the
    backend offers flush, discard and persistent grants), writes 200 runs
    of 1-88 sectors at random places of the first 4096 (crossing page and
    11-segment boundaries), reads each back, flushes, and reads every
    sector again. Destroyed and created again with `mode=verify`, the new
    guest finds the same bytes. The backend logs its connection and its
    end; every frame comes back."""
    send, done = shell(
        "tern info | grep memory",
        MK_DEF, WAIT_GONE_DEF, CFG_DEF,
        "mk a 16; D a mode=pattern /var/lib/tern/disks/a.img,xvda,rw",
        "tern create /tmp/a.cfg; w a",
        "tern create /tmp/a.cfg 'name=\"b\"' 'cmdline=\"mode=verify\"'; w b",
        "tern console a </dev/null | sed 's/^/a: /'; tern console b </dev/null | sed 's/^/b: /'",
        "sleep 2; dmesg | grep tern-blkback",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) a: disk: xvda connected: 32768 sectors of 512 bytes, read-write, features 11$")
    run.find(r"^\(d0\) a: disk: 200 writes of 1-88 sectors \(\d+ in all\) read back equal; flushed$")
    written = int(run.find(r"^\(d0\) a: disk: (\d+) sectors hold what was written last$").group(1))
    run.find(r"^\(d0\) a: disk: passed$")
    again = int(run.find(r"^\(d0\) b: disk: (\d+) sectors hold what was written last$").group(1))
    check(written == again and written > 1000, f"the first guest checked {written} sectors, the second {again}", run)
    run.find(r"^\(d0\) b: disk: passed$")
    for d in re.findall(r"^\(tern\) d(\d+) [ab]: created", run.log, re.MULTILINE):
        run.find(rf"^\(d0\) \[ *[\d.]+\] tern-blkback d{d}/xvda: connected: /var/lib/tern/disks/a\.img read-write, 32768 sectors, 32 slots, persistent grants$")
        run.find(rf"^\(d0\) \[ *[\d.]+\] tern-blkback d{d}/xvda: guest gone: \d+ requests served$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
    check("crash" not in run.log, "a domain crashed", run)


@test
def block_read_only_disk_and_bad_disks_are_refused(args):
    """A read-only disk (`,ro`): the guest's write is refused (EIO), its
    reads work and the image is unchanged; the backend logs the refusal.
    `tern create` names the problem of a bad disk and leaves no domain:
    a missing image, an image in use read-write by a running guest (asked
    for read-only by another), and a config error (bad vdev) with its
    file, line and key."""
    send, done = shell(
        "tern info | grep memory",
        MK_DEF, WAIT_GONE_DEF, CFG_DEF,
        "mk r 4; mk busy 4; D ro mode=readonly /var/lib/tern/disks/r.img,xvda,ro",
        "tern create /tmp/ro.cfg; w ro; tern console ro </dev/null | sed 's/^/ro: /'",
        "D gone mode=pattern /var/lib/tern/disks/none.img,xvda,rw; tern create /tmp/gone.cfg; echo rc=$?",
        "D hold 'mode=pattern rounds=100000' /var/lib/tern/disks/busy.img,xvda,rw; tern create /tmp/hold.cfg",
        "D two mode=readonly /var/lib/tern/disks/busy.img,xvda,ro; tern create /tmp/two.cfg; echo rc=$?",
        "tern destroy hold; w hold",
        "D bad mode=pattern /var/lib/tern/disks/r.img,sda,rw; tern create /tmp/bad.cfg; echo rc=$?",
        "tern list | grep -c -E ' (gone|two|bad) '",
        "sleep 2; dmesg | grep tern-blkback",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=False)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) ro: disk: xvda connected: 8192 sectors of 512 bytes, read-only, features 9$")
    run.find(r"^\(d0\) ro: disk: write refused: -5$")
    run.find(r"^\(d0\) ro: disk: read-only disk unchanged: true$")
    run.find(r"^\(d0\) ro: disk: passed$")
    run.find(r"^\(d0\) tern: gone: disk xvda: /var/lib/tern/disks/none\.img: No such file or directory$")
    run.find(r"^\(d0\) tern: two: disk xvda: /var/lib/tern/disks/busy\.img is in use read-write by another guest's disk$")
    run.find(r"^\(d0\) tern: /tmp/bad\.cfg:5: disk: vdev \"sda\" is not xvda\.\.xvdz$")
    check(len(re.findall(r"^\(d0\) rc=1$", run.log, re.MULTILINE)) == 3, "a bad disk's create did not fail", run)
    run.find(r"^\(d0\) 0$")   # none of them listed
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-blkback d\d+/xvda: request \d+ refused: operation 1 on a read-only disk$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
