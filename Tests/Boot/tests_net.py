"""Boot tests of guest network interfaces (issue 18, docs/netback.md):
`vif = [...]` in a guest config, the network backend `tern create` starts
in Dom0 (a tap on Dom0's bridge br0), and the PV guest SDK's frontend
(Guests/net, answering ARP and ping)."""
import re

from common import check, check_tern_info_frames_back, dom0_command, shell, test
from qemu import boot

# N NAME IP [VIF-SPEC]: a config for the net guest in /tmp/NAME.cfg.
NET_CFG_DEF = ("N(){ printf 'name = \"%s\"\\nkernel = \"/usr/lib/tern/guests/net.elf\"\\nmemory = 8\\n"
               "cmdline = \"ip=%s\"\\nvif = [ \"%s\" ]\\n' $1 \"$2\" \"${3:-bridge=br0}\" > /tmp/$1.cfg; }")
DHCP_WAIT = "for i in $(seq 50); do [ -s /run/dhcp-br0 ] && break; sleep 0.2; done"


@test
def net_pv_guest_answers_ping_from_dom0(args):
    """The shipped /etc/tern/net.cfg: a PV guest with `vif = [ "bridge=br0" ]` (Guests/net, the SDK's
    NetFrontend): its backend makes tap vifN.0 on Dom0's bridge br0, the
    guest connects with persistent grants and the MAC derived from its
    name, and answers Dom0's ARP and three pings through the bridge and
    the netif rings. Destroyed, its tap and backend are gone and every
    frame comes back. A vif on a bridge that does not exist is refused by
    name and leaves no domain."""
    send, done = shell(
        DHCP_WAIT, "tern info | grep memory", NET_CFG_DEF,
        "tern create /etc/tern/net.cfg 'name=\"n\"'; sleep 1; echo ports: $(ls /sys/class/net/br0/brif)",
        "ping -c 3 -W 3 10.0.2.50; echo ping status $?",
        "timeout 3 tern console n </dev/null",
        "tern destroy n; sleep 1; dmesg | grep tern-netback",
        "echo vifs $(ls /sys/class/net | grep -c vif) backends $(ps | grep -c network-backen[d])",
        "N bad 10.0.2.51 bridge=nobr; tern create /tmp/bad.cfg; echo create status $?; tern list | grep -c ' bad '",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=True)
    run = boot(command, done, timeout=300, send=send)
    domid = run.find(r"^\(tern\) d(\d+) n: created").group(1)
    run.find(rf"^\(d0\) ports: eth0 vif{domid}\.0$")
    run.find(r"^\(d0\) 3 packets transmitted, 3 packets received, 0% packet loss$")
    run.find(r"^\(d0\) ping status 0$")
    mac = run.find(r"^\(d0\) net: vif0 connected: mac (02:[0-9a-f:]{14}), ip 10\.0\.2\.50, mtu 1500$").group(1)
    run.find(r"^\(d0\) net: arp answered for 10\.0\.2\.15$")
    for sequence in range(3):
        run.find(rf"^\(d0\) net: echo {sequence} from 10\.0\.2\.15 \({sequence + 1} answered\)$")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: connected: vif{domid}\.0 on its bridge, mac {mac}, persistent grants$")
    gone = run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: guest gone: tx (\d+) packets \d+ bytes, 0 malformed, 0 failed; "
                    r"rx (\d+) packets \d+ bytes, 0 failed$")
    check(int(gone.group(1)) >= 4 and int(gone.group(2)) >= 4, "the backend moved fewer than an ARP and three pings each way", run)
    run.find(r"^\(d0\) vifs 0 backends 0$")
    run.find(r"^\(d0\) tern: bad: vif 0: cannot put vif\d+\.0 on bridge nobr: No such device \(no such bridge\)$")
    run.find(r"^\(d0\) create status 1$")
    run.find(r"^\(d0\) 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


@test
def net_two_pv_guests_ping_each_other(args):
    """Two PV guests on br0 (Guests/net with `ping=`): each resolves the
    other by ARP and gets 3 of 3 echoes answered, through two backends,
    two taps and the bridge; Dom0 pings both meanwhile. Destroyed, their
    taps and backends are gone and every frame comes back."""
    send, done = shell(
        DHCP_WAIT, "tern info | grep memory", NET_CFG_DEF,
        "N a '10.0.2.50 ping=10.0.2.51'; N b '10.0.2.51 ping=10.0.2.50'; tern create /tmp/a.cfg; tern create /tmp/b.cfg",
        "ping -c 2 -W 3 10.0.2.50 >/dev/null; echo a answers $?; ping -c 2 -W 3 10.0.2.51 >/dev/null; echo b answers $?",
        "sleep 4; for g in a b; do timeout 2 tern console $g </dev/null | sed \"s/^/$g: /\"; done",
        "tern destroy a; tern destroy b; sleep 1; echo vifs $(ls /sys/class/net | grep -c vif) backends $(ps | grep -c network-backen[d])",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=True)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) a answers 0$")
    run.find(r"^\(d0\) b answers 0$")
    run.find(r"^\(d0\) a: net: 3 of 3 echoes answered by 10\.0\.2\.51$")
    run.find(r"^\(d0\) b: net: 3 of 3 echoes answered by 10\.0\.2\.50$")
    run.find(r"^\(d0\) a: net: echo 0 from 10\.0\.2\.51 \(\d answered\)$")
    run.find(r"^\(d0\) b: net: echo 0 from 10\.0\.2\.50 \(\d answered\)$")
    run.find(r"^\(d0\) vifs 0 backends 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


@test
def net_hostile_frontends_hurt_only_their_own_interface(args):
    """While a victim guest answers Dom0's pings, hostile frontends
    (Guests/net, NetAttacks.swift) take turns: packets a buggy frontend
    sends (an ARP request over 18 slots with its headers a byte a slot:
    sent; 19 slots, later slots larger than the packet, 10 bytes: ERROR; a
    page not granted: DROPPED; a good packet after them: sent), each
    answered while the interface works, one log line for that interface;
    then 21 slots, and separately a slot past its page: each interface
    closed (MALFORMED, 5); 20,000 notifications, then a packet that is
    sent; half a packet published and a crash; a guest that posts no
    receive page while Dom0 floods it (2,000 pings of 1,400 bytes): its
    tap drops and counts, Dom0's available memory stays within 16 MiB.
    The victim still answers, no backend or tap is left, every frame
    comes back."""
    from tests_block import WAIT_GONE_DEF
    flood = ("d=$(tern list | awk '$2==\"h5\" {print $1}'); arp -i br0 -s 10.0.2.65 02:00:00:00:00:65; "
             "m0=$(awk '/MemAvailable/ {print $2}' /proc/meminfo); ping -q -c 2000 -i 0.002 -s 1400 -w 30 10.0.2.65 >/dev/null; "
             "m1=$(awk '/MemAvailable/ {print $2}' /proc/meminfo); "
             "echo flood: dropped $(cat /sys/class/net/vif$d.0/statistics/tx_dropped) memory drop $(( (m0 - m1) / 1024 )) MiB")
    send, done = shell(
        DHCP_WAIT, "tern info | grep memory", NET_CFG_DEF, WAIT_GONE_DEF,
        "N v 10.0.2.50; tern create /tmp/v.cfg; ping -c 2 -W 3 10.0.2.50 >/dev/null; echo victim before $?",
        "N h1 '10.0.2.61 mode=badslots'; tern create /tmp/h1.cfg; w h1",
        "N h2 '10.0.2.62 mode=crosspage'; tern create /tmp/h2.cfg; w h2",
        "N h3 '10.0.2.63 mode=storm count=20000'; tern create /tmp/h3.cfg; w h3",
        "N h4 '10.0.2.64 mode=vanish'; tern create /tmp/h4.cfg; w h4",
        "N h5 '10.0.2.65 mode=norx' mac=02:00:00:00:00:65,bridge=br0; tern create /tmp/h5.cfg; sleep 1",
        flood,
        "ping -c 2 -W 3 10.0.2.50 >/dev/null; echo victim after $?",
        "tern destroy h5; tern destroy v; for g in h1 h2 h3 h4; do tern console $g </dev/null | sed \"s/^/$g: /\"; done",
        "sleep 2; dmesg | grep tern-netback",
        "echo vifs $(ls /sys/class/net | grep -c vif) backends $(ps | grep -c network-backen[d])",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=True)
    run = boot(command, done, timeout=400, send=send)
    ids = {m.group(2): m.group(1) for m in re.finditer(r"^\(tern\) d(\d+) (v|h\d): created", run.log, re.MULTILINE)}
    run.find(r"^\(d0\) victim before 0$")
    run.find(r"^\(d0\) h1: net: 5 bad packets answered one by one, a good one after them sent; 21 slots next$")
    run.find(r"^\(d0\) h1: net: 21 slots: backend closed the interface: true, error 5$")
    run.find(r"^\(d0\) h2: net: a slot past its page: backend closed the interface: true, error 5$")
    run.find(r"^\(d0\) h3: net: 20000 notifications sent; a packet after them: sent$")
    run.find(r"^\(d0\) h4: net: half a packet published; crashing$")
    for g in ("h1", "h2", "h3"):
        run.find(rf"^\(d0\) {g}: net: passed$")
    h1 = ids["h1"]
    refused = re.findall(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{h1}/vif0: malformed packet dropped: .*$", run.log, re.MULTILINE)
    check(len(refused) == 1, f"h1's interface logged {len(refused)} malformed-packet lines, not one", run)
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{h1}/vif0: interface closed: malformed packet: a packet over 21 slots \(at most 18\)$")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{ids['h2']}/vif0: interface closed: malformed packet: slot 0 crosses its page: "
             r"offset 4000 \+ size 200 > 4096$")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{ids['h4']}/vif0: guest gone: ")
    flood = run.find(r"^\(d0\) flood: dropped (\d+) memory drop (-?\d+) MiB$")
    check(int(flood.group(1)) > 0, "the flood to a guest with no receive page dropped nothing", run)
    check(int(flood.group(2)) < 16, f"Dom0's available memory fell {flood.group(2)} MiB under the flood", run)
    print(f"    flood: {flood.group(1)} frames dropped by the tap, Dom0's available memory {flood.group(2)} MiB lower")
    run.find(r"^\(d0\) victim after 0$")
    run.find(r"^\(d0\) vifs 0 backends 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


@test
def net_backend_killed_under_traffic_is_restarted(args):
    """The serving process of an interface killed (SIGKILL) while Dom0
    pings the guest: its supervisor, which keeps the tap on the bridge and
    the device, starts it again; the new one re-attaches to the guest's
    rings and the pings go on (at least 20 of 30 answered, the guest
    unchanged), and 3 of 3 afterwards. No backend or tap is left after the
    guest is destroyed; every frame comes back."""
    send, done = shell(
        DHCP_WAIT, "tern info | grep memory", NET_CFG_DEF,
        "N v 10.0.2.50; tern create /tmp/v.cfg; ping -c 2 -W 3 10.0.2.50 >/dev/null; echo before $?",
        "{ ping -c 30 -i 0.2 -W 5 10.0.2.50 > /tmp/ping.out 2>&1 & }; sleep 2; "
        "kill -9 $(ps | grep tap-f[d] | awk '{print $1}'); sleep 5; ps | grep -c tap-f[d]",
        "sleep 3; grep 'packets transmitted' /tmp/ping.out; ping -c 3 -W 3 10.0.2.50 >/dev/null; echo after $?",
        "tern destroy v; sleep 1; dmesg | grep tern-netback",
        "echo vifs $(ls /sys/class/net | grep -c vif) backends $(ps | grep -c network-backen[d])",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=True)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) before 0$")
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-netback d\d+/vif0: the backend died \(signal 9\): starting it again; "
             r"the guest's interface re-attaches$")
    check(len(re.findall(r"tern-netback d\d+/vif0: connected: ", run.log)) == 2, "the interface did not connect twice", run)
    pings = run.find(r"^\(d0\) 30 packets transmitted, (\d+) packets received")
    check(int(pings.group(1)) >= 20, f"only {pings.group(1)} of 30 pings answered across the restart", run)
    print(f"    {pings.group(1)} of 30 pings answered across the backend's restart")
    run.find(r"^\(d0\) after 0$")
    run.find(r"^\(d0\) vifs 0 backends 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


@test
def net_rate_limit_holds_the_guests_packets(args):
    """`vif = [ "bridge=br0,rate=1KB/s@1s" ]`: the backend takes the
    guest's packets only as the credit allows (1,000 bytes a second). Five
    echo replies of 1,442 bytes asked for within a second are held in the
    guest's ring and sent as the credit comes, not dropped: after 9 s the
    backend has sent the ARP reply and all five, and says how many times
    the limit held packets (more than zero)."""
    send, done = shell(
        DHCP_WAIT, "tern info | grep memory", NET_CFG_DEF,
        "N r 10.0.2.50 'bridge=br0,rate=1KB/s@1s'; tern create /tmp/r.cfg; sleep 1",
        "ping -c 5 -i 0.2 -s 1400 -w 2 10.0.2.50 >/dev/null; sleep 9",
        "tern destroy r; sleep 1; dmesg | grep tern-netback",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=True)
    run = boot(command, done, timeout=300, send=send)
    run.find(r"^\(d0\) \[ *[\d.]+\] tern-netback d\d+/vif0: connected: .*, rate 1000 B/s$")
    gone = run.find(r"^\(d0\) \[ *[\d.]+\] tern-netback d\d+/vif0: guest gone: tx (\d+) packets \d+ bytes, 0 malformed, 0 failed, "
                    r"held by the rate limit (\d+) times; ")
    check(int(gone.group(1)) >= 6, f"the backend sent {gone.group(1)} of the guest's packets, not the ARP reply and five echoes", run)
    check(int(gone.group(2)) > 0, "the rate limit never held a packet", run)
    print(f"    the rate limit held the guest's packets {gone.group(2)} times; {gone.group(1)} sent")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


@test
def net_attach_and_detach_under_traffic(args):
    """`tern network-attach` gives a running PV net guest created with no
    interface its vif 0 (tap vifD.0 on br0, the MAC create derives for
    it): the guest, waiting for vif 0, connects and answers Dom0's pings;
    `network-list` shows it connected and the saved config lists it.
    Refused with their reasons: a bridge that does not exist, Dom0, a
    guest that does not exist, the MAC the guest has, a devid not
    attached. While Dom0 pings the guest 100 times a second,
    `network-detach` returns 0 within the drain: the backend logs
    `detached` and `removed from the guest`, the tap is gone from Dom0,
    `network-list` and the saved config show no interface, the guest says
    it was detached with no grant still mapped, and Dom0 still works; no
    reply of the guest's (TTL 64) came twice (the echoes QEMU's user
    network makes up, TTL 255 and seq 0, once Dom0's bridge floods the
    pings to eth0 after the tap is gone, are not the guest's).
    Attached again, the guest connects on the same pages and answers
    pings. Destroyed: no backend, tap or record left, every frame back."""
    cfg = ("printf 'name = \"a\"\\nkernel = \"/usr/lib/tern/guests/net.elf\"\\nmemory = 8\\n"
           "cmdline = \"ip=10.0.2.50\"\\n' > /tmp/a.cfg")
    up = "cut -d' ' -f1 /proc/uptime"
    send, done = shell(
        DHCP_WAIT, "tern info | grep memory", cfg,
        "tern create /tmp/a.cfg; tern network-list a; echo vifs $(ls /sys/class/net | grep -c vif)",
        "tern network-attach a bridge=nobr; echo nobr $?; tern network-attach 0; echo dom0 $?; "
        "tern network-attach nosuch; echo nosuch $?; tern network-detach a 3; echo nodev $?",
        "tern network-attach a; echo attach $?; echo ports: $(ls /sys/class/net/br0/brif); grep ^vif /var/lib/tern/a.cfg",
        "ping -c 3 -W 3 10.0.2.50 >/dev/null; echo ping1 $?; tern network-list a",
        "m=$(tern network-list a | awk '$2==0 {print $3}'); tern network-attach a mac=$m; echo dupmac $?",
        "{ ping -i 0.01 -W 1 -w 8 10.0.2.50 > /tmp/flood.out 2>&1 & }; sleep 2; "
        f"t0=$({up}); tern network-detach a 0; echo detach $?; t1=$({up}); echo detach took $t0 $t1",
        "echo vifs $(ls /sys/class/net | grep -c vif) backends $(ps | grep -c network-backen[d]); "
        "tern network-list a; grep ^vif /var/lib/tern/a.cfg; "
        "echo guest $(tern list | grep -cE ' a +(running|blocked) ') info $(tern info | grep -c domains)",
        "sleep 7; grep 'packets transmitted' /tmp/flood.out; "
        "echo flood: guest $(grep -c 'ttl=64 time' /tmp/flood.out) twice $(grep 'ttl=64 time' /tmp/flood.out | grep -c DUP)",
        "tern network-attach a; echo attach2 $?; ping -c 3 -W 3 10.0.2.50 >/dev/null; echo ping2 $?; tern network-list a",
        "timeout 3 tern console a </dev/null",
        "tern destroy a; sleep 1; dmesg | grep tern-netback",
        "echo vifs $(ls /sys/class/net | grep -c vif) backends $(ps | grep -c network-backen[d]) records $(ls /run/tern/vifs | wc -l)",
        "tern info | grep memory")
    command, _ = dom0_command(args, devices=True)
    run = boot(command, done, timeout=300, send=send)
    domid = run.find(r"^\(tern\) d(\d+) a: created").group(1)
    run.find(r"^\(d0\) Name +Idx  Mac +Bridge +Tap +Backend  State +Rate$")
    run.find(r"^\(d0\) vifs 0$")
    run.find(rf"^\(d0\) tern: a: vif 0: cannot put vif{domid}\.0 on bridge nobr: No such device \(no such bridge\)$")
    run.find(r"^\(d0\) nobr 1$")
    run.find(r"^\(d0\) tern: d0 dom0: Dom0 has its own interfaces; network-attach gives a guest one$")
    run.find(r"^\(d0\) dom0 1$")
    run.find(r"^\(d0\) tern: nosuch: no such domain$")
    run.find(r"^\(d0\) nosuch 1$")
    run.find(rf"^\(d0\) tern: d{domid} a: no interface 3 attached \(it has none\)$")
    run.find(r"^\(d0\) nodev 1$")
    run.find(r"^\(d0\) attach 0$")
    mac = run.find(rf"^\(d0\) a +0  (02:[0-9a-f:]{{14}})  br0 +vif{domid}\.0 +\d+  connected +-$").group(1)
    run.find(rf"^\(d0\) ports: eth0 vif{domid}\.0$")
    run.find(rf'^\(d0\) vif = \[ "mac={mac},bridge=br0" \]$')
    run.find(r"^\(d0\) ping1 0$")
    run.find(rf"^\(d0\) tern: d{domid} a: mac {mac} is already its vif 0$")
    run.find(r"^\(d0\) dupmac 1$")
    run.find(r"^\(d0\) detach 0$")
    took = run.find(r"^\(d0\) detach took ([\d.]+) ([\d.]+)$")
    seconds = float(took.group(2)) - float(took.group(1))
    check(seconds < 5, f"network-detach took {seconds:.2f} s under traffic", run)
    print(f"    network-detach under 100 pings a second took {seconds:.2f} s")
    run.find(r"^\(d0\) vifs 0 backends 0$")
    run.find(r"^\(d0\) vif = \[\]$")
    run.find(r"^\(d0\) guest 1 info 1$")
    sent = run.find(r"^\(d0\) (\d+) packets transmitted, ")
    flood = run.find(r"^\(d0\) flood: guest (\d+) twice (\d+)$")
    check(0 < int(flood.group(1)) < int(sent.group(1)), f"{flood.group(1)} of {sent.group(1)} pings answered across the detach", run)
    check(flood.group(2) == "0", f"{flood.group(2)} of the guest's replies came twice", run)
    print(f"    {flood.group(1)} of {sent.group(1)} pings answered before the detach")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: detached: tx (\d+) packets \d+ bytes, 0 malformed, 0 failed; ")
    run.find(rf"^\(d0\) \[ *[\d.]+\] tern-netback d{domid}/vif0: removed from the guest$")
    run.find(r"^\(d0\) attach2 0$")
    run.find(r"^\(d0\) ping2 0$")
    rows = re.findall(rf"^\(d0\) a +0  {mac}  br0 +vif{domid}\.0 +\d+  connected +-$", run.log, re.MULTILINE)
    check(len(rows) == 2, f"network-list showed vif 0 connected {len(rows)} times, not after each attach", run)
    run.find(r"^\(d0\) net: vif0 detached \(0 grants still mapped\); waiting for it again$")
    check(len(re.findall(rf"^\(d0\) net: vif0 connected: mac {mac}, ip 10\.0\.2\.50, mtu 1500$", run.log, re.MULTILINE)) == 2,
          "the guest did not connect twice", run)
    run.find(r"^\(d0\) vifs 0 backends 0 records 0$")
    check_tern_info_frames_back(run, run.log[run.log.index("tern info | grep memory"):])


@test
def net_detach_and_attach_again_before_the_guest_looks(args):
    """A detach and an attach again that both happen while the guest cannot
    look (paused: the same as a guest that is slow to run) give it a new
    interface in place of the old one, with the same devid and MAC. Tern
    numbers each device entry's instance (tern_device_entry.flags, ABI
    0.12), so the PV guest, unpaused, sees its vif 0 is not the one it
    had (its control page, port and ref may be the same ones, reused):
    it lets go of the old one and connects to the new one, and answers
    pings again. Before, it kept using rings nobody served, and the new
    backend waited for it forever."""
    cfg = ("printf 'name = \"q\"\\nkernel = \"/usr/lib/tern/guests/net.elf\"\\nmemory = 8\\n"
           "vif = [ \"bridge=br0\" ]\\ncmdline = \"ip=10.0.2.51\"\\n' > /tmp/q.cfg")
    send, done = shell(
        DHCP_WAIT, cfg,
        "tern create /tmp/q.cfg >/dev/null; ping -c 3 -w 20 10.0.2.51 >/dev/null; echo ping1 $?",
        "tern pause q; tern network-detach q 0; echo detach $?; tern network-attach q; echo attach $?; tern unpause q",
        "ping -c 3 -w 20 10.0.2.51 >/dev/null; echo ping2 $?; tern network-list q",
        "timeout 3 tern console q </dev/null | sed 's/^/c: /'",
        "tern destroy q; sleep 1; echo vifs $(ls /sys/class/net | grep -c vif) records $(ls /run/tern/vifs | wc -l)")
    command, _ = dom0_command(args, devices=True)
    run = boot(command, done, timeout=300, send=send)
    domid = run.find(r"^\(tern\) d(\d+) q: created").group(1)
    run.find(r"^\(d0\) ping1 0$")
    run.find(r"^\(d0\) detach 0$")
    run.find(r"^\(d0\) attach 0$")
    run.find(r"^\(d0\) ping2 0$")
    run.find(rf"^\(d0\) q +0  02:[0-9a-f:]{{14}}  br0 +vif{domid}\.0 +\d+  connected +-$")
    run.find(r"^\(d0\) c: net: vif0 detached \(0 grants still mapped\); waiting for it again$")
    connects = len(re.findall(r"^\(d0\) c: net: vif0 connected: mac ", run.log, re.MULTILINE))
    check(connects == 2, f"the guest connected {connects} times, not twice (before and after)", run)
    run.find(r"^\(d0\) vifs 0 records 0$")
