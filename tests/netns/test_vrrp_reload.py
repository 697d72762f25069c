"""Reloading a running ringlbd pair (issue 18 items 1 and 2): every [vrrp.*] key changed
in the file and applied by SIGHUP without a restart, with its effect seen on the wire
(a sniffer on lb1's switch port), on the interface or in the other host's state, and the
peer's transition count showing no failover where none is due; sections added and
removed; an interface change restarting the instance; `workers` reported as needing a
restart. Builds on test_daemon_pair's Pair (same LAN, same backends), in namespaces of its
own, plus a second segment (eth1, 10.99.62.0/24) for the interface change.

Root only (ip netns). Traffic stays inside the namespaces created here; they are deleted,
and every process in them killed, when the module ends.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import test_daemon_pair as dp
from netns_lan import run, switch_port, wait_for

ADDR = dp.ADDR
VIP = dp.VIP
VIP_EXTRA = "10.99.61.101"       # added to vip1 by a reload
VIP2 = "10.99.61.102"            # [vrrp.vip2], added by a reload
SECOND = {"lb1": "10.99.62.11", "lb2": "10.99.62.12"}  # eth1, the second segment
VIP_ETH1 = "10.99.62.100"
LB1_OTHER = "10.99.61.13"        # a second address of lb1, for source_address
SETTLE = 5.0                     # generous: a loaded machine or a sanitizer build

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for ip netns")

# Prints each VRRP advert and ARP frame seen on INTERFACE for SECONDS (one line each,
# CLOCK_MONOTONIC seconds first), after "ready".
SNIFF = r'''
import socket, struct, sys, time
iface, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
s.bind((iface, 0))
s.settimeout(0.1)
print("ready", flush=True)
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        frame = s.recv(2048)
    except socket.timeout:
        continue
    kind = struct.unpack("!H", frame[12:14])[0]
    if kind == 0x0800 and frame[23] == 112:
        v = frame[14 + (frame[14] & 0x0f) * 4:]
        addrs = ",".join(socket.inet_ntoa(v[8 + 4 * i:12 + 4 * i]) for i in range(v[3]))
        print(f"vrrp {time.monotonic():.3f} src={socket.inet_ntoa(frame[26:30])} dst={socket.inet_ntoa(frame[30:34])}"
              f" vrid={v[1]} prio={v[2]} int={struct.unpack('!H', v[4:6])[0] & 0x0fff} addrs={addrs}", flush=True)
    elif kind == 0x0806:
        print(f"arp {time.monotonic():.3f} spa={socket.inet_ntoa(frame[28:32])}", flush=True)
'''

NOTIFY = """#!/bin/sh
echo "$1 $2" >> {out}
"""


class ReloadPair(dp.Pair):
    """test_daemon_pair's Pair with configs a test can rewrite, in namespaces of its own."""

    def __init__(self, tmp):
        super().__init__(tmp)
        self.ns = {h: f"rlbr{os.getpid()}-{h}" for h in self.ns}

    def build(self):
        super().build()
        Path(f"{self.tmp}/sniff.py").write_text(SNIFF)
        sw = self.ns["sw"]
        run("ip", "-n", sw, "link", "add", "br1", "type", "bridge")
        run("ip", "-n", sw, "link", "set", "br1", "type", "bridge", "mcast_snooping", "0", "stp_state", "0")
        run("ip", "-n", sw, "link", "set", "br1", "up")
        for h in dp.BALANCERS:
            port = f"q-{h}"
            run("ip", "link", "add", "eth1", "netns", self.ns[h], "type", "veth", "peer", "name", port, "netns", sw)
            run("ip", "-n", sw, "link", "set", port, "master", "br1")
            run("ip", "-n", sw, "link", "set", port, "up")
            run("ip", "-n", self.ns[h], "addr", "add", f"{SECOND[h]}/24", "dev", "eth1")
            run("ip", "-n", self.ns[h], "link", "set", "eth1", "up")

    def write_config(self, h, vip1="", sections="", glob=""):
        """The base config of test_daemon_pair, with more keys in [vrrp.vip1] (vip1),
        more sections after it and more [global] keys."""
        super().write_config(h)
        text = Path(self.conf(h)).read_text()
        text = text.replace("[global]\nworkers = 1\n", "[global]\n" + (glob or "workers = 1\n"))
        Path(self.conf(h)).write_text(text + vip1 + sections)

    def kill_all(self):
        for h in list(self.daemons):
            self.kill(h, signal.SIGKILL)

    def edit(self, h, old, new):
        """Replaces text in h's config file (it must be there)."""
        text = Path(self.conf(h)).read_text()
        assert old in text, (old, text)
        Path(self.conf(h)).write_text(text.replace(old, new))

    def sighup(self, h):
        """SIGHUP, then waits for the daemon's "reloaded" (or "refused") line."""
        before = len(self.log(h))
        self.daemons[h].send_signal(signal.SIGHUP)
        wait_for(f"{h} to reload", lambda: re.search(r"reloaded |reload refused", self.log(h)[before:]), SETTLE, 0.02)
        return self.log(h)[before:]

    def status(self, h, name="vip1"):
        out = self.ctl(h, "--json", "vrrp", "status").stdout
        for instance in json.loads(out)["instances"]:
            if instance["name"] == name:
                return instance
        return None

    def state(self, h, name="vip1"):
        instance = self.status(h, name)
        return instance["state"] if instance else None

    def transitions(self, h):
        return self.status(h)["transitions"]

    def holds(self, h, address, dev="eth0"):
        out = run("ip", "-n", self.ns[h], "-4", "-o", "addr", "show", "dev", dev).stdout
        return f" {address}/" in out

    def sniffer(self, seconds):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns["sw"], dp.PY, f"{self.tmp}/sniff.py",
                              switch_port("lb1"), str(seconds)], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        return p

    @staticmethod
    def sniffed(p, since=0.0):
        out, _ = p.communicate(timeout=30)
        return [line for line in out.splitlines() if float(line.split()[1]) >= since]


