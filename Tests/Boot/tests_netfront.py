"""Boot tests of the Linux guest's network frontend (tern_netfront.ko,
issue 18, docs/netback.md): a Linux guest with `vif = [...]` gets an
Ethernet interface served by Dom0's network backend, through Dom0's bridge
br0 to QEMU's user network and the host behind its gateway."""
import hashlib
import http.server
import os
import re
import threading

from common import check, check_tern_info_frames_back, dom0_command, shell, test
from qemu import boot
from tests_block import RUN_DEF
from tests_linux_guest import WAIT_DEF
from tests_net import DHCP_WAIT

# The file the guest fetches from the host side (QEMU's gateway 10.0.2.2
# reaches the host's loopback only): random bytes, an odd size.
FETCH_BYTES = 3 * 1024 * 1024 + 4321


class HostFiles:
    """An HTTP server on the host's 127.0.0.1 (a free port) serving one
    file of random bytes; its digest is what the guest must compute."""

    def __init__(self, size):
        self.body = os.urandom(size)
        self.sha256 = hashlib.sha256(self.body).hexdigest()
        body = self.body

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/blob":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def linux_with_vif(name, vif="bridge=br0", memory=128):
    """`tern create` of linux.cfg named `name` with one interface."""
    return f"tern create /etc/tern/linux.cfg 'name=\"{name}\"' memory={memory} 'vif=[\"{vif}\"]'"


