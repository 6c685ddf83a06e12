"""Boot tests of guests beside each other: hello (ABI, memory back),
scheduling (tickers, a spinner, a sleeper), hostile guests and timer
attacks."""
import re

from common import ABI_MINOR, NO_GUESTS_LEFT, check, check_frames_back, domain_ids, modules, test
from qemu import boot, qemu_command


@test
def guest_hello_abi_and_memory_back(args):
    """A guest runs, sees the ABI version, the CPUID signature and its own
    domain info, shuts down, and every frame it had comes back."""
    run = boot(qemu_command(elf=args.elf, extra=modules("hello name=hello mem=4M")), NO_GUESTS_LEFT)
    d = domain_ids(run)["hello"]
    run.find(rf"^\(d{d}\) hello from a Tern guest: domain {d}, 4 MiB, ABI version {ABI_MINOR}$")
    run.find(rf"^\(d{d}\) start info: console hypercall\+device, free from \d+$")
    run.find(rf"^\(d{d}\) cpuid: signature Tern, hypervisor bit 1, SVM hidden: true$")
    run.find(rf"^\(d{d}\) domain info: status 0, id {d}, 4 MiB, state 2$")
    run.find(rf"^\(d{d}\) control calls: domain list -1, log read -1$")
    run.find(rf"^\(tern\) d{d} hello: shut down \(poweroff\)$")
    m = run.find(rf"^\(tern\) d{d} hello: destroyed, (\d+) frames returned, free frames (\d+) -> (\d+)$")
    check(int(m.group(3)) - int(m.group(2)) == int(m.group(1)), "destroy did not return every frame", run)
    check_frames_back(run)


@test
def a_guest_given_a_uart_has_its_own(args):
    """Emulation is chosen per domain: a guest booted with `emulate=uart`
    gets its own 16550 on COM1 and its line shows on the console as its
    own; a guest beside it without one finds an empty bus (all ones), and
    a device Tern cannot give a PV guest is refused by name."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "hello name=withuart emulate=uart", "hello name=plain", "hello name=nolapic emulate=lapic")),
        NO_GUESTS_LEFT, allowed=[r"ERROR: module nolapic"])
    ids = domain_ids(run)
    u, p = ids["withuart"], ids["plain"]
    run.find(rf"^\(d{u}\) hello over COM1 from domain {u}$")
    run.find(rf"^\(d{u}\) uart: 16550 on COM1$")
    run.find(rf"^\(d{p}\) uart: none$")
    check(not re.search(rf"^\(d{p}\) hello over COM1", run.log, re.MULTILINE),
          "a guest without a UART wrote through one", run)
    run.find(r"^\(tern\) ERROR: module nolapic: bad value in 'emulate=lapic'; not started$")
    check("nolapic" not in ids, "a guest with a refused option was started", run)
    check_frames_back(run)


@test
def guests_interleave_and_spinner_cannot_starve(args):
    """Three tickers that never yield, a guest spinning with interrupts off
    and a sleeper on the one-shot timer run at once: the tickers' lines
    interleave (preemption), all of them finish although the spinner never
    stops, and the sleeper wakes no earlier than its timer."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "ticker name=ta -- count=6 ms=25", "ticker name=tb -- count=6 ms=25", "ticker name=tc -- count=6 ms=25",
        "spinner name=spin", "sleeper name=sleep")),
        r"^\(tern\) d\d+ (ta|tb|tc|sleep): destroyed", count=4, timeout=120)
    ids = domain_ids(run)
    order = [int(m.group(1)) for m in re.finditer(r"^\(d(\d+)\) tick \d+ of 6$", run.log, re.MULTILINE)]
    for name in ("ta", "tb", "tc"):
        d = ids[name]
        check(order.count(d) == 6, f"{name} printed {order.count(d)} of 6 ticks", run)
        run.find(rf"^\(d{d}\) ticker done$")
        first, last = order.index(d), len(order) - 1 - order[::-1].index(d)
        others = [x for x in order[first:last] if x != d]
        check(others, f"{name}'s ticks did not interleave with the others' (no preemption?)", run)
    spin = ids["spin"]
    run.find(rf"^\(d{spin}\) spinner: spinning forever with interrupts off$")
    check(f"d{spin} spin: destroyed" not in run.log, "the spinner stopped", run)
    sleep = ids["sleep"]
    for rnd in (1, 2, 3):
        ms = int(run.find(rf"^\(d{sleep}\) sleeper: round {rnd}: woke after (\d+) ms$").group(1))
        check(50 <= ms < 1000, f"sleeper round {rnd} woke after {ms} ms for a 50 ms timer", run)


