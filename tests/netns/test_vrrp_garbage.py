"""VRRP adverts that must be ignored: from the client namespace of test_vrrp.py's lab, raw
IP protocol-112 packets (IP_HDRINCL, so TTL and every byte are ours) go to 224.0.0.18
and to each balancer's own address while a (priority 200) is master and b (100) backup:
random garbage, TTL other than 255, VRRPv2 with authentication, wrong type, no
addresses, a length that disagrees with the count, truncated, a higher priority with a
bad checksum, a priority 0 with a bad checksum, another VRID. Each is counted by the
VRRP runner under its RFC 9568 §7.1 reason (vrrp_driver's "dropped" command) or, for
another VRID, received and ignored; no state changes. Then the master is killed while
the garbage keeps coming: the backup still takes over within Master_Down_Interval.
A valid higher-priority advert from the same injector does move the state: the
control that shows the injected packets would count if they passed the checks.

Root only (ip netns). Traffic stays inside the lab's namespaces (10.99.51.0/24); the
lab fixture deletes them, and kills every process in them, when the module ends.
"""
import json
import os
import random
import re
import signal
import struct
import time

import pytest

import vrrp_wire

from netns_lan import assert_one_run
from test_vrrp import (ADDR, ADVERT, PRIO_A, PRIO_B, PY, SETTLE, VIP, Lab, Proc, fresh, lab,  # noqa: F401 — fixtures
                       master_down, stamp, start_pair, wait_for)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for ip netns")

GROUP = "224.0.0.18"
VRID = 51
SOURCE = ADDR["c"]          # the injector's own address on the LAN
ROUNDS = 5                  # each packet kind is sent this often to each destination
DESTINATIONS = [GROUP, ADDR["a"], ADDR["b"]]

# vrrp/vrrp_packet.cc to_string(AdvertVerdict)
TRUNCATED = "truncated"
BAD_TTL = "TTL is not 255"
BAD_VERSION = "VRRP version is not 3"
BAD_TYPE = "VRRP type is not ADVERTISEMENT"
NO_ADDRESSES = "address count is 0"
BAD_LENGTH = "length does not match address count"
BAD_CHECKSUM = "bad checksum"

INJECTOR = r'''
import json, socket, sys, time
# Sends raw IPv4 packets given in hex on stdin commands; IPPROTO_RAW implies IP_HDRINCL:
# the kernel fills in only the IP checksum, total length and ID. Bounded: every command
# runs at most 30 s and the process ends after 300 s.
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"br0")
print("ready", flush=True)
started = time.monotonic()
for line in sys.stdin:
    if time.monotonic() - started > 300:
        break
    cmd = json.loads(line)
    packets = [(bytes.fromhex(p), d) for p, d in cmd["packets"]]
    sent, errors = 0, 0
    until = time.monotonic() + min(float(cmd.get("for", 0)), 30.0)
    while True:
        for packet, destination in packets:
            try:
                s.sendto(packet, (destination, 0))
                sent += 1
            except OSError as e:
                errors += 1
                print(f"error {e}", flush=True)
            time.sleep(float(cmd.get("gap", 0.002)))
        if time.monotonic() >= until:
            break
        time.sleep(float(cmd.get("interval", 0.02)))
    print(f"sent {cmd['id']} {sent} errors={errors}", flush=True)
'''


# ------------------------------------------------------------------ packets


def vrrp_payload(destination, vrid=VRID, addresses=(VIP,), **spoil):
    """vrrp_wire.vrrp_payload from SOURCE for this module's instance."""
    return vrrp_wire.vrrp_payload(SOURCE, destination, vrid, addresses, int(ADVERT * 100), **spoil)


def vrrpv2_payload(destination, priority=250):
    """A VRRPv2 advert (RFC 3768 §5) with simple-text authentication, as an old
    keepalived with `authentication { auth_type PASS }` sends it."""
    body = bytearray(struct.pack("!BBBBBBH", 0x21, VRID, priority, 1, 1, 1, 0))
    body += vrrp_wire.ipv4(VIP) + b"secret\0\0"
    struct.pack_into("!H", body, 6, vrrp_wire.checksum(bytes(body)))  # v2: no pseudo-header
    return bytes(body)