@test
def net_linux_guest_dhcp_ping_and_fetch_from_the_host(args):
    """A Linux guest with `vif = [ "bridge=br0" ]` (tern_netfront.ko):
    eth0 appears with the MAC Dom0 derived, takes an address by DHCP from
    QEMU's user network through Dom0's bridge, pings the gateway 10.0.2.2,
    and fetches a 3 MiB file from an HTTP server on the host's loopback
    (through the gateway) whose SHA-256 matches the host's. Dom0 pings
    the guest. Destroyed, its backend reports what it moved, its tap is
    gone and every frame comes back."""
    files = HostFiles(FETCH_BYTES)
    try:
        send, done = shell(
            DHCP_WAIT, "tern info | grep memory", WAIT_DEF, RUN_DEF,
            linux_with_vif("l") + "; w l",
            "C l 'dmesg | grep tern-netfront | sed \"s/^/nf: /\"' nf",
            "C l 'udhcpc -i eth0 -q -t 10 -T 1 -A 3 >/dev/null 2>&1; echo nf: ip $(cat /run/dhcp-eth0)' nf",
            "C l 'ping -c 3 -w 20 10.0.2.2 | sed \"s/^/nf: /\"' nf",
            f"C l 'wget -q -O - http://10.0.2.2:{files.port}/blob | sha256sum | sed \"s/^/nf: sha /\"' nf",
            "ping -c 3 -w 20 $(C l 'echo nf: $(cat /run/dhcp-eth0)' nf | cut -d' ' -f2) | grep transmitted",
            "C l 'echo nf: eth0 $(cat /sys/class/net/eth0/address) rx $(cat /sys/class/net/eth0/statistics/rx_packets) "
            "tx $(cat /sys/class/net/eth0/statistics/tx_packets)' nf",
            "tern destroy l; sleep 1; dmesg | grep tern-netback",
            "echo vifs $(ls /sys/class/net | grep -c vif) backends $(ps | grep -c network-backen[d])",
            "tern info | grep memory")
        command, _ = dom0_command(args, devices=True, data_disk=True)
        run = boot(command, done, timeout=600, send=send)
    finally:
        files.close()
    domid = run.find(r"^\(tern\) d(\d+) l: created").group(1)
    run.find(r"^\(d0\) nf: .*tern-netfront: vif0: rings \(tx ref \d+, rx ref \d+\) and 256 \+ 256 pages granted to d0, "
             r"features 0x1f \(persistent grants\), READY on port \d+$")
    mac = run.find(r"^\(d0\) nf: .*tern-netfront: eth0: interface 0 of d0, mac (02:[0-9a-f:]{14}), mtu 1500, carrier on, "
                   r"checksum and segmentation offload$").group(1)
    run.find(r"^\(d0\) nf: ip 10\.0\.2\.\d+$")
    run.find(r"^\(d0\) nf: 3 packets transmitted, 3 packets received, 0% packet loss$")
    run.find(rf"^\(d0\) nf: sha {files.sha256}  -$")
    run.find(r"^\(d0\) 3 packets transmitted, 3 packets received, 0% packet loss$")
    run.find(rf"^\(d0\) nf: eth0 {mac} rx \d+ tx \d+$")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: connected: vif{domid}\.0 on its bridge, mac {mac}, persistent grants, "
             r"checksum and segmentation offload$")
    # The 3 MiB came as 64 KiB segmentation packets (GSO), not 1,514-byte frames.
    gso = run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: figures: .*; segmentation packets: \d+ tx, (\d+) rx; "
                   r"0 frames the guest could not take$")
    check(int(gso.group(1)) >= 10, "the guest took fewer than 10 segmentation packets", run)
    gone = run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: guest gone: tx (\d+) packets \d+ bytes, 0 malformed, 0 failed; "
                    r"rx (\d+) packets (\d+) bytes, 0 failed$")
    check(int(gone.group(3)) >= FETCH_BYTES, "the backend moved less into the guest than the file it fetched", run)
    run.find(r"^\(d0\) vifs 0 backends 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
    check("crashed" not in run.log, "a domain crashed", run)


@test
def net_linux_guest_download_survives_a_killed_backend(args):
    """A Linux guest fetches a 24 MiB file from the host side while its
    interface's serving process is killed (SIGKILL) in the middle: the
    supervisor starts it again, it re-attaches to the guest's rings where
    they were, TCP recovers what was lost, and the file's SHA-256 matches
    the host's. The guest's kernel logged nothing but its interface's
    lines (no BUG, WARNING or Oops); the backend connected twice."""
    files = HostFiles(24 * 1024 * 1024)
    try:
        send, done = shell(
            DHCP_WAIT, WAIT_DEF, RUN_DEF,
            linux_with_vif("k") + "; w k",
            "C k 'udhcpc -i eth0 -q -t 10 -T 1 -A 3 >/dev/null 2>&1; echo nf: ip $(cat /run/dhcp-eth0)' nf",
            f"C k '{{ wget -q -O - http://10.0.2.2:{files.port}/blob | sha256sum > /tmp/sum; echo done >> /tmp/sum; }} "
            "</dev/null >/dev/null 2>&1 & echo nf: started' nf",
            "sleep 2; kill -9 $(ps | grep tap-f[d] | awk '{print $1}'); echo killed",
            "for i in $(seq 90); do C k 'echo nf: $(tail -n 1 /tmp/sum)' nf | grep -q done && break; sleep 1; done",
            "C k 'sed \"s/^/nf: sum /\" /tmp/sum' nf",
            "C k 'dmesg | grep -E \"WARNING:|BUG:|Oops|tern-netfront\" | sed \"s/^/nf: /\"' nf",
            "tern destroy k; sleep 1; dmesg | grep tern-netback",
            "echo vifs $(ls /sys/class/net | grep -c vif) backends $(ps | grep -c network-backen[d])")
        command, _ = dom0_command(args, devices=True, data_disk=True)
        run = boot(command, done, timeout=600, send=send)
    finally:
        files.close()
    run.find(r"^\(d0\) killed$")
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-netback d\d+/vif0: the backend died \(signal 9\): starting it again; "
             r"the guest's interface re-attaches$")
    check(len(re.findall(r"tern-netback d\d+/vif0: connected: ", run.log)) == 2, "the interface did not connect twice", run)
    run.find(rf"^\(d0\) nf: sum {files.sha256}  -$")
    check(not re.search(r"^\(d0\) nf: .*(BUG:|WARNING:|Oops)", run.log, re.MULTILINE), "the guest's kernel warned", run)
    run.find(r"^\(d0\) vifs 0 backends 0$")
    check("crashed" not in run.log, "a domain crashed", run)