@pytest.fixture(scope="module")
def lab():
    yield from dp.module_lab(ReloadPair, "ringlb-reload.")


def clean_addresses(lab):
    for h in dp.BALANCERS:
        for address, dev in ((VIP, "eth0"), (VIP_EXTRA, "eth0"), (VIP2, "eth0"), (LB1_OTHER, "eth0"),
                             (VIP_ETH1, "eth1")):
            run("ip", "-n", lab.ns[h], "addr", "del", f"{address}/24", "dev", dev, check=False)


@pytest.fixture
def pair(lab):
    """Both daemons on the base config, lb1 master and serving, for each test."""
    clean_addresses(lab)
    for h in dp.BALANCERS:
        lab.write_config(h)
    lab.start_pair()
    try:
        yield lab
    finally:
        lab.kill_all()
        clean_addresses(lab)


def test_priority_raised_on_the_backup_preempts_only_once_preempt_allows_it(pair):
    lb1_before, lb2_before = pair.transitions("lb1"), pair.transitions("lb2")
    pair.write_config("lb2", vip1="preempt = false\n")
    pair.edit("lb2", "priority = 100\n", "priority = 200\n")
    log = pair.sighup("lb2")
    assert "config change: vrrp.vip1.priority 100 -> 200: applied" in log, log
    assert "config change: vrrp.vip1.preempt (default) -> false: applied" in log, log
    # Without preempt a higher-priority backup keeps honouring the master: no takeover
    # within ten Master_Down_Intervals.
    time.sleep(10 * dp.master_down(200))
    assert pair.state("lb2") == "BACKUP" and pair.state("lb1") == "MASTER"
    assert pair.status("lb2")["priority"] == 200

    pair.edit("lb2", "preempt = false\n", "")
    log = pair.sighup("lb2")
    assert "config change: vrrp.vip1.preempt false -> (default): applied" in log, log
    wait_for("lb2 to preempt", lambda: pair.state("lb2") == "MASTER", SETTLE, 0.05)
    wait_for("lb1 to step down", lambda: pair.state("lb1") == "BACKUP", SETTLE, 0.05)
    assert re.search(r"vrrp vip1: MASTER -> BACKUP \(higher priority 200 from " + re.escape(ADDR["lb2"]), pair.log("lb1"))
    wait_for("the VIP on lb2 only", lambda: pair.vip_hosts() == {"lb2"}, SETTLE)
    assert pair.transitions("lb1") == lb1_before + 1   # MASTER -> BACKUP, once
    assert pair.transitions("lb2") == lb2_before + 1   # BACKUP -> MASTER, once
    assert pair.served_by() == "lb2"


