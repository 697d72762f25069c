"""The receive rules of issue 18 item 6 on the real ringlbd pair of test_daemon_pair (lb1
master at 150, lb2 backup at 100, 100 ms adverts): from the switch's address (sw), raw
adverts for the pair's VRID that would move the VIP if they were accepted:

- a higher priority with another address list: dropped as `address_mismatch`, the VIP
  stays; the same with the right list (the control) does take it;
- with `unicast_peer`s, a higher priority from a source that is not a peer: dropped as
  `unknown_peer`;
- 1,000 lower-priority adverts over about 2 s to the master: it stays master, and what it
  sends on the wire (adverts counted by ringlbd, gratuitous ARP for the VIP counted by a
  sniffer on the switch) stays within one of each per advert interval.

Root only (ip netns). Traffic stays inside the namespaces created here (10.99.61.0/24,
names carrying this process's PID); they are deleted, and every process in them killed,
when the module ends.
"""
import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import vrrp_wire
from netns_lan import run, wait_for
from test_daemon_pair import ADDR, ADVERT, BALANCERS, PY, RINGLBCTL, RINGLBD, VIP, Pair

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for ip netns")

VRID = 61
OTHER = "10.99.61.200"      # an address no host here has as a VIP
FLOOD = 1000
FLOOD_GAP = 0.002           # seconds between two flood adverts: about 2 s in all

# Sends COUNT copies of one raw IPv4 packet (hex, IP_HDRINCL) to DESTINATION, GAP seconds
# apart; prints "sent N FIRST LAST" (CLOCK_MONOTONIC, shared by the namespaces).
PACED_INJECT = r'''
import socket, sys, time
packet, destination, count, gap = bytes.fromhex(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
first = time.monotonic()
for _ in range(min(count, 10000)):
    s.sendto(packet, (destination, 0))
    time.sleep(gap)
print("sent", count, f"{first:.6f}", f"{time.monotonic():.6f}", flush=True)
'''

# On the switch's bridge for SECONDS (at most 30): prints one line per gratuitous ARP for
# VIP ("arp T") and per VRRP packet from SOURCE ("vrrp T PRIORITY"), T in CLOCK_MONOTONIC.
SNIFF = r'''
import socket, struct, sys, time
vip, source, seconds = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2]), min(float(sys.argv[3]), 30)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind(("br0", 0))
s.settimeout(0.05)
print("ready", flush=True)
until = time.monotonic() + seconds
while time.monotonic() < until:
    try:
        frame = s.recv(2048)
    except socket.timeout:
        continue
    now = time.monotonic()
    kind = struct.unpack("!H", frame[12:14])[0]
    if kind == 0x0806 and len(frame) >= 42 and frame[28:32] == vip:
        print(f"arp {now:.6f}", flush=True)
    elif kind == 0x0800 and len(frame) >= 42 and frame[23] == 112 and frame[26:30] == source:
        ihl = (frame[14] & 0x0f) * 4
        print(f"vrrp {now:.6f} {frame[14 + ihl + 2]}", flush=True)
print("done", flush=True)
'''


class RulesPair(Pair):
    """test_daemon_pair's pair under names of its own, with extra [vrrp.vip1] lines."""

    def __init__(self, tmp, tag="rlbr"):
        super().__init__(tmp)
        tag = f"{tag}{os.getpid()}"
        self.ns = {h: f"{tag}-{h}" for h in self.ns}
        self.extra = {}

    def write_config(self, h):
        super().write_config(h)
        with open(self.conf(h), "a") as f:
            f.write(self.extra.get(h, ""))

    def inject_paced(self, packet, destination, count, gap):
        out = run("ip", "netns", "exec", self.ns["sw"], PY, f"{self.tmp}/paced.py", packet.hex(), destination,
                  count, gap, timeout=60).stdout.split()
        assert out[:2] == ["sent", str(count)], out
        return float(out[2]), float(out[3])

    def sniffer(self, seconds):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns["sw"], PY, f"{self.tmp}/sniff.py", VIP, ADDR["lb1"],
                              str(seconds)], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        return p

    def status(self, h):
        out = self.ctl(h, "--json", "vrrp", "status")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["instances"][0]


