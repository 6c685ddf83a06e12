"""Boot tests of the I/O ring library and of channels between guests:
ping and pong, and hostile backends (channel_hostile_*)."""
from common import NO_GUESTS_LEFT, check, check_frames_back, domain_ids, modules, test
from qemu import boot, qemu_command


@test
def guest_ring_library_in_embedded_swift(args):
    """The I/O ring library (TernRing, io/ring.h semantics) runs in an
    Embedded Swift guest: frontend and backend on one page exchange 100,000
    requests and responses, every answer checked (sequence and running
    sum); the guest powers off cleanly. (Between two guests: issue 5.)"""
    run = boot(qemu_command(elf=args.elf, extra=modules("bench name=ring -- mode=ring")), NO_GUESTS_LEFT, timeout=120)
    d = domain_ids(run)["ring"]
    m = run.find(rf"^\(d{d}\) ring: 100000 requests and responses, (\d+) slots, checksum (\d+), \d+ notifications, (\d+) round trips per second$")
    check(int(m.group(1)) == 128, f"{m.group(1)} slots, not 128 for 16-byte entries in a 4 KiB page", run)
    expected = sum(i * 2654435761 for i in range(100000)) % (1 << 64)
    check(int(m.group(2)) == expected, f"checksum {m.group(2)}, expected {expected}", run)
    run.find(rf"^\(tern\) d{d} ring: shut down \(poweroff\)$")
    check_frames_back(run)


# The channel demo (Guests/ping, Guests/pong, Guests/PingPong): the values
# and payloads are defined there; the expected checksums are computed here.
MASK64 = (1 << 64) - 1
PING_VALUE_MULTIPLIER = 2654435761
PAYLOAD_WORDS = 512
PAYLOAD_STRIDE = 0x9E3779B97F4A7C15