def test_priority_lowered_on_the_master_below_the_peer_hands_the_vip_over(pair):
    before = {h: pair.transitions(h) for h in dp.BALANCERS}
    pair.edit("lb1", "priority = 150\n", "priority = 50\n")
    p = pair.sniffer(3)
    log = pair.sighup("lb1")
    assert "config change: vrrp.vip1.priority 150 -> 50: applied" in log, log
    wait_for("lb2 to take over", lambda: pair.state("lb2") == "MASTER", SETTLE, 0.05)
    wait_for("lb1 to be BACKUP", lambda: pair.state("lb1") == "BACKUP", SETTLE, 0.05)
    wait_for("the VIP on lb2 only", lambda: pair.vip_hosts() == {"lb2"}, SETTLE)
    lines = ReloadPair.sniffed(p)
    # On the wire: lb1 advertised the new priority before it was taken over.
    assert any(f"src={ADDR['lb1']}" in line and "prio=50 " in line for line in lines), lines[-20:]
    assert {h: pair.transitions(h) for h in dp.BALANCERS} == {h: before[h] + 1 for h in dp.BALANCERS}  # one handover


def test_a_vip_added_on_the_master_is_held_answered_and_announced_then_removed(pair):
    assert pair.connect(VIP_EXTRA, dp.PORT) == ""  # nobody holds it yet
    before = {h: pair.transitions(h) for h in dp.BALANCERS}
    for h in dp.BALANCERS:  # and faster gratuitous ARP rounds, so that they show within the sniff
        pair.write_config(h, vip1=f"vip = {VIP_EXTRA}/24\ngarp_repeat = 4\ngarp_interval = 200ms\n")
    started = time.monotonic()
    p = pair.sniffer(2)
    for h in ("lb1", "lb2"):
        log = pair.sighup(h)
        assert f"config change: vrrp.vip1.vip {VIP}/24 -> {VIP}/24, {VIP_EXTRA}/24: applied" in log, log
    wait_for("lb1 to hold the new VIP", lambda: pair.holds("lb1", VIP_EXTRA), SETTLE)
    assert not pair.holds("lb2", VIP_EXTRA)  # the backup only knows it would take it
    # Answered: lb1 has no listener on that address, so it resets the connection.
    wait_for("the new VIP to answer", lambda: pair.connect(VIP_EXTRA, dp.PORT) == "refused", SETTLE, 0.05)
    lines = ReloadPair.sniffed(p, started)
    garps = [line for line in lines if line.startswith("arp ") and f"spa={VIP_EXTRA}" in line]
    assert len(garps) >= 3, lines[-20:]  # one round at once, then garp_interval (200 ms) apart
    assert min(float(b.split()[1]) - float(a.split()[1]) for a, b in zip(garps, garps[1:])) > 0.1, garps
    assert any(f"addrs={VIP},{VIP_EXTRA}" in line for line in lines if line.startswith("vrrp ")), lines[-20:]

    for h in dp.BALANCERS:
        pair.write_config(h)
    for h in ("lb1", "lb2"):
        pair.sighup(h)
    wait_for("the removed VIP to leave lb1", lambda: not pair.holds("lb1", VIP_EXTRA), SETTLE)
    assert pair.holds("lb1", VIP)  # the one that stays, stays
    assert pair.state("lb1") == "MASTER"
    assert {h: pair.transitions(h) for h in dp.BALANCERS} == before  # no failover was due
    assert pair.served_by() == "lb1"