@contextlib.contextmanager
def built_pair(tag):
    """A RulesPair built under namespace names tag+PID, destroyed on exit."""
    for binary in (RINGLBD, RINGLBCTL):
        if not binary.exists():
            pytest.fail(f"{binary} is missing: run make -j2 first")
    with tempfile.TemporaryDirectory(prefix=f"ringlb-{tag}.") as tmp:
        os.chmod(tmp, 0o755)
        pair = RulesPair(tmp, tag)
        try:
            pair.build()
            Path(f"{tmp}/paced.py").write_text(PACED_INJECT)
            Path(f"{tmp}/sniff.py").write_text(SNIFF)
            yield pair
        finally:
            pair.destroy()


@pytest.fixture(scope="module")
def lab():
    with built_pair("rlbr") as pair:
        yield pair


def configured(lab, extra=None):
    lab.extra = extra or {}
    for h in BALANCERS:
        lab.write_config(h)
        run("ip", "-n", lab.ns[h], "addr", "del", f"{VIP}/24", "dev", "eth0", check=False)
    return lab


def started(lab, extra=None):
    configured(lab, extra).start_pair()
    return lab


def stopped(lab):
    """Every daemon killed, no VIP left on either host."""
    for h in list(lab.daemons):
        lab.kill(h, signal.SIGKILL)
    configured(lab)


@pytest.fixture
def pair(lab):
    try:
        yield started(lab)
    finally:
        stopped(lab)


@pytest.fixture
def unicast_pair(lab):
    other = {"lb1": "lb2", "lb2": "lb1"}
    try:
        yield started(lab, {h: f"unicast_peer = {ADDR[other[h]]}\n" for h in BALANCERS})
    finally:
        stopped(lab)


def advert(destination, priority, addresses=(VIP,), source=ADDR["sw"]):
    payload = vrrp_wire.vrrp_payload(source, destination, VRID, addresses, int(ADVERT * 100), priority=priority)
    return vrrp_wire.ip_packet(source, destination, payload)


def test_a_higher_priority_advert_with_another_address_list_is_dropped_and_counted(pair):
    before = {h: pair.status(h) for h in BALANCERS}
    # To each host's address (the switch has no multicast route): 4 copies per host.
    for destination in (ADDR["lb1"], ADDR["lb2"]):
        pair.inject(advert(destination, 254, (OTHER,)), destination, 2)
        pair.inject(advert(destination, 254, (VIP, OTHER)), destination, 2)
    wait_for("both hosts to count 4 address mismatches",
             lambda: all(pair.status(h)["adverts_dropped"].get("address_mismatch", 0) >= 4 for h in BALANCERS), 3, 0.05)
    time.sleep(3 * ADVERT)  # anything accepted would have moved the VIP by now
    for h in BALANCERS:
        s = pair.status(h)
        assert s["adverts_dropped"] == {"address_mismatch": 4}, s
        assert s["transitions"] == before[h]["transitions"], (before[h], s)
    assert pair.vip_hosts() == {"lb1"}
    assert pair.served_by() == "lb1"
    assert pair.status("lb2")["master"] == ADDR["lb1"]
    assert re.search(r"dropped an advert from 10\.99\.61\.50 for vrid 61: address list differs from ours "
                     r"\(it lists 10\.99\.61\.200, we have 10\.99\.61\.100", pair.log("lb1")), pair.log("lb1")[-2000:]
    m = pair.metrics("lb1")
    assert re.search(r'^ringlb_vrrp_adverts_dropped_total\{vrrp_instance="vip1",reason="address_mismatch"\} 4$', m,
                     re.M), m
    assert re.search(r'^ringlb_vrrp_adverts_dropped_total\{vrrp_instance="vip1",reason="unknown_peer"\} 0$', m, re.M), m

    # The control: the same advert with our list is accepted and moves the master.
    t0 = time.monotonic()
    pair.inject(advert(ADDR["lb1"], 254), ADDR["lb1"], 1)
    wait_for("lb1 to yield to the injected higher priority", lambda: not pair.has_vip("lb1"), 2, 0.02)
    assert re.search(r"vrrp vip1: MASTER -> BACKUP \(higher priority 254 from 10\.99\.61\.50", pair.log("lb1"))
    assert time.monotonic() - t0 < 2


