"""Stopping a balancer of the real pair (issue 18 items 3-5): the state file of held VIPs
makes `--release` remove a VIP the config no longer names and hand over before it reads
the config at all; a SIGTERM on the master resets the connections made to the VIPs it
gives up, so it exits in about a second while those on its own address drain.

Root only (ip netns). Reuses test_daemon_pair's Pair in namespaces of its own
(rlbs<PID>-*, 10.99.61.0/24 inside them); they are deleted, and every process in them
killed, when the module ends.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from netns_lan import run, wait_for
from test_daemon_pair import ADDR, BALANCERS, PY, VIP, Pair, built_lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for ip netns")

VIP2 = "10.99.61.101"
HOLD_PORT = 81
HOLD_BACKEND_PORT = 8081
# Long-lived connections: both balancers listen on every address, so a client can come
# through the VIP (which moves) or through lb1's own address (which stays).
HOLD_LISTENER = f"[listener.hold]\nbind = 0.0.0.0:{HOLD_PORT}\nbackend = {ADDR['be1']}:{HOLD_BACKEND_PORT}\n\n"

# Greets each connection with "hold\n", then echoes what it reads until EOF or reset.
# Bounded: exits by itself after 10 minutes.
HOLD_BACKEND = r'''
import selectors, socket, sys, time
address, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((address, port))
s.listen(512)
sel = selectors.DefaultSelector()
sel.register(s, selectors.EVENT_READ)
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    for key, _ in sel.select(0.5):
        if key.fileobj is s:
            c, _ = s.accept()
            c.sendall(b"hold\n")
            sel.register(c, selectors.EVENT_READ)
            continue
        try:
            data = key.fileobj.recv(4096)
        except OSError:
            data = b""
        if data:
            key.fileobj.sendall(data)
        else:
            sel.unregister(key.fileobj)
            key.fileobj.close()
'''

# Opens N connections to VIP:PORT and M to OTHER:PORT, each greeted by the backend;
# prints "open N M", then waits (bounded by MAX_SECONDS) for every VIP connection to end
# and prints "vip reset=R eof=E open=O"; then checks each other connection still echoes,
# prints "others alive=A", closes them and exits.
HOLD_CLIENT = r'''
import select, socket, sys, time
vip, other, port, n, m, max_seconds = (sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                      int(sys.argv[5]), float(sys.argv[6]))
def opened(address):
    c = socket.create_connection((address, port), timeout=2)
    c.settimeout(2)
    assert c.recv(5) == b"hold\n"
    return c
vips = [opened(vip) for _ in range(n)]
others = [opened(other) for _ in range(m)]
print("open", len(vips), len(others), flush=True)
reset = eof = 0
live = list(vips)
deadline = time.monotonic() + max_seconds
while live and time.monotonic() < deadline:
    ready, _, _ = select.select(live, [], [], 0.05)
    for c in ready:
        try:
            data = c.recv(64)
        except ConnectionResetError:
            reset += 1
            live.remove(c)
            continue
        if not data:
            eof += 1
            live.remove(c)
print(f"vip reset={reset} eof={eof} open={len(live)}", flush=True)
alive = 0
for c in others:
    try:
        c.sendall(b"ping")
        alive += c.recv(4) == b"ping"
    except OSError:
        pass
    c.close()
print(f"others alive={alive}", flush=True)
'''


class StopPair(Pair):
    def __init__(self, tmp):
        super().__init__(tmp)
        self.ns = {h: f"rlbs{os.getpid()}-{h}" for h in self.ns}

    def build(self):
        super().build()
        Path(f"{self.tmp}/hold_backend.py").write_text(HOLD_BACKEND)
        Path(f"{self.tmp}/hold_client.py").write_text(HOLD_CLIENT)
        self.others.append(subprocess.Popen(
            ["ip", "netns", "exec", self.ns["be1"], PY, f"{self.tmp}/hold_backend.py", ADDR["be1"],
             str(HOLD_BACKEND_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def addresses(self, h):
        return run("ip", "-n", self.ns[h], "-4", "-o", "addr", "show", "dev", "eth0").stdout


@pytest.fixture
def lab_clean(lab):
    """No VIP on either host before and after; the configs back to the module's own."""
    def clean():
        for h in list(lab.daemons):
            lab.kill(h, signal.SIGKILL)
        for h in BALANCERS:
            for address in (f"{VIP}/24", f"{VIP2}/32"):
                run("ip", "-n", lab.ns[h], "addr", "del", address, "dev", "eth0", check=False)
            Path(lab.state_file(h)).unlink(missing_ok=True)
    clean()
    try:
        yield lab
    finally:
        clean()
        for h in BALANCERS:
            lab.write_config(h)


def start_with_two_vips(lab):
    """Both hosts configured with VIP and VIP2, lb1 master holding both."""
    for h in BALANCERS:
        lab.write_config(h, vips=(f"{VIP}/24", f"{VIP2}/32"))
    lab.start_pair()
    wait_for("lb1 to hold both VIPs", lambda: f" {VIP2}/32" in lab.addresses("lb1"), 3)
    return lab


@pytest.fixture(scope="module")
def lab():
    with built_lab(StopPair, "ringlb-stop.") as stop_pair:
        yield stop_pair