@test
def hostile_guests_are_contained(args):
    """A triple fault, an access outside its memory, unknown hypercalls and
    hostile pointers: each gets a crash or an error code with a log line;
    a victim guest keeps running; every frame comes back."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "hostile name=tf -- mode=triplefault", "hostile name=bm -- mode=badmem",
        "hostile name=bc -- mode=badcall", "hostile name=bp -- mode=badptr",
        "ticker name=victim -- count=8 ms=10")), NO_GUESTS_LEFT, timeout=120)
    ids = domain_ids(run)
    tf, bm, bc, bp, victim = (ids[n] for n in ("tf", "bm", "bc", "bp", "victim"))
    run.find(rf"^\(tern\) WARNING: d{tf} tf crashed: triple fault \(shutdown\) at RIP 0x[0-9a-f]+$")
    check("still alive after a triple fault" not in run.log, "the triple fault did not stop the guest", run)
    run.find(rf"^\(tern\) WARNING: d{bm} bm crashed: nested page fault: read at GPA 0x3fe00000, RIP 0x[0-9a-f]+, "
             rf"error 0x[0-9a-f]+ \(outside its memory\)$")
    check("from memory I do not own" not in run.log, "the bad read returned data", run)
    for call, result in (("unknown hypercall 999", -38), ("unknown hypercall 2147483647", -38),
                         (r"shutdown\(reason 77\)", -22), (r"set_upcall\(vector 3\)", -22),
                         (r"domain_info\(domain 1\)", -1)):
        run.find(rf"^\(d{bc}\) hostile: {call} -> {result}$")
    for call, result in ((r"console_write\(hypervisor address\)", -14), (r"console_write\(beyond my memory\)", -14),
                         (r"console_write\(across my end\)", -14), (r"console_write\(wrapping\)", -14),
                         (r"console_write\(another guest's frame\)", -14), (r"console_write\(huge length\)", -22),
                         (r"time_info\(beyond my memory\)", -14), (r"domain_info\(self, wrapping\)", -14)):
        run.find(rf"^\(d{bp}\) hostile: {call} -> {result}$")
    run.find(rf"^\(d{bp}\) hostile: badptr done$")
    run.find(rf"^\(d{victim}\) ticker done$")
    run.find(rf"^\(tern\) d{victim} victim: shut down \(poweroff\)$")
    check_frames_back(run)


@test
def vector_registers_are_each_guests_own(args):
    """Two guests that keep their own pattern in XMM0-15 (hostile
    `mode=vectors`) run side by side for 4 s, yielding to each other: each
    starts with its registers zero (nothing of the other's), and in
    thousands of checks neither finds them changed. Before Tern switched
    the vector state, the second found the first's pattern and both found
    each other's values (a leak, and Linux's init segfaulting in CI)."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "hostile name=va -- mode=vectors seconds=4", "hostile name=vb -- mode=vectors seconds=4")),
        NO_GUESTS_LEFT, timeout=120)
    ids = domain_ids(run)
    for name in ("va", "vb"):
        d = ids[name]
        run.find(rf"^\(d{d}\) hostile: vectors: 0 of 16 registers not zero at start$")
        done = run.find(rf"^\(d{d}\) hostile: vectors: (\d+) checks in 4 s, (\d+) found the registers changed$")
        checks, changed = int(done.group(1)), int(done.group(2))
        print(f"    {name}: {checks} checks, {changed} changed")
        check(checks >= 1000, f"{name} checked its registers only {checks} times", run)
        check(changed == 0, f"{name} found its vector registers changed {changed} times", run)
    # They ran side by side: each started before the other ended.
    for first, second in (("va", "vb"), ("vb", "va")):
        started = run.find(rf"^\(d{ids[first]}\) hostile: vectors: \d+ of 16 registers").start()
        ended = run.find(rf"^\(d{ids[second]}\) hostile: vectors: \d+ checks").start()
        check(started < ended, f"{first} started after {second} ended: they did not share the CPU", run)
    check_frames_back(run)


def ticks_before(run, domid, marker):
    """How many tick lines guest `domid` printed before the line `marker`."""
    head = run.log[:run.find(marker).start()]
    return len(re.findall(rf"^\(d{domid}\) tick \d+ of \d+$", head, re.MULTILINE))