@test
def net_two_linux_guests_talk_through_the_bridge(args):
    """Two Linux guests on br0, each with an address by DHCP: one serves a
    2 MiB file with busybox httpd, the other fetches it by the first's
    address (guest to guest through two backends, two taps and the bridge,
    never leaving Dom0) and the digests match; each pings the other 3 of
    3. Every frame comes back after both are destroyed."""
    send, done = shell(
        DHCP_WAIT, "tern info | grep memory", WAIT_DEF, RUN_DEF,
        linux_with_vif("ga") + "; " + linux_with_vif("gb") + "; w ga; w gb",
        "for g in ga gb; do C $g 'udhcpc -i eth0 -q -t 10 -T 1 -A 3 >/dev/null 2>&1; echo nf: $(cat /run/dhcp-eth0)' nf; done",
        "A=$(C ga 'echo nf: $(cat /run/dhcp-eth0)' nf | cut -d' ' -f2); B=$(C gb 'echo nf: $(cat /run/dhcp-eth0)' nf | cut -d' ' -f2); "
        "echo addresses $A $B",
        "C ga 'mkdir -p /www; dd if=/dev/urandom of=/www/f bs=1k count=2048 2>/dev/null; httpd -h /www; "
        "echo nf: served $(sha256sum < /www/f)' nf",
        "C gb \"wget -q -O - http://$A/f | sha256sum | sed 's/^/nf: fetched /'\" nf",
        "C ga \"ping -c 3 -w 20 $B | grep transmitted | sed 's/^/nf: a-b /'\" nf",
        "C gb \"ping -c 3 -w 20 $A | grep transmitted | sed 's/^/nf: b-a /'\" nf",
        "tern destroy ga; tern destroy gb; sleep 1; echo vifs $(ls /sys/class/net | grep -c vif)",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=True, data_disk=True)
    run = boot(command, done, timeout=600, send=send)
    run.find(r"^\(d0\) addresses 10\.0\.2\.\d+ 10\.0\.2\.\d+$")
    served = run.find(r"^\(d0\) nf: served ([0-9a-f]{64}) -$").group(1)
    run.find(rf"^\(d0\) nf: fetched {served}  -$")
    run.find(r"^\(d0\) nf: a-b 3 packets transmitted, 3 packets received, 0% packet loss$")
    run.find(r"^\(d0\) nf: b-a 3 packets transmitted, 3 packets received, 0% packet loss$")
    run.find(r"^\(d0\) vifs 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
    check("crashed" not in run.log, "a domain crashed", run)


@test
def net_linux_guest_gets_its_interface_again_after_a_quick_detach_and_attach(args):
    """The Linux guest's side of net_detach_and_attach_again_before_the_
    guest_looks: its interface is detached and attached again while the
    guest is paused, so that it only looks after both. tern_guest's bus
    sees vif 0 (net-0) come back as another instance (tern/device.h, ABI
    0.12) even where its control page, ref and port are the same: the old
    device is removed and the new one probed. eth0 comes back with the same
    MAC, takes an address by DHCP and pings the gateway."""
    send, done = shell(
        DHCP_WAIT, WAIT_DEF, RUN_DEF,
        linux_with_vif("r") + "; w r",
        "C r 'udhcpc -i eth0 -q -n -t 10 -T 1 -A 3 >/dev/null 2>&1; echo nf: ip1 $(cat /run/dhcp-eth0)' nf",
        "tern pause r; tern network-detach r 0; echo detach $?; tern network-attach r; echo attach $?; tern unpause r",
        "C r 'for i in $(seq 30); do [ -e /sys/class/net/eth0 ] && break; sleep 1; done; "
        "udhcpc -i eth0 -q -n -t 10 -T 1 -A 3 >/dev/null 2>&1; echo nf: ip2 $(cat /run/dhcp-eth0)' nf",
        "C r 'ping -c 3 -w 20 10.0.2.2 | grep transmitted | sed \"s/^/nf: /\"' nf",
        "C r 'dmesg | grep -E \"device net-0|tern-netfront\" | sed \"s/^/nf: /\"' nf",
        "tern destroy r; sleep 1; echo vifs $(ls /sys/class/net | grep -c vif) records $(ls /run/tern/vifs | wc -l)")
    command, _ = dom0_command(args, devices=True)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) nf: ip1 10\.0\.2\.\d+$")
    run.find(r"^\(d0\) detach 0$")
    run.find(r"^\(d0\) attach 0$")
    run.find(r"^\(d0\) nf: ip2 10\.0\.2\.\d+$")
    run.find(r"^\(d0\) nf: 3 packets transmitted, 3 packets received")
    run.find(r"^\(d0\) nf: .*tern_guest: device net-0: backend d0, port \d+, control page ref \d+, instance 1$")
    run.find(r"^\(d0\) nf: .*tern_guest: device net-0 gone$")
    run.find(r"^\(d0\) nf: .*tern_guest: device net-0: backend d0, port \d+, control page ref \d+, instance 2$")
    run.find(r"^\(d0\) vifs 0 records 0$")