def test_release_removes_a_vip_that_the_reloaded_config_no_longer_names(lab_clean):
    lab = start_with_two_vips(lab_clean)
    recorded = Path(lab.state_file("lb1")).read_text()
    assert re.search(rf"^instance vip1 dev=eth0 vrid=61 source={ADDR['lb1']} .*held=.*{VIP2}/32", recorded, re.M), \
        recorded
    # The second VIP leaves lb1's file; whatever the reload does with it (applied live, or
    # left on the interface), a crash now must not orphan it.
    lab.write_config("lb1", vips=(f"{VIP}/24",))
    log_before = len(lab.log("lb1"))
    lab.daemons["lb1"].send_signal(signal.SIGHUP)
    wait_for("lb1 to reload", lambda: "reload" in lab.log("lb1")[log_before:], 3, 0.02)
    lab.kill("lb1", signal.SIGKILL)
    out = lab.release("lb1")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 VRRP instance(s) released" in out.stdout, out.stdout + out.stderr
    left = lab.addresses("lb1")
    assert f" {VIP2}/" not in left and f" {VIP}/" not in left, left
    assert f" {ADDR['lb1']}/24" in left   # the host's own address is never touched
    assert not Path(lab.state_file("lb1")).exists()   # all it listed is gone: nothing left to do
    again = lab.release("lb1")
    assert "0 VRRP instance(s) released" in again.stdout, again.stdout + again.stderr
    wait_for("lb2 to own both VIPs", lambda: f" {VIP2}/32" in lab.addresses("lb2"), 3)


def test_release_hands_over_from_the_state_file_before_it_reads_the_config(lab_clean):
    lab = lab_clean
    lab.start_pair()
    lab.kill("lb1", signal.SIGKILL)
    # The config is unreadable now: the priority-0 advert and the VIP's removal come from
    # the state file alone; the config's errors are reported after.
    Path(lab.conf("lb1")).write_text("[global\nthis is not a config\n")
    log_before = len(lab.log("lb2"))
    out = lab.release("lb1")
    assert out.returncode == 1, out.stdout + out.stderr   # the config could not be read
    assert "1 VRRP instance(s) released" in out.stdout, out.stdout + out.stderr
    assert f" {VIP}/" not in lab.addresses("lb1")
    # lb2 names the mechanism: the priority-0 advert, not a silent master.
    wait_for("lb2 to take over", lambda: re.search(
        rf"vrrp vip1: BACKUP -> MASTER \(master {re.escape(ADDR['lb1'])} sent priority 0",
        lab.log("lb2")[log_before:]), 3, 0.02)
    wait_for("the client to be served through lb2", lambda: lab.served_by() == "lb2", 3, 0.02)


def test_stopping_the_master_resets_its_vip_connections_and_exits_within_two_seconds(lab_clean):
    lab = lab_clean
    for h in BALANCERS:
        lab.write_config(h, grace="30s", extra=HOLD_LISTENER)
    lab.start_pair()
    n, m = 50, 5
    client = subprocess.Popen(["ip", "netns", "exec", lab.ns["sw"], PY, f"{lab.tmp}/hold_client.py", VIP,
                               ADDR["lb1"], str(HOLD_PORT), str(n), str(m), "10"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == f"open {n} {m}", client.stderr.read()
        daemon = lab.daemons["lb1"]
        stopped = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        vip_line = client.stdout.readline().strip()
        others_line = client.stdout.readline().strip()
        client.wait(timeout=15)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(timeout=5)
    # Every connection through the VIP was reset by lb1, none waited for the 30 s grace;
    # those through lb1's own address were still served while it stopped.
    assert vip_line == f"vip reset={n} eof=0 open=0", vip_line
    assert others_line == f"others alive={m}", others_line
    returncode = daemon.wait(timeout=5)
    took = time.monotonic() - stopped
    lab.daemons.pop("lb1")
    assert returncode == 0
    print(f"SIGTERM with {n} VIP + {m} own-address connections: lb1 exited {took * 1000:.0f} ms after the signal")
    assert took <= 2.0, f"lb1 took {took:.2f} s to stop (shutdown_grace 30 s)"
    log = lab.log("lb1")
    assert re.search(rf"worker 0: reset {n} connection\(s\) made to a released VIP", log), log[-3000:]
    assert "shutdown grace over" not in log
    wait_for("the client to be served through lb2", lambda: lab.served_by() == "lb2", 3, 0.02)
    assert not Path(lab.state_file("lb1")).exists()   # a clean stop holds nothing


def test_a_start_after_a_crash_removes_the_recorded_vip_the_config_no_longer_names(lab_clean):
    lab = start_with_two_vips(lab_clean)
    lab.kill("lb1", signal.SIGKILL)   # no --release: systemd's ExecStopPost did not run
    lab.write_config("lb1", vips=(f"{VIP}/24",))
    log_before = len(lab.log("lb1"))
    lab.start("lb1")
    wait_for("lb1 to remove what its crashed run recorded", lambda: f" {VIP2}/" not in lab.addresses("lb1"), 3)
    wait_for("lb1's start-up line", lambda: "recorded as held by a run that did not stop cleanly"
             in lab.log("lb1")[log_before:], 3, 0.02)
    assert f" {ADDR['lb1']}/24" in lab.addresses("lb1")
    # The new run's file lists what it holds now: the one VIP, once it is master again.
    wait_for("lb1 to be master again", lambda: lab.vrrp_state("lb1") == "MASTER", 5, 0.05)
    assert f"{VIP2}/" not in Path(lab.state_file("lb1")).read_text()