def ip_packet(destination, payload, ttl=255):
    return vrrp_wire.ip_packet(SOURCE, destination, payload, ttl)


def expected_verdict(payload):
    """RFC 9568 §7.1 checks in vrrp_packet.cc's order, for a packet that arrives with
    TTL 255 from SOURCE: the reference the random garbage is judged against."""
    if len(payload) < 8:
        return TRUNCATED
    if payload[0] >> 4 != 3:
        return BAD_VERSION
    if payload[0] & 0x0f != 1:
        return BAD_TYPE
    if payload[3] == 0:
        return NO_ADDRESSES
    if len(payload) != 8 + 4 * payload[3]:
        return BAD_LENGTH
    return None  # the checksum decides


# Each kind: how to build the packet for a destination, and the reason it is dropped
# for (None: it passes every check and is received, then ignored).
KINDS = {
    "TTL 254 (crossed a router)": (lambda d: ip_packet(d, vrrp_payload(d), ttl=254), BAD_TTL),
    "TTL 1": (lambda d: ip_packet(d, vrrp_payload(d), ttl=1), BAD_TTL),
    "TTL 64, higher priority": (lambda d: ip_packet(d, vrrp_payload(d, priority=254), ttl=64), BAD_TTL),
    "higher priority 254, bad checksum": (lambda d: ip_packet(d, vrrp_payload(d, priority=254, checksum_xor=0x0101)),
                                          BAD_CHECKSUM),
    "priority 0 (master leaving), bad checksum": (lambda d: ip_packet(d, vrrp_payload(d, priority=0, checksum_xor=1)),
                                                  BAD_CHECKSUM),
    "v3 checksum without the pseudo-header (as v2)": (lambda d: ip_packet(d, vrrp_payload(d, pseudo_header=False)),
                                                       BAD_CHECKSUM),
    "VRRPv2 with simple-text authentication": (lambda d: ip_packet(d, vrrpv2_payload(d)), BAD_VERSION),
    "version 4": (lambda d: ip_packet(d, vrrp_payload(d, version=4)), BAD_VERSION),
    "type 2": (lambda d: ip_packet(d, vrrp_payload(d, kind=2)), BAD_TYPE),
    "no addresses": (lambda d: ip_packet(d, vrrp_payload(d, addresses=())), NO_ADDRESSES),
    "count 2, one address": (lambda d: ip_packet(d, vrrp_payload(d, count=2)), BAD_LENGTH),
    "v3 advert followed by 8 bytes of v2 auth data": (lambda d: ip_packet(d, vrrp_payload(d, extra=b"secret\0\0")),
                                                      BAD_LENGTH),
    "4-byte VRRP header (truncated)": (lambda d: ip_packet(d, vrrp_payload(d)[:4]), TRUNCATED),
    "empty VRRP payload": (lambda d: ip_packet(d, b""), TRUNCATED),
    "VRID 52, priority 254, valid": (lambda d: ip_packet(d, vrrp_payload(d, vrid=52, priority=254)), None),
}


def random_garbage(rng, count):
    """(packet builder, expected reason) for count random VRRP payloads: half of them
    start with a v3 ADVERTISEMENT byte so that later checks get their turn."""
    out = []
    for _ in range(count):
        payload = bytearray(rng.randbytes(rng.randint(0, 120)))
        if payload and rng.random() < 0.5:
            payload[0] = 0x31
        payload = bytes(payload)
        reason = expected_verdict(payload) or BAD_CHECKSUM  # a random checksum that fits: 1 in 65536
        out.append((lambda d, p=payload: ip_packet(d, p), reason))
    return out


# ------------------------------------------------------------------ observing


class Balancer:
    """A vrrp_driver process and what it reports: dropped counts and state."""

    def __init__(self, name, proc):
        self.name = name
        self.proc = proc

    def counters(self):
        """(adverts received, {reason: dropped}) right now."""
        since = time.monotonic()
        self.proc.send("dropped")
        _, line = self.proc.wait_line(r"^dropped vip1 ", 3, since=since)
        m = re.match(r"^dropped vip1 received=(\d+) (\{.*\})$", line)
        assert m, line
        return int(m.group(1)), json.loads(m.group(2))

    def status(self):
        since = time.monotonic()
        self.proc.send("status")
        _, line = self.proc.wait_line(r"^status vip1 ", 3, since=since)
        m = re.match(r"^status vip1 (\S+) prio=(\d+) master=(\S+) transitions=(\d+)", line)
        assert m, line
        return m.group(1), m.group(3), int(m.group(4))


