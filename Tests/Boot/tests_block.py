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
        run.find(rf"^\(d0\) \[ *[\d.]+\] tern-blkback d{d}/xvda: connected: /var/lib/tern/disks/a\.img read-write, 32768 sectors, 32 slots, persistent grants, "
                 r"buffered I/O \(no direct I/O on this file: Invalid argument\)$")   # (/var/lib/tern is Dom0's tmpfs here)
        run.find(rf"^\(d0\) \[ *[\d.]+\] tern-blkback d{d}/xvda: guest gone: \d+ requests served, 0 refused$")
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
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-blkback d\d+/xvda: request \d+ refused: operation 1 on a read-only disk \(this disk's further refused requests are counted, not logged\)$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


@test
def block_backend_killed_mid_run_is_restarted(args):
    """The serving process of a disk killed (SIGKILL) while its guest
    writes and reads back 20,000 runs: its supervisor starts it again, the
    new one re-attaches to the ring where the answers stopped (requests in
    flight are taken again), and the guest finishes with every sector
    right, never having noticed. Every frame comes back; no backend
    process is left."""
    send, done = shell(
        "tern info | grep memory",
        MK_DEF, WAIT_GONE_DEF, CFG_DEF,
        "mk k 16; D k 'mode=pattern rounds=20000' /var/lib/tern/disks/k.img,xvda,rw",
        "tern create /tmp/k.cfg; sleep 3",
        "kill -9 $(ps | grep event-f[d] | awk '{print $1}'); sleep 2; ps | grep -c block-backen[d]",
        "w k; tern console k </dev/null | sed 's/^/k: /'",
        "sleep 2; dmesg | grep tern-blkback; ps | grep -c block-backen[d]",
        "tern info | grep memory")
    # (On the data disk's ext4: the direct, asynchronous path.)
    command, _ = dom0_command(args, devices=False, data_disk=True)
    run = boot(command, done, timeout=400, send=send)
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-blkback d\d+/xvda: the backend died \(signal 9\): starting it again; requests in flight are taken again$")
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-blkback d\d+/xvda: connected: .*, direct asynchronous I/O, re-attached at response \d+$")
    run.find(r"^\(d0\) k: disk: 20000 writes of 1-88 sectors \(\d+ in all\) read back equal; flushed$")
    run.find(r"^\(d0\) k: disk: passed$")
    after = run.log[run.log.index("dmesg | grep tern-blkback"):]
    check(re.search(r"^\(d0\) 0$", after, re.MULTILINE), "a block backend process is left", run)
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


@test
def block_hostile_frontends_hurt_only_their_own_disk(args):
    """While a victim guest writes and reads back 3,000 runs on its disk,
    hostile frontends (Guests/disk, BlockAttacks.swift) take turns:
    18 malformed requests (zero or 12 segments, sectors past the disk,
    wrapping, reversed or past the page, refs not granted, Tern's or
    read-only for a read, operations not offered; INDIRECT ones with no
    segments or too many, an indirect page not granted, a flush inside,
    a reversed segment in the indirect page), each refused with a whole
    response while the disk keeps working (a good INDIRECT read works),
    and logged once for that disk; req_prod moved 1,000 past the ring (the backend closes that disk,
    RING_BROKEN, one line); 20,000 notifications; a guest that crashes
    with 8 writes in flight; a guest that keeps rewriting each of 200
    published writes in the ring until it is answered (a double fetch:
    each answer whole, OK or ERROR, and nothing written past the disk,
    whose image keeps its size). The victim passes, Tern and Dom0 carry
    on, no backend process is left and every frame comes back."""
    send, done = shell(
        "tern info | grep memory",
        MK_DEF, WAIT_GONE_DEF, CFG_DEF,
        "for d in v h1 h2 h3 h4 h5; do mk $d 16; done",
        "D v 'mode=pattern rounds=3000' /var/lib/tern/disks/v.img,xvda,rw; tern create /tmp/v.cfg",
        "D h1 mode=badrequests /var/lib/tern/disks/h1.img,xvda,rw; tern create /tmp/h1.cfg; w h1",
        "D h2 mode=ringindex /var/lib/tern/disks/h2.img,xvda,rw; tern create /tmp/h2.cfg; w h2",
        "D h3 'mode=storm count=20000' /var/lib/tern/disks/h3.img,xvda,rw; tern create /tmp/h3.cfg; w h3",
        "D h4 mode=vanish /var/lib/tern/disks/h4.img,xvda,rw; tern create /tmp/h4.cfg; w h4",
        "D h5 'mode=doublefetch rounds=200' /var/lib/tern/disks/h5.img,xvda,rw; tern create /tmp/h5.cfg; w h5",
        "echo h5 image bytes $(wc -c < /var/lib/tern/disks/h5.img)",
        "w v; for g in v h1 h2 h3 h4 h5; do tern console $g </dev/null | sed \"s/^/$g: /\"; done",
        "sleep 3; dmesg | grep tern-blkback; ps | grep -c block-backen[d]",
        "tern list",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=False, data_disk=True)   # (the direct, asynchronous path)
    run = boot(command, done, timeout=400, send=send)
    ids = {m.group(2): m.group(1) for m in re.finditer(r"^\(tern\) d(\d+) (v|h\d): created", run.log, re.MULTILINE)}
    # Rewritten after publishing: every answer whole (OK or ERROR), and
    # nothing written past the disk (the 16 MiB image did not grow).
    fetched = run.find(r"^\(d0\) h5: disk: double fetch: 200 writes rewritten after publishing \(\d+ rewrites\): "
                       r"(\d+) as sent, (\d+) refused, (\d+) under a late rewrite; a read works$")
    # (About a third of the answers lie under the guest's own late rewrite:
    # 70 and 77 of 200 in two CIs. A quarter read whole is asked for.)
    check(int(fetched.group(1)) + int(fetched.group(2)) >= 50, "fewer than a quarter of the rewritten writes' answers were read", run)
    print(f"    double fetch: {fetched.group(1)} done as sent, {fetched.group(2)} refused, {fetched.group(3)} answers under a late rewrite")
    run.find(r"^\(d0\) h5: disk: passed$")
    run.find(r"^\(d0\) h5 image bytes 16777216$")
    run.find(r"^\(d0\) v: disk: 3000 writes of 1-88 sectors \(\d+ in all\) read back equal; flushed$")
    run.find(r"^\(d0\) v: disk: passed$")
    run.find(r"^\(d0\) h1: disk: 18 malformed requests refused one by one, each response whole; a good indirect read works; the disk still works$")
    run.find(r"^\(d0\) h1: disk: passed$")
    # (Domain ids are reused: h1's lines are those between its backend's
    # connection and its end.)
    start = run.find(r"^\(d0\) \[ *[\d.]+\] tern-blkback d\d+/xvda: connected: /var/lib/tern/disks/h1\.img ").end()
    end = run.find(rf"^\(d0\) \[ *[\d.]+\] tern-blkback d{ids['h1']}/xvda: guest gone: \d+ requests served, 18 refused$").start()
    refused = re.findall(rf"^\(d0\) \[ *[\d.]+\] tern-blkback d{ids['h1']}/xvda: request \d+ refused: .*$", run.log[start:end], re.MULTILINE)
    check(len(refused) == 1, f"the malformed requests' disk logged {len(refused)} refusal lines, not one", run)
    run.find(r"^\(d0\) h2: disk: ring index 1000 ahead: backend closed the disk: true, error 5$")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-blkback d{ids['h2']}/xvda: device closed: ring broken: req_prod \d+ with \d+ requests taken, \d+ answered, 32 slots$")
    run.find(r"^\(d0\) h3: disk: 20000 notifications sent; a read after them works$")
    run.find(r"^\(d0\) h4: disk: 8 writes published; crashing before their answers$")
    run.find(rf"^\(tern\) d{ids['h4']} h4: shut down \(crash\)$")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-blkback d{ids['v']}/xvda: guest gone: \d+ requests served, 0 refused$")
    after = run.log[run.log.index("dmesg | grep tern-blkback"):]
    check(re.search(r"^\(d0\) 0$", after, re.MULTILINE), "a block backend process is left", run)
    run.find(r"^\(d0\) +0 +dom0 +running ")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


# A Linux guest with a scratch disk (xvda) and the tools disk (xvdb: mkfs,
# fsck, disk-test, tern-diskbench; Guests/linux/build-tools-disk.sh).
TOOLS_IMG = "/var/lib/tern/linux/tools.img"


# C NAME 'CMD' MARKER [SECONDS]: types CMD into NAME's shell and prints its
# output lines that start with MARKER once it is done (it prints
# MARKER-done after), read from `tern logd`'s file of NAME's console (at
# most 10 minutes: a disk test takes a while under TCG); it looks once a
# second, after SECONDS of quiet (a benchmark's own length: Dom0 runs
# nothing meanwhile). The marker is typed as MARKER-do""ne: the shell's
# echo of the typed line, wrapped at 80 columns, could otherwise start a
# line with MARKER-done before the command ran.
RUN_DEF = ("C(){ n=$(wc -l </var/log/tern/$1.log); (printf '%s; echo %s-do\"\"ne\\n' \"$2\" \"$3\""
           "|timeout 2 tern console $1 >/dev/null) 2>/dev/null; sleep ${4:-0}; for i in $(seq 600); do tail -n +$((n+1)) /var/log/tern/$1.log"
           "|grep -q \"^$3-done\" && break; sleep 1; done; tail -n +$((n+1)) /var/log/tern/$1.log|grep \"^$3\"|grep -v -- -done; }")


def linux_with_disk(name, image):
    """`tern create` of linux.cfg named `name` with `image` as xvda and the
    tools disk as xvdb (read-only)."""
    return (f"tern create /etc/tern/linux.cfg 'name=\"{name}\"' "
            f"'disk=[\"{image},xvda,rw\",\"{TOOLS_IMG},xvdb,ro\"]'")


@test
def block_linux_guest_ext4_survives_a_new_guest(args):
    """A Linux guest (tern_blkfront.ko) with a 64 MiB scratch disk: it
    runs `mkfs.ext4 /dev/xvda`, mounts it, writes four files (random data,
    an odd size, a copy of busybox, a note), syncs and unmounts; then 40
    writes of 1-300 sectors at random places of the raw disk (crossing
    pages and 44 KiB requests), each read back after dropping the caches.
    The guest is destroyed; a new one on the same image finds `fsck.ext4
    -fn` clean and every checksum matching. Every frame comes back."""
    from tests_linux_guest import WAIT_DEF
    send, done = shell(
        "tern info | grep memory",
        MK_DEF, WAIT_DEF, RUN_DEF,
        "mk l 64; " + linux_with_disk("l1", "/var/lib/tern/disks/l.img") + "; w l1",
        "C l1 'mkdir /tools; mount -o ro /dev/xvdb /tools' disktest",
        "C l1 '/tools/bin/disk-test write' disktest",
        "C l1 '/tools/bin/disk-test random 40' disktest",
        "C l1 '/tools/bin/disk-test write' disktest",
        "tern destroy l1; " + linux_with_disk("l2", "/var/lib/tern/disks/l.img") + "; w l2",
        "C l2 'mkdir /tools; mount -o ro /dev/xvdb /tools' disktest",
        "C l2 '/tools/bin/disk-test check' disktest",
        "C l2 'echo disktest: xvda $(cat /sys/block/xvda/size) xvdb ro $(cat /sys/block/xvdb/ro)' disktest",
        "C l2 'dmesg | grep \"tern-blkfront: xvda: ring\" | sed \"s/^/disktest: /\"' disktest",
        "tern destroy l2; sleep 2; dmesg | grep tern-blkback",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=False, data_disk=True)
    run = boot(command, done, timeout=600, send=send)
    run.find(r"^\(d0\) disktest: wrote 4 files, \d+ KiB$")
    run.find(r"^\(d0\) disktest: unmounted$")
    run.find(r"^\(d0\) disktest: random: 40 writes of 1-300 sectors read back, 0 differ$")
    run.find(r"^\(d0\) disktest: fsck status 0 \(.*\)$")
    run.find(r"^\(d0\) disktest: checksums match: 4 files$")
    run.find(r"^\(d0\) disktest: xvda 131072 xvdb ro 1$")   # 64 MiB in 512-byte sectors; the tools disk read-only
    # Requests above 11 pages go as INDIRECT ones (blkfront's max_indirect_segments).
    run.find(r"^\(d0\) disktest: .*tern-blkfront: xvda: ring of 1 page \(ref \d+\) granted to d0, persistent grants, "
             r"requests of up to 32 pages \(indirect\), READY on port \d+$")
    # Its disks are files on the data disk's ext4: direct I/O.
    check(len(re.findall(r"tern-blkback d\d+/xvda: connected: .*, direct asynchronous I/O$", run.log, re.MULTILINE)) == 2,
          "the two guests' xvda backends did not both do direct asynchronous I/O", run)
    check(len(re.findall(r"tern-blkback d\d+/xvda: guest gone: \d+ requests served, 0 refused$", run.log, re.MULTILINE)) == 2,
          "the two guests' xvda backends did not both end cleanly", run)
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
    check("crashed" not in run.log, "a domain crashed", run)


# X NAME VDEV: in NAME's shell, until /sys/block/VDEV exists (at most 10 s).
APPEARS = "for i in $(seq 50); do [ -e /sys/block/{vdev} ] && break; sleep 0.2; done"


@test
def block_attach_and_detach_under_load(args):
    """`tern block-attach` gives a running Linux guest a third disk
    (xvdc): it appears, `block-list` shows it connected, and random writes
    read back on it. With a writer looping on it (dd, fsync each round),
    `tern block-detach` ends cleanly: the backend answers what it took,
    logs `detached`, the disk leaves the guest, the writer ends with an
    I/O error instead of hanging, and the guest's other disks keep
    working. The image is free again: attached a second time it works,
    and is detached idle. Bad attaches and detaches are refused with a
    reason; the saved config follows. Five more disks fill the guest's
    seven device slots; an eighth is refused, saying so. Afterwards (the
    guest destroyed with seven disks) no backend process or record is left
    and every frame comes back."""
    from tests_linux_guest import WAIT_DEF
    disks = "/var/lib/tern/disks"
    appears = APPEARS.format(vdev="xvdc")
    send, done = shell(
        "tern info | grep memory",
        MK_DEF, WAIT_DEF, RUN_DEF,
        f"mk l 64; mk x 40; " + linux_with_disk("l1", f"{disks}/l.img") + "; w l1",
        "C l1 'mkdir /tools; mount -o ro /dev/xvdb /tools' disktest",
        f"tern block-attach l1 {disks}/x.img,xvdc,rw; echo attach status $?",
        f"C l1 '{appears}; DISK=/dev/xvdc /tools/bin/disk-test random 10' disktest",
        "tern block-list l1; grep disk /var/lib/tern/l1.cfg",
        # Refused, each with its reason.
        f"tern block-attach l1 {disks}/x.img xvdd rw; tern block-attach l1 {disks}/y.img,xvdc; "
        f"tern block-attach l1 /nonexistent.img,xvdd; tern block-attach 0 {disks}/x.img,xvdd; tern block-detach l1 xvdq; "
        "echo refusals done",
        # The load: 4 MiB writes, each fsync'ed, until one fails.
        # (In braces: C appends "; echo ...", which may not follow a "&".)
        "C l1 '{ (n=0; while dd if=/dev/zero of=/dev/xvdc bs=64k count=64 conv=fsync 2>/tmp/dd.err; do n=$((n+1)); done; "
        "echo \"disktest: load ended after $n rounds: $(tail -n 1 /tmp/dd.err)\" >/tmp/load) & }' disktest",
        "sleep 5; tern block-detach l1 xvdc; echo detach status $?; tern block-list l1; grep disk /var/lib/tern/l1.cfg",
        "C l1 'for i in $(seq 50); do [ -e /tmp/load ] && break; sleep 0.2; done; cat /tmp/load; "
        "echo disktest: xvdc $(ls /sys/block | grep -c xvdc); /tools/bin/disk-test random 5; md5sum /tools/bin/disk-test' disktest",
        f"tern block-attach l1 {disks}/x.img,xvdc,rw; echo attach status $?",
        f"C l1 '{appears}; DISK=/dev/xvdc /tools/bin/disk-test random 5' disktest",
        "tern block-detach l1 2; echo detach status $?",
        # Seven device slots: five more disks fill them, an eighth is refused.
        "for v in c d e f g; do mk $v 1; tern block-attach l1 /var/lib/tern/disks/$v.img,xvd$v; done; "
        "mk h 1; tern block-attach l1 /var/lib/tern/disks/h.img,xvdh; echo eighth status $?; echo attached $(tern block-list l1 | grep -c '^l1 ')",
        "tern destroy l1; sleep 2; dmesg | grep tern-blkback",
        "echo backends $(ps | grep -c block-backen[d]) records $(ls /run/tern/disks | wc -l)",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=False, data_disk=True)
    run = boot(command, done, timeout=700, send=send)
    run.find(r"^\(d0\) attach status 0$")
    run.find(r"^\(d0\) disktest: random: 10 writes of 1-300 sectors read back, 0 differ$")
    run.find(rf"^\(d0\) l1 +xvda +rw +\d+ +connected +{disks}/l\.img$")
    run.find(rf"^\(d0\) l1 +xvdc +rw +\d+ +connected +{disks}/x\.img$")
    run.find(rf'^\(d0\) disk = \[ "{disks}/l\.img,xvda,rw", "/var/lib/tern/linux/tools\.img,xvdb,ro", "{disks}/x\.img,xvdc,rw" \]$')
    run.find(rf"^\(d0\) tern: d\d+ l1: {disks}/x\.img is already its xvdc$")
    run.find(r"^\(d0\) tern: d\d+ l1: xvdc is already attached \(/var/lib/tern/disks/x\.img\)$")
    run.find(r"^\(d0\) tern: l1: disk xvdd: /nonexistent\.img: .*$")
    run.find(r"^\(d0\) tern: d0 dom0: Dom0 has its own disks; block-attach gives a guest one$")
    run.find(r"^\(d0\) tern: d\d+ l1: no disk xvdq attached \(its disks: xvda, xvdb\, xvdc\)$")
    # Detached under load: the backend answered what it had taken.
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-blkback d\d+/xvdc: detaching: answering the requests taken, taking no more$")
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-blkback d\d+/xvdc: detached: \d+ requests served, 0 refused$")
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-blkback d\d+/xvdc: removed from the guest$")
    # block-list and the saved config after it: xvda and xvdb.
    listed = run.log[run.log.index("detach status 0"):]
    listed = listed[:listed.index("disk = [")]
    check(re.search(r"^\(d0\) l1 +xvdb +ro ", listed, re.MULTILINE) and not re.search(r" xvdc ", listed),
          "block-list after the detach is not xvda and xvdb", run)
    run.find(rf'^\(d0\) disk = \[ "{disks}/l\.img,xvda,rw", "/var/lib/tern/linux/tools\.img,xvdb,ro" \]$')
    loaded = run.find(r"^\(d0\) disktest: load ended after (\d+) rounds: .*(Input/output error|No such device).*$")
    check(int(loaded.group(1)) >= 1, "the writer did no round before the detach", run)
    run.find(r"^\(d0\) disktest: xvdc 0$")
    run.find(r"^\(d0\) disktest: random: 5 writes of 1-300 sectors read back, 0 differ$")
    # Attached again (the image unlocked), used, detached idle.
    check(len(re.findall(r"^\(d0\) attach status 0$", run.log, re.MULTILINE)) == 2, "the second attach failed", run)
    check(len(re.findall(r"^\(d0\) disktest: random: 5 writes of 1-300 sectors read back, 0 differ$", run.log, re.MULTILINE)) == 2,
          "the disk attached again did not work", run)
    run.find(r"^\(d0\) detach status 0$")
    check(len(re.findall(r"tern-blkback d\d+/xvdc: detached: ", run.log)) == 2, "the second detach did not end its backend", run)
    run.find(r"^\(d0\) tern: l1: disk xvdh: cannot add the disk to the guest: no free device slot \(a guest has 7 for disks and interfaces\)$")
    run.find(r"^\(d0\) eighth status 1$")
    run.find(r"^\(d0\) attached 7$")
    run.find(r"^\(d0\) backends 0 records 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
    check("crashed" not in run.log, "a domain crashed", run)