def messages_checksum(count):
    """ping mode=messages: the sum of the request values, sequence * multiplier."""
    return PING_VALUE_MULTIPLIER * (count * (count - 1) // 2) & MASK64


def payloads_checksum(count):
    """ping mode=map/copy: the sum over messages of each 4 KiB payload's
    checksum, word j of message s being s * multiplier + j * stride."""
    sequences = count * (count - 1) // 2
    strides_per_message = PAYLOAD_WORDS * (PAYLOAD_WORDS - 1) // 2
    return (PAYLOAD_WORDS * PING_VALUE_MULTIPLIER * sequences + count * PAYLOAD_STRIDE * strides_per_message) & MASK64


@test
def channel_ping_pong_messages(args):
    """Two guests talk over a channel Tern wires at boot (ping's module
    option channel=pong: a device-page entry on each side, a control page,
    a port): ping grants pong a ring page, the READY/CONNECTED handshake,
    then 100,000 request/response pairs over the ring with event-channel
    notifications only when the ring asks. Every answer is checked; both
    checksums equal the one computed here; ping closes the channel, both
    power off, every frame comes back."""
    count = 100000
    run = boot(qemu_command(elf=args.elf, extra=modules(f"ping name=ping channel=pong -- count={count}", "pong name=pong")),
               NO_GUESTS_LEFT, timeout=180)
    ids = domain_ids(run)
    ping, pong = ids["ping"], ids["pong"]
    run.find(rf"^\(tern\) d{ping} ping: channel 0 to d{pong} pong\b")
    expected = messages_checksum(count)
    m = run.find(rf"^\(d{ping}\) ping: (\d+) messages, checksum (\d+), (\d+) notifications sent, (\d+) received, "
                 rf"(\d+) round trips per second$")
    check(int(m.group(1)) == count, f"ping: {m.group(1)} messages, not {count}", run)
    check(int(m.group(2)) == expected, f"ping's checksum {m.group(2)}, expected {expected}", run)
    sent, received = int(m.group(3)), int(m.group(4))
    check(0 < sent <= count // 10, f"{sent} notifications for {count} messages: not the ring's notify-when-asked rule", run)
    served = run.find(rf"^\(d{pong}\) pong: served (\d+) requests, checksum (\d+)$")
    check(int(served.group(1)) == count, f"pong served {served.group(1)} requests, not {count}", run)
    check(int(served.group(2)) == expected, f"pong's checksum {served.group(2)}, expected {expected}", run)
    run.find(rf"^\(tern\) d{ping} ping: shut down \(poweroff\)$")
    run.find(rf"^\(tern\) d{pong} pong: shut down \(poweroff\)$")
    check_frames_back(run)
    print(f"    {int(m.group(5))} round trips per second; {sent} notifications sent, {received} received")


@test
def channel_ping_pong_event_and_payload_modes(args):
    """ping's bench modes with small counts, three pairs at once:
    event-channel round trips (a send answered by a send), and 4 KiB
    payloads in granted pages that pong reads through one mapping each
    (map) or by grant copies (copy); the payload checksums equal the ones
    computed here."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "ping name=pe channel=qe -- mode=evtchn count=500", "pong name=qe",
        "ping name=pm channel=qm -- mode=map count=2000 pages=8", "pong name=qm",
        "ping name=pc channel=qc -- mode=copy count=2000 pages=8", "pong name=qc")), NO_GUESTS_LEFT, timeout=180)
    ids = domain_ids(run)
    run.find(rf"^\(d{ids['pe']}\) ping: evtchn 500 round trips, \d+ ns each$")
    run.find(rf"^\(d{ids['qe']}\) pong: answered 500 event round trips$")
    expected = payloads_checksum(2000)
    for mode, ping, pong in (("map", "pm", "qm"), ("copy", "pc", "qc")):
        m = run.find(rf"^\(d{ids[ping]}\) ping: 4KiB by {mode}: 2000 messages, \d+ messages per second, \d+ MB/s, checksum (\d+)$")
        check(int(m.group(1)) == expected, f"{mode}: ping's checksum {m.group(1)}, expected {expected}", run)
        m = run.find(rf"^\(d{ids[pong]}\) pong: read 2000 payloads by {mode}, checksum (\d+)$")
        check(int(m.group(1)) == expected, f"{mode}: pong's checksum {m.group(1)}, expected {expected}", run)
    for name in ("pe", "qe", "pm", "qm", "pc", "qc"):
        run.find(rf"^\(tern\) d{ids[name]} {name}: shut down \(poweroff\)$")
    check_frames_back(run)


def victim_and_hostile(args, mode):
    """Boots `ping mode=victim` with a channel whose backend is `hostile
    mode=MODE`; returns the run and the two domain ids."""
    run = boot(qemu_command(elf=args.elf, extra=modules(
        "ping name=victim channel=hostile -- mode=victim", f"hostile name=hostile -- mode={mode}")),
        NO_GUESTS_LEFT, timeout=120)
    ids = domain_ids(run)
    victim, hostile = ids["victim"], ids["hostile"]
    run.find(rf"^\(d{victim}\) victim: connected to d{hostile}: ring ref \d+, read-only ref \d+, revoked ref \d+ \(end 0\), "
             rf"foreign ref \d+, foreign port \d+$")
    run.find(rf"^\(d{hostile}\) hostile: backend of d{victim}'s channel, connected$")
    return run, victim, hostile


def check_victim_unharmed(run, victim):
    """The victim ended every grant (the hostile's mappings are gone), its
    read-only page is as it wrote it, it disconnected and powered off
    normally; no frame leaked."""
    run.find(rf"^\(d{victim}\) victim: ended grants: ring 0, read-only 0, foreign 0; closed the foreign port: 0$")
    run.find(rf"^\(d{victim}\) victim: read-only page unchanged: true$")
    run.find(rf"^\(d{victim}\) victim: disconnected cleanly, still running$")
    run.find(rf"^\(tern\) d{victim} victim: shut down \(poweroff\)$")
    check(f"d{victim} victim crashed" not in run.log, "the victim crashed", run)
    check_frames_back(run)


def check_results(run, domid, results):
    """Each (call regex, result) pair as the hostile guest printed it."""
    for call, result in results:
        run.find(rf"^\(d{domid}\) hostile: {call} -> {result}$")


@test
def channel_hostile_maps_grants_not_given(args):
    """A backend maps its frontend's grants that are not its own: one given
    to another domain, one revoked (-EPERM each), a ref beyond the table
    (-EINVAL), a read-only one writable (-EPERM); grant copies from the
    revoked one and into the read-only one fail the same way (-EPERM). The
    read-only grant mapped read-only works and shows the victim's data."""
    run, victim, hostile = victim_and_hostile(args, "grants")
    check_results(run, hostile, (
        (r"map\(a grant to another domain\)", -1), (r"map\(a revoked grant\)", -1),
        (r"map\(a ref beyond the table\)", -22), (r"map\(a read-only grant, writable\)", -1),
        (r"copy\(from a revoked grant\)", -1), (r"copy\(into a read-only grant\)", -1),
        (r"map\(a read-only grant, read-only\)", "ok, the victim's pattern: true"), ("unmap", 0)))
    run.find(rf"^\(d{hostile}\) hostile: disconnected$")
    run.find(rf"^\(d{victim}\) victim: the backend left after 0 of 100 answers$")
    check_victim_unharmed(run, victim)


@test
def channel_hostile_writes_read_only_grant(args):
    """A backend writes through its read-only mapping of the frontend's
    page: Tern refuses the write and injects #GP (a warning names the
    address), the backend, without an IDT, triple-faults and is stopped;
    the victim's page is unchanged and the victim keeps running."""
    run, victim, hostile = victim_and_hostile(args, "rowrite")
    m = run.find(rf"^\(d{hostile}\) hostile: mapped the victim's read-only grant at (\d+), its pattern: true; writing to it$")
    gpa = int(m.group(1))
    w = run.find(rf"^\(tern\) WARNING: d{hostile} hostile: write to a read-only grant mapping at GPA (0x[0-9a-f]+)"
                 rf"(, RIP 0x[0-9a-f]+)?: refused, #GP injected$")
    check(int(w.group(1), 16) == gpa, f"Tern names GPA {w.group(1)}, the hostile wrote at {gpa:#x}", run)
    run.find(rf"^\(tern\) WARNING: d{hostile} hostile crashed: triple fault \(shutdown\) at RIP 0x[0-9a-f]+$")
    check("wrote to a read-only grant?!" not in run.log, "the write went through", run)
    run.find(rf"^\(d{victim}\) victim: the backend left after 0 of 100 answers$")
    check_victim_unharmed(run, victim)


@test
def channel_hostile_closes_port_twice(args):
    """A backend closes its port of the channel (0), closes it again
    (-EINVAL) and sends on it (-EINVAL); the frontend's port turns
    PEER_CLOSED and the frontend disconnects cleanly."""
    run, victim, hostile = victim_and_hostile(args, "closetwice")
    check_results(run, hostile, ((r"close\(my channel port\)", 0), (r"close\(my channel port, again\)", -22),
                                 (r"send\(my closed port\)", -22)))
    run.find(rf"^\(d{hostile}\) hostile: disconnected$")
    run.find(rf"^\(d{victim}\) victim: the backend left after 0 of 100 answers$")
    check_victim_unharmed(run, victim)


@test
def channel_hostile_uses_foreign_ports(args):
    """A backend sends on a port number it does not have (-EINVAL) and
    binds the frontend's port that was allocated for another domain
    (-EPERM); the frontend is unharmed."""
    run, victim, hostile = victim_and_hostile(args, "foreignport")
    check_results(run, hostile, ((r"send\(port 1023, not mine\)", -22),
                                 (r"bind\(the victim's port for another domain\)", -1)))
    run.find(rf"^\(d{hostile}\) hostile: disconnected$")
    run.find(rf"^\(d{victim}\) victim: the backend left after 0 of 100 answers$")
    check_victim_unharmed(run, victim)


@test
def channel_hostile_corrupts_ring_indices(args):
    """A backend publishes a response index one ring beyond the requests it
    took: the frontend's ring library reports corrupt indices (exactly
    those numbers) instead of reading past them, and the frontend
    disconnects cleanly and keeps running."""
    run, victim, hostile = victim_and_hostile(args, "corrupt")
    m = run.find(rf"^\(d{hostile}\) hostile: rsp_prod set to (\d+), (\d+) requests outstanding$")
    producer, outstanding = int(m.group(1)), int(m.group(2))
    check(outstanding == 100 and producer == outstanding + 128, f"hostile: rsp_prod {producer}, {outstanding} outstanding", run)
    run.find(rf"^\(d{victim}\) victim: ring error: corrupt indices \(unconsumed {producer}, limit {outstanding}\); disconnecting$")
    run.find(rf"^\(d{hostile}\) hostile: disconnected$")
    check_victim_unharmed(run, victim)