@test
def net_linux_guests_talk_over_ipv6_with_offloads(args):
    """The offloads over IPv6, which the other tests do not use: two Linux
    guests on br0 with addresses fd00::a and fd00::b (no DAD) ping each
    other both ways, and gb fetches 2 MiB from ga's httpd over IPv6. ga's
    frames leave with blank checksums and as GSO packets (TSO6): its
    backend places the checksums behind the IPv6 header
    (ChecksumPlacement) and hands Dom0's kernel the segmentation (at least
    8 GSO packets sent for 2 MiB, none malformed or failed), and gb's
    backend delivers them to gb whole, with their GSO slot (as many GSO
    packets received). The digest matches. (A VLAN is host-tested only:
    the guest's initramfs has no 8021q module.)"""
    setup = ("ip link set eth0 up; echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad; ip -6 addr add fd00::{x}/64 dev eth0; "
             "mkdir -p /www; dd if=/dev/urandom of=/www/f bs=1k count=2048 2>/dev/null; httpd -h /www; "
             "echo nf: {g} served $(sha256sum < /www/f)")
    send, done = shell(
        DHCP_WAIT, "tern info | grep memory", WAIT_DEF, RUN_DEF,
        linux_with_vif("ga") + "; " + linux_with_vif("gb") + "; w ga; w gb",
        "C ga '" + setup.format(x="a", g="ga") + "' nf",
        "C gb '" + setup.format(x="b", g="gb") + "' nf",
        "C gb 'ping6 -c 3 -w 20 fd00::a | grep transmitted | sed \"s/^/nf: b-a /\"' nf",
        "C gb 'wget -q -O - http://[fd00::a]/f | sha256sum | sed \"s/^/nf: fetched /\"' nf",
        "C ga 'ping6 -c 3 -w 20 fd00::b | grep transmitted | sed \"s/^/nf: a-b /\"' nf",
        "A=$(tern list | awk '$2==\"ga\" {print $1}'); B=$(tern list | awk '$2==\"gb\" {print $1}'); echo ids $A $B",
        "tern destroy ga; tern destroy gb; sleep 1; dmesg | grep tern-netback | grep -E 'figures|gone'",
        "echo vifs $(ls /sys/class/net | grep -c vif)",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=True, data_disk=True)
    run = boot(command, done, timeout=600, send=send)
    served = run.find(r"^\(d0\) nf: ga served ([0-9a-f]{64}) -$").group(1)
    run.find(rf"^\(d0\) nf: fetched {served}  -$")
    for way in ("b-a", "a-b"):
        run.find(rf"^\(d0\) nf: {way} 3 packets transmitted, 3 packets received, 0% packet loss$")
    a, b = run.find(r"^\(d0\) ids (\d+) (\d+)$").groups()
    sent = int(run.find(rf"tern-netback d{a}/vif0: figures: .*segmentation packets: (\d+) tx, \d+ rx").group(1))
    taken = int(run.find(rf"tern-netback d{b}/vif0: figures: .*segmentation packets: \d+ tx, (\d+) rx").group(1))
    check(sent >= 8, f"ga sent {sent} GSO packets over IPv6, not at least 8 (2 MiB in packets of up to 64 KiB)", run)
    check(taken >= sent, f"gb took {taken} GSO packets, fewer than the {sent} ga sent", run)
    print(f"    over IPv6: ga sent {sent} GSO packets, gb took {taken}")
    for domid in (a, b):
        run.find(rf"tern-netback d{domid}/vif0: guest gone: tx \d+ packets \d+ bytes, 0 malformed, 0 failed; rx \d+ packets \d+ bytes, 0 failed")
    run.find(r"^\(d0\) vifs 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
    check("crashed" not in run.log, "a domain crashed", run)