def test_an_address_owner_may_list_other_addresses(pair):
    pair.inject(advert(ADDR["lb1"], 255, (OTHER,)), ADDR["lb1"], 1)
    wait_for("lb1 to yield to the address owner", lambda: not pair.has_vip("lb1"), 2, 0.02)
    assert re.search(r"vrrp vip1: MASTER -> BACKUP \(higher priority 255 from 10\.99\.61\.50", pair.log("lb1"))
    assert pair.status("lb1")["adverts_dropped"] == {}


def test_with_unicast_peers_an_advert_from_another_source_is_dropped_as_unknown_peer(unicast_pair):
    pair = unicast_pair
    before = {h: pair.status(h) for h in BALANCERS}
    for h in BALANCERS:
        pair.inject(advert(ADDR[h], 254), ADDR[h], 5)
    wait_for("both hosts to count 5 unknown peers",
             lambda: all(pair.status(h)["adverts_dropped"].get("unknown_peer", 0) >= 5 for h in BALANCERS), 3, 0.05)
    time.sleep(3 * ADVERT)
    for h in BALANCERS:
        s = pair.status(h)
        assert s["adverts_dropped"] == {"unknown_peer": 5}, s
        assert s["transitions"] == before[h]["transitions"], (before[h], s)
    assert pair.vip_hosts() == {"lb1"}
    assert pair.status("lb2")["master"] == ADDR["lb1"]
    assert "source is not a unicast peer" in pair.log("lb1")
    # The peers themselves are still heard: lb2 keeps receiving lb1's adverts.
    received = pair.status("lb2")["adverts_received"]
    wait_for("lb2 to hear lb1 again", lambda: pair.status("lb2")["adverts_received"] > received, 1, 0.02)


def test_a_flood_of_lower_priority_adverts_is_answered_at_most_once_per_interval(pair):
    lb1_before = pair.status("lb1")
    lb2_before = pair.status("lb2")
    counted_from = time.monotonic()
    sniffer = pair.sniffer(6)
    first, last = pair.inject_paced(advert(ADDR["lb1"], 50), ADDR["lb1"], FLOOD, FLOOD_GAP)
    out, _ = sniffer.communicate(timeout=20)
    lb1_after = pair.status("lb1")
    counted_for = time.monotonic() - counted_from
    # What lb1 put on the wire while the flood lasted (and one interval after the last).
    window = [line.split() for line in out.splitlines() if line.split()[0] in ("arp", "vrrp")]
    window = [w for w in window if first <= float(w[1]) <= last + ADVERT]
    arps = [float(w[1]) for w in window if w[0] == "arp"]
    adverts = [float(w[1]) for w in window if w[0] == "vrrp"]
    duration = last + ADVERT - first
    intervals = duration / ADVERT
    print(f"flood of {FLOOD} priority-50 adverts over {duration:.2f} s ({intervals:.0f} intervals): lb1 sent "
          f"{len(adverts)} adverts and {len(arps)} gratuitous ARPs for the VIP")
    # Every flood advert reached lb1 and was received (the priority is lower, the list ours).
    assert lb1_after["adverts_received"] - lb1_before["adverts_received"] >= FLOOD
    assert lb1_after["adverts_dropped"] == {}
    # The mechanism: lb1 did answer (an ARP round it would not send otherwise: garp_refresh
    # is 60 s), but never more than one advert and one ARP round per interval.
    assert len(arps) >= 1
    assert len(adverts) <= intervals + 2, adverts
    assert len(arps) <= intervals + 2, arps
    for times in (adverts, arps):
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert all(g >= ADVERT * 0.5 for g in gaps), f"two sends {min(gaps) * 1000:.1f} ms apart"
    # ringlbd's own count agrees, over the longer time between the two status reads.
    assert lb1_after["adverts_sent"] - lb1_before["adverts_sent"] <= counted_for / ADVERT + 2
    assert lb1_after["transitions"] == lb1_before["transitions"]
    assert pair.status("lb2")["transitions"] == lb2_before["transitions"]
    assert pair.vip_hosts() == {"lb1"}
    assert pair.served_by() == "lb1"
