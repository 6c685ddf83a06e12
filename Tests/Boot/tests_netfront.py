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
             r"features 0xd \(persistent grants\), READY on port \d+$")
    mac = run.find(r"^\(d0\) nf: .*tern-netfront: eth0: interface 0 of d0, mac (02:[0-9a-f:]{14}), mtu 1500, carrier on$").group(1)
    run.find(r"^\(d0\) nf: ip 10\.0\.2\.\d+$")
    run.find(r"^\(d0\) nf: 3 packets transmitted, 3 packets received, 0% packet loss$")
    run.find(rf"^\(d0\) nf: sha {files.sha256}  -$")
    run.find(r"^\(d0\) 3 packets transmitted, 3 packets received, 0% packet loss$")
    run.find(rf"^\(d0\) nf: eth0 {mac} rx \d+ tx \d+$")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: connected: vif{domid}\.0 on its bridge, mac {mac}, persistent grants$")
    gone = run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: guest gone: tx (\d+) packets \d+ bytes, 0 malformed, 0 failed; "
                    r"rx (\d+) packets (\d+) bytes, 0 failed$")
    check(int(gone.group(3)) >= FETCH_BYTES, "the backend moved less into the guest than the file it fetched", run)
    run.find(r"^\(d0\) vifs 0 backends 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])
    check("crashed" not in run.log, "a domain crashed", run)