VIP2_SECTION = f"\n[vrrp.vip2]\ninterface = eth0\nvrid = 62\npriority = {{p}}\nadvert_interval = 100ms\nvip = {VIP2}/24\n"


def test_a_section_added_starts_in_backup_and_one_removed_stops_like_a_graceful_stop(pair):
    before = {h: pair.transitions(h) for h in dp.BALANCERS}
    for h in dp.BALANCERS:
        pair.write_config(h, sections=VIP2_SECTION.format(p=dp.PRIO[h]))
        log = pair.sighup(h)
        assert "config change: vrrp.vip2 (default) -> added: applied: instance vip2 started in BACKUP" in log, log
    assert re.search(r"vrrp vip2: INIT -> BACKUP \(start\)", pair.log("lb1")), pair.log("lb1")[-2000:]
    wait_for("lb1 to be master of vip2", lambda: pair.state("lb1", "vip2") == "MASTER", SETTLE, 0.05)
    wait_for("lb1 to hold vip2's address", lambda: pair.holds("lb1", VIP2), SETTLE)
    assert pair.state("lb2", "vip2") == "BACKUP"

    log_before = len(pair.log("lb2"))
    pair.write_config("lb1")  # vip2 removed from lb1 only
    log = pair.sighup("lb1")
    assert "config change: vrrp.vip2 present -> (default): applied: instance vip2 stopped" in log, log
    wait_for("lb2 to take vip2", lambda: pair.state("lb2", "vip2") == "MASTER", SETTLE, 0.05)
    # The mechanism: lb1's priority-0 advert, not a silent master.
    assert re.search(rf"vrrp vip2: BACKUP -> MASTER \(master {re.escape(ADDR['lb1'])} sent priority 0",
                     pair.log("lb2")[log_before:]), pair.log("lb2")[-2000:]
    assert not pair.holds("lb1", VIP2)
    assert pair.status("lb1", "vip2") is None
    assert {h: pair.transitions(h) for h in dp.BALANCERS} == before  # vip1 untouched


def test_an_interface_change_restarts_the_instance_and_the_reply_says_so(pair):
    for h in dp.BALANCERS:
        pair.write_config(h)
        pair.edit(h, "interface = eth0\n", "interface = eth1\n")
        pair.edit(h, f"vip = {VIP}/24\n", f"vip = {VIP_ETH1}/24\n")
    out = pair.ctl("lb1", "reload")
    assert out.returncode == 0, out.stderr
    assert re.search(r"^vrrp\.vip1\.interface\s+eth0\s+eth1\s+restarted\s+instance vip1 restarted", out.stdout,
                     re.M), out.stdout
    assert re.search(r"^vrrp\.vip1\.vip\s+.*restarted", out.stdout, re.M), out.stdout
    assert not pair.holds("lb1", VIP)  # stopped as on a graceful stop: its VIP is gone
    assert pair.ctl("lb2", "reload").returncode == 0
    wait_for("lb1 to be master on eth1", lambda: pair.holds("lb1", VIP_ETH1, "eth1"), SETTLE)
    assert pair.state("lb1") == "MASTER" and pair.state("lb2") == "BACKUP"
    assert not pair.holds("lb2", VIP_ETH1, "eth1")
    assert re.search(r"vrrp vip1: interface or vrid changed: stopping, then starting again", pair.log("lb1"))


def test_a_vrid_change_restarts_the_instance_under_its_new_vrid(pair):
    for h in dp.BALANCERS:
        pair.edit(h, "vrid = 61\n", "vrid = 63\n")
    out = pair.ctl("lb1", "reload")
    assert out.returncode == 0, out.stderr
    assert re.search(r"^vrrp\.vip1\.vrid\s+61\s+63\s+restarted", out.stdout, re.M), out.stdout
    assert pair.ctl("lb2", "reload").returncode == 0
    wait_for("lb1 to be master again", lambda: pair.state("lb1") == "MASTER" and pair.holds("lb1", VIP), SETTLE, 0.05)
    p = pair.sniffer(1)
    lines = [line for line in ReloadPair.sniffed(p) if line.startswith("vrrp ")]
    assert lines and all(" vrid=63 " in line for line in lines), lines[-5:]
    assert pair.state("lb2") == "BACKUP"