# A ticker beside a timer attacker for its 20 s: 50 ms ticks (about 400 when
# healthy: it shares the CPU); a starved one printed 3-46 (issue 13).
VICTIM_TICKS_MIN = 150


@test
def timer_storm_cannot_stop_terns_timer(args):
    """A guest that keeps its upcall pending in V_IRQ (vector set,
    interrupts off) and loops SET_TIMER(now + 100 us) + BLOCK for 20 s:
    Tern's timer keeps running (a lost timer interrupt is recovered), so
    the ticker beside it keeps its pace and a sleeper's timers fire."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "hostile name=storm -- mode=timerstorm seconds=20", "ticker name=victim -- count=3000 ms=50",
        "sleeper name=sleep -- rounds=40 ms=100")),
        r"hostile: timerstorm: done, \d+ blocks$", timeout=180)
    ids = domain_ids(run)
    done = rf"^\(d{ids['storm']}\) hostile: timerstorm: done, (\d+) blocks$"
    ticks = ticks_before(run, ids["victim"], done)
    print(f"    victim ticks in the storm's 20 s: {ticks}; storm blocks: {run.find(done).group(1)}")
    check(ticks >= VICTIM_TICKS_MIN, f"the victim printed {ticks} ticks in 20 s (starved?)", run)
    sleeper_done = run.find(rf"^\(tern\) d{ids['sleep']} sleep: shut down \(poweroff\)$")
    check(sleeper_done.start() < run.find(done).start(), "the sleeper's 40 timers did not all fire", run)


@test
def timer_upcall_without_vector_reaches_block_and_polling(args):
    """No upcall vector, interrupts off: SET_TIMER(1) then BLOCK returns
    (the upcall is pending at once), and the timer's upcall shows in the
    event page for a guest that polls it."""
    run = boot(qemu_command(elf=args.elf, extra=modules("hostile name=poll -- mode=timerpoll")),
               NO_GUESTS_LEFT, timeout=60)
    d = domain_ids(run)["poll"]
    run.find(rf"^\(d{d}\) hostile: timerpoll: BLOCK returned, upcall_pending 1$")
    ms = int(run.find(rf"^\(d{d}\) hostile: timerpoll: polled upcall_pending 1 after (\d+) ms$").group(1))
    check(ms >= 5, f"the 5 ms timer's upcall showed after {ms} ms", run)
    run.find(rf"^\(tern\) d{d} poll: shut down \(poweroff\)$")
    check_frames_back(run)


@test
def timer_fuzzer_beside_victims(args):
    """Random timer, upcall-vector, BLOCK and HLT calls (two seeds, 20 s)
    beside a ticker and a sleeper: every result is the ABI's, the victims
    keep their pace, and every frame comes back."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "hostile name=fa -- mode=timerfuzz seconds=20 seed=1", "hostile name=fb -- mode=timerfuzz seconds=20 seed=7",
        "ticker name=victim -- count=3000 ms=50", "sleeper name=sleep -- rounds=40 ms=100")),
        r"hostile: timerfuzz: done", count=2, timeout=180)
    ids = domain_ids(run)
    last = None
    for name in ("fa", "fb"):
        m = run.find(rf"^\(d{ids[name]}\) hostile: timerfuzz: done, (\d+) calls, (\d+) blocks, (\d+) upcalls, "
                     r"(\d+) unexpected results$")
        print(f"    {name}: {m.group(1)} calls, {m.group(2)} blocks, {m.group(3)} upcalls")
        check(m.group(4) == "0", f"{name}: {m.group(4)} results not as the ABI says", run)
        check(int(m.group(1)) >= 1000, f"{name} made only {m.group(1)} calls", run)
        last = m if last is None or m.start() > last.start() else last
    ticks = len(re.findall(rf"^\(d{ids['victim']}\) tick \d+ of \d+$", run.log[:last.start()], re.MULTILINE))
    print(f"    victim ticks beside two fuzzers for 20 s: {ticks}")
    check(ticks >= VICTIM_TICKS_MIN * 2 // 3, f"the victim printed {ticks} ticks in 20 s (starved?)", run)
    check(run.find(rf"^\(tern\) d{ids['sleep']} sleep: shut down \(poweroff\)$").start() < last.start(),
          "the sleeper's 40 timers did not all fire", run)