class Injector:
    def __init__(self, lab):
        Lab.write(f"{lab.tmp}/inject.py", INJECTOR)
        self.proc = Proc(lab, "c", [PY, f"{lab.tmp}/inject.py"], f"{lab.tmp}/inject-{time.monotonic():.3f}.log",
                         stdin=True)
        self.proc.wait_line(r"^ready$", 5)
        self.next_id = 0

    def send(self, packets, for_s=0.0, interval=0.02, wait=True):
        """packets: [(bytes, destination)], sent once each (repeated for for_s seconds)."""
        self.next_id += 1
        since = time.monotonic()
        self.proc.send(json.dumps({"id": self.next_id, "packets": [(p.hex(), d) for p, d in packets],
                                   "for": for_s, "interval": interval}))
        if wait:
            _, line = self.proc.wait_line(rf"^sent {self.next_id} ", 10 + for_s, since=since)
            assert line.endswith("errors=0"), line
        return self.next_id


def delta(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def wait_counts(hosts, want, before):
    """Waits (bounded) until each host's counters reach what was sent to it (want:
    name -> ({reason: dropped}, received at least)), lets stragglers arrive, and returns
    name -> (received delta, dropped delta)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        reached = True
        for h in hosts:
            received, dropped = h.counters()
            got = delta(dropped, before[h.name][1])
            want_dropped, want_received = want[h.name]
            reached &= all(got.get(k, 0) >= v for k, v in want_dropped.items())
            reached &= received - before[h.name][0] >= want_received
        if reached:
            break
        time.sleep(0.05)
    time.sleep(0.2)  # anything beyond what was sent would show up now
    out = {}
    for h in hosts:
        received, dropped = h.counters()
        out[h.name] = (received - before[h.name][0], delta(dropped, before[h.name][1]))
    return out


# ------------------------------------------------------------------ tests


def settled_pair(lab):
    """start_pair, and also a's own report of MASTER: the VIP and a's first adverts come
    out while the runner is still acting on the transition, a little before its status
    snapshot (and the driver's status line) say MASTER."""
    a_proc, b_proc = start_pair(lab)
    a_proc.wait_line(rf"^status vip1 MASTER prio={PRIO_A} master={re.escape(ADDR['a'])} ", SETTLE)
    return a_proc, b_proc


def test_garbage_adverts_are_dropped_counted_by_reason_and_change_no_state(fresh, capsys):
    lab = fresh
    a_proc, b_proc = settled_pair(lab)
    a, b = Balancer("a", a_proc), Balancer("b", b_proc)
    injector = Injector(lab)
    states_before = {h.name: h.status() for h in (a, b)}
    assert states_before["a"][0] == "MASTER" and states_before["b"][:2] == ("BACKUP", ADDR["a"]), states_before
    started = time.monotonic()

    # One phase per crafted kind, then the random garbage in one phase.
    rng = random.Random(5798)
    phases = [(name, [(build, reason)], ROUNDS) for name, (build, reason) in KINDS.items()]
    phases.append(("random garbage", random_garbage(rng, 40), 1))
    report = []
    for name, items, rounds in phases:
        before = {h.name: h.counters() for h in (a, b)}
        packets = [(build(d), d) for build, _ in items for d in DESTINATIONS] * rounds
        injector.send(packets)
        # Each host gets the multicast copies and the ones sent to its own address.
        want_dropped = {}
        for _, reason in items:
            if reason:
                want_dropped[reason] = want_dropped.get(reason, 0) + 2 * rounds
        valid = sum(2 * rounds for _, reason in items if reason is None)
        got = wait_counts((a, b), {"a": (want_dropped, valid), "b": (want_dropped, valid)}, before)
        for h in ("a", "b"):
            received, dropped = got[h]
            report.append((name, h, received, dropped))
            assert dropped == want_dropped, f"{name}: {h} dropped {dropped}, expected {want_dropped}"
            # a hears no adverts but ours (b is a silent backup); b also hears a's.
            if h == "a":
                assert received == valid, f"{name}: a received {received}, {valid} passed the checks"
            else:
                assert received >= valid, f"{name}: b received {received} of at least {valid}"

    # Nothing changed: the drivers print a status line on every change (and we asked
    # for none since the first packet), and the states and transition counts are the same.
    finished = time.monotonic()
    for h in (a, b):
        with h.proc.lock:
            changes = [line for at, line in h.proc.lines if started <= at <= finished and line.startswith("status ")]
        assert changes == [], f"{h.name} changed state: {changes}"
    states_after = {h.name: h.status() for h in (a, b)}
    assert states_after == states_before, (states_before, states_after)
    assert lab.vip_hosts() == {"a"}

    totals = {}
    for _, host, _, dropped in report:
        for reason, n in dropped.items():
            totals.setdefault(host, {}).setdefault(reason, 0)
            totals[host][reason] += n
    with capsys.disabled():
        print(f"\nVRRP garbage: {len(KINDS)} crafted kinds and 40 random payloads, to {GROUP} and each "
              f"host's address; dropped per reason: {totals}; states {states_after} unchanged")


def test_a_backup_flooded_with_bogus_higher_priority_adverts_still_takes_over_from_a_killed_master(fresh, capsys):
    lab = fresh
    a_proc, b_proc = settled_pair(lab)
    b = Balancer("b", b_proc)
    injector = Injector(lab)
    # Every kind that would hold b in BACKUP (or make it take over early) if accepted.
    bogus = ["TTL 254 (crossed a router)", "TTL 64, higher priority", "higher priority 254, bad checksum",
             "priority 0 (master leaving), bad checksum", "VRRPv2 with simple-text authentication",
             "VRID 52, priority 254, valid", "v3 checksum without the pseudo-header (as v2)"]
    packets = [(KINDS[name][0](d), d) for name in bogus for d in (GROUP, ADDR["b"])]

    # While a lives, the priority-0 ones with a bad checksum do not hand over early:
    # no state change on either host (a status line would show even a brief one).
    quiet_from = time.monotonic()
    injector.send(packets, for_s=1.0)
    for proc in (a_proc, b_proc):
        assert proc.find(r"^status ", since=quiet_from) is None, proc.find(r"^status ", since=quiet_from)
    assert b.status()[:2] == ("BACKUP", ADDR["a"])

    before = b.counters()
    flood = injector.send(packets, for_s=4.0, interval=0.02, wait=False)
    time.sleep(0.3)
    t0 = time.monotonic()
    a_proc.kill(signal.SIGKILL)
    lab.set_port("a", False)  # and its cable: the VIP it leaves behind is unreachable
    try:
        _, line = b_proc.wait_line(r"status vip1 MASTER .*reason=no advert from master 10\.99\.51\.1", SETTLE,
                                   since=t0)
        took = stamp(line) - t0
        injector.proc.wait_line(rf"^sent {flood} .*errors=0$", 10)
        received, dropped = b.counters()
    finally:
        lab.set_port("a", True)
    bound = master_down(PRIO_B) + 0.100
    with capsys.disabled():
        print(f"\nVRRP: backup took over {took * 1000:.0f} ms after the master was killed while bogus adverts "
              f"kept coming (Master_Down_Interval {master_down(PRIO_B) * 1000:.0f} ms); dropped meanwhile "
              f"{delta(dropped, before[1])}")
    assert_one_run(took, bound)
    assert delta(dropped, before[1]).get(BAD_CHECKSUM, 0) > 0 and delta(dropped, before[1]).get(BAD_TTL, 0) > 0

    # The control: the same injector's valid higher-priority advert does move b.
    t1 = time.monotonic()
    injector.send([(ip_packet(d, vrrp_payload(d, priority=254)), d) for d in (GROUP, ADDR["b"])])
    _, line = b_proc.wait_line(rf"status vip1 BACKUP .*master={re.escape(SOURCE)} ", SETTLE, since=t1)
    assert "higher priority 254" in line, line
    # ...and with nothing more from it, b is master again after Master_Down_Interval.
    b_proc.wait_line(r"status vip1 MASTER ", SETTLE, since=t1 + 0.01)
    wait_for("b to hold the VIP", lambda: VIP in lab.addresses("b"), SETTLE)