def test_preempt_delay_holds_a_higher_backup_back_for_that_long(pair):
    pair.write_config("lb2", vip1="preempt_delay = 1500ms\n")
    pair.edit("lb2", "priority = 100\n", "priority = 200\n")
    reloaded = time.monotonic()
    log = pair.sighup("lb2")
    assert "config change: vrrp.vip1.preempt_delay (default) -> 1500ms: applied" in log, log
    wait_for("lb2 to preempt", lambda: pair.state("lb2") == "MASTER", SETTLE, 0.02)
    # Never before the delay: it starts when lb2 first hears lb1 at a lower priority.
    assert time.monotonic() - reloaded >= 1.5
    wait_for("lb1 to step down", lambda: pair.state("lb1") == "BACKUP", SETTLE, 0.05)


def test_advert_interval_source_address_and_unicast_peer_change_what_goes_on_the_wire(pair):
    run("ip", "-n", pair.ns["lb1"], "addr", "add", f"{LB1_OTHER}/24", "dev", "eth0")
    before = pair.transitions("lb2")
    pair.write_config("lb1", vip1=f"source_address = {LB1_OTHER}\nunicast_peer = {ADDR['lb2']}\n")
    pair.edit("lb1", "advert_interval = 100ms\n", "advert_interval = 200ms\n")
    p = pair.sniffer(2.5)
    log = pair.sighup("lb1")
    reloaded = time.monotonic()
    for key in ("advert_interval", "source_address", "unicast_peer"):
        assert f"config change: vrrp.vip1.{key} " in log, log
    lines = [line for line in ReloadPair.sniffed(p, reloaded + 0.1) if line.startswith("vrrp ")]
    assert lines, "no adverts seen after the reload"
    # Every advert since: from the new source, to the peer only, at 20 centiseconds.
    for line in lines:
        assert f"src={LB1_OTHER} dst={ADDR['lb2']} vrid=61 prio=150 int=20 " in line, line
    intervals = [float(b.split()[1]) - float(a.split()[1]) for a, b in zip(lines, lines[1:])]
    assert intervals and min(intervals) > 0.1, intervals  # 200 ms apart, not 100
    assert pair.state("lb2") == "BACKUP" and pair.transitions("lb2") == before
    wait_for("lb2 to name the new source as master", lambda: pair.status("lb2")["master"] == LB1_OTHER, SETTLE, 0.05)


@pytest.fixture
def scripts_dir():
    """Notify scripts must sit where only root can write (docs/security.md): not /tmp."""
    path = tempfile.mkdtemp(prefix=f"ringlb-reload-test-{os.getpid()}-", dir="/run")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_garp_refresh_and_notify_apply_at_once(pair, scripts_dir):
    out_file = f"{pair.tmp}/notify.out"
    script = Path(f"{scripts_dir}/notify.sh")
    script.write_text(NOTIFY.format(out=out_file))
    script.chmod(0o755)
    pair.write_config("lb1", vip1=f"garp_repeat = 0\ngarp_refresh = 300ms\nnotify = {script}\n")
    p = pair.sniffer(2)
    log = pair.sighup("lb1")
    reloaded = time.monotonic()
    assert "config change: vrrp.vip1.garp_refresh (default) -> 300ms: applied" in log, log
    garps = [line for line in ReloadPair.sniffed(p, reloaded) if line.startswith("arp ") and f"spa={VIP}" in line]
    assert len(garps) >= 3, garps  # a refresh every 300 ms instead of every 60 s
    # The notify script runs at the next transition: lb1 steps down when lb2 outranks it.
    pair.edit("lb1", "priority = 150\n", "priority = 50\n")
    pair.sighup("lb1")
    wait_for("the notify script to run", lambda: Path(out_file).exists() and "vip1 BACKUP" in Path(out_file).read_text(),
             SETTLE, 0.05)


def test_track_listener_and_weight_added_by_reload_move_the_vip(pair):
    dead = "\n[listener.dead]\nbind = 10.99.61.100:81\nbackend = 10.99.61.21:9\ncheck = tcp\ncheck_interval = 200ms\nfall = 1\n"
    pair.write_config("lb1", vip1="track_listener = dead\ntrack_weight = 100\n")
    pair.edit("lb1", "[vrrp.vip1]", dead.strip() + "\n\n[vrrp.vip1]")
    log = pair.sighup("lb1")
    assert "config change: vrrp.vip1.track_listener (default) -> dead: applied" in log, log
    wait_for("lb1's priority to fall to 50", lambda: pair.status("lb1")["priority"] == 50, SETTLE, 0.05)
    assert re.search(r"vrrp vip1: priority 150 -> 50 \(listener 'dead' has no healthy backend\)", pair.log("lb1"))
    wait_for("lb2 to take over", lambda: pair.state("lb2") == "MASTER", SETTLE, 0.05)


def test_workers_control_socket_and_metrics_changes_are_listed_as_needing_a_restart(pair):
    pair.write_config("lb1", glob="workers = 2\n")
    out = pair.ctl("lb1", "reload")
    assert out.returncode == 0, out.stderr
    assert re.search(r"^global\.workers\s+1\s+2\s+needs_restart\s+not applied: ringlbd keeps running 1 worker",
                     out.stdout, re.M), out.stdout
    assert "1 need a restart" in out.stdout
    assert re.search(r"config change: global\.workers 1 -> 2: not applied", pair.log("lb1"))
    assert json.loads(pair.ctl("lb1", "--json", "status").stdout)["workers"] == 1
    reply = json.loads(pair.ctl("lb1", "--json", "reload").stdout)  # reported again while it stands
    assert [c["result"] for c in reply["changes"] if c["setting"] == "global.workers"] == ["needs_restart"]
    assert pair.state("lb1") == "MASTER"


def test_a_reload_naming_a_missing_interface_is_refused_and_changes_nothing(pair):
    pair.write_config("lb1", sections=VIP2_SECTION.format(p=150).replace("interface = eth0", "interface = eth9"))
    out = pair.ctl("lb1", "reload")
    assert out.returncode == 1, out.stdout
    assert "interface eth9 does not exist" in out.stderr, out.stderr
    assert pair.status("lb1", "vip2") is None
    assert pair.state("lb1") == "MASTER" and pair.holds("lb1", VIP)


def test_vrrp_sections_added_to_a_daemon_started_without_any_start_the_vrrp_thread(pair):
    for h in dp.BALANCERS:
        pair.kill(h, signal.SIGKILL)
    clean_addresses(pair)
    for h in dp.BALANCERS:
        pair.write_config(h)
        text = Path(pair.conf(h)).read_text()
        Path(pair.conf(h)).write_text(text[:text.index("[vrrp.vip1]")])
        pair.start(h)
    for h in dp.BALANCERS:
        wait_for(f"{h}'s control socket", lambda h=h: pair.ctl(h, "status").returncode == 0, SETTLE, 0.05)
        assert pair.ctl(h, "vrrp", "status").stderr.strip() == "ringlbctl: vrrp not configured"
    for h in dp.BALANCERS:
        pair.write_config(h)
        log = pair.sighup(h)
        assert "config change: vrrp.vip1 (default) -> added: applied: instance vip1 started in BACKUP" in log, log
    wait_for("lb1 to own the VIP", lambda: pair.vip_hosts() == {"lb1"}, SETTLE)
    wait_for("the client to be served through lb1", lambda: pair.served_by() == "lb1", SETTLE, 0.05)
    assert pair.state("lb2") == "BACKUP"
    # Every section removed again: the instances stop, the thread idles with none.
    for h in dp.BALANCERS:
        text = Path(pair.conf(h)).read_text()
        Path(pair.conf(h)).write_text(text[:text.index("[vrrp.vip1]")])
        pair.sighup(h)
    wait_for("the VIP to leave both hosts", lambda: pair.vip_hosts() == set(), SETTLE)
    assert json.loads(pair.ctl("lb1", "--json", "status").stdout)["vrrp"] == []
