"""tcp_keepalive against peers that vanish: three network namespaces (client, balancer,
backend) joined by two veth links; build/ringlbd runs in the balancer's. A connection is
forwarded and left idle, then one peer's link goes down, so it can neither answer nor
close. With tcp_keepalive = on ringlbd's keepalive probes go unanswered and it closes the
connection on the other side after keepalive_idle + keepalive_interval × keepalive_count;
without it, the connection stays (it would wait for idle_timeout).

Root only (ip netns). Traffic stays inside the namespaces created here (10.23.x.0/24),
named with this process's PID; they are deleted, and every process in them killed, at
the end of each test.
"""
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from netns_lan import kill_everything_in, run, wait_for

ROOT = Path(__file__).resolve().parents[2]
BUILD = (ROOT / os.environ.get("RINGLB_BUILD", "build")).resolve()
RINGLBD = BUILD / "ringlbd"
PY = "/usr/bin/python3"

IDLE, INTERVAL, COUNT = 1, 1, 2          # seconds, seconds, probes: detection after 3 s
DETECT = IDLE + INTERVAL * COUNT
LB_CL, CL = "10.23.1.1", "10.23.1.2"
LB_BE, BE = "10.23.0.1", "10.23.0.2"
PORT, BACKEND_PORT = 8023, 9023

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for ip netns")

# Both ends print "ready", then "up" once the connection carries the backend's name,
# then "closed SECONDS" (time.monotonic(), shared by every namespace) when their peer
# closes or resets it. Each exits by itself after a minute.
UNTIL_CLOSED = r'''
try:
    while c.recv(4096):
        pass
except OSError:
    pass
print("closed", time.monotonic(), flush=True)
'''

BACKEND = r'''
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(4); s.settimeout(60)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(60)
c.sendall(b"be\n"); print("up", flush=True)
''' + UNTIL_CLOSED

CLIENT = r'''
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10); c.settimeout(60)
print("ready", flush=True)
assert c.recv(3) == b"be\n"
print("up", flush=True)
''' + UNTIL_CLOSED


class Lines:
    """A child process's stdout, read line by line with a bound (its own buffer: a
    buffered readline could swallow the next line and leave select() waiting)."""

    def __init__(self, proc):
        self.proc = proc
        self.pending = b""

    def expect(self, word, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, left))
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        line = line.decode().strip()
        assert line.startswith(word), (word, line)
        return line


@pytest.fixture
def net():
    tag = f"rka{os.getpid()}"
    ns = {"cl": f"{tag}cl", "lb": f"{tag}lb", "be": f"{tag}be"}
    try:
        for name in ns.values():
            run("ip", "netns", "add", name)
            run("ip", "-n", name, "link", "set", "lo", "up")
        for host, lb_end, host_addr, lb_addr in (("cl", "to-cl", CL, LB_CL), ("be", "to-be", BE, LB_BE)):
            run("ip", "link", "add", "eth0", "netns", ns[host], "type", "veth", "peer", "name", lb_end,
                "netns", ns["lb"])
            run("ip", "-n", ns[host], "addr", "add", f"{host_addr}/24", "dev", "eth0")
            run("ip", "-n", ns["lb"], "addr", "add", f"{lb_addr}/24", "dev", lb_end)
            run("ip", "-n", ns[host], "link", "set", "eth0", "up")
            run("ip", "-n", ns["lb"], "link", "set", lb_end, "up")
        yield ns
    finally:
        for name in ns.values():
            kill_everything_in(name)
            run("ip", "netns", "del", name, check=False)


def start(ns, *args):
    return subprocess.Popen(["ip", "netns", "exec", ns, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def forward_one(net, workdir, keepalive):
    """ringlbd in the balancer's namespace and one idle connection through it."""
    keys = (f"tcp_keepalive = on\nkeepalive_idle = {IDLE}s\nkeepalive_interval = {INTERVAL}s\n"
            f"keepalive_count = {COUNT}\n") if keepalive else ""
    conf = Path(workdir) / "ringlbd.conf"
    conf.write_text(f"[global]\nworkers = 1\nshutdown_grace = 1s\ncontrol_socket = {workdir}/ctl.sock\n\n"
                    f"[listener.web]\nbind = {LB_CL}:{PORT}\nbackend = {BE}:{BACKEND_PORT}\n{keys}")
    log = open(Path(workdir) / "ringlbd.log", "wb")
    daemon = subprocess.Popen(["ip", "netns", "exec", net["lb"], RINGLBD, "-c", conf], stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    backend = Lines(start(net["be"], PY, "-c", BACKEND, BE, BACKEND_PORT))
    assert backend.expect("ready", 10)
    listening = ["ip", "netns", "exec", net["lb"], "ss", "-ltnH", f"sport = :{PORT}"]
    wait_for("ringlbd to listen",
             lambda: subprocess.run(listening, capture_output=True, text=True, timeout=10).stdout.strip() != "",
             10, step=0.1)
    client = Lines(start(net["cl"], PY, "-c", CLIENT, LB_CL, PORT))
    assert client.expect("ready", 10) and client.expect("up", 10) and backend.expect("up", 10), \
        (Path(workdir) / "ringlbd.log").read_text()
    return daemon, client, backend


def closed_at(lines, timeout):
    line = lines.expect("closed", timeout)
    return None if line is None else float(line.split()[1])


@pytest.mark.parametrize("vanishes", ["backend", "client"])
def test_a_vanished_peer_is_detected_after_idle_plus_interval_times_count(net, vanishes):
    with tempfile.TemporaryDirectory(prefix="rka-") as workdir:
        daemon, client, backend = forward_one(net, workdir, keepalive=True)
        try:
            gone, survivor = (backend, client) if vanishes == "backend" else (client, backend)
            host = "be" if vanishes == "backend" else "cl"
            time.sleep(0.2)
            cut = time.monotonic()
            run("ip", "-n", net[host], "link", "set", "eth0", "down")
            ended = closed_at(survivor, DETECT + 10)
            assert ended is not None, f"the {vanishes}'s disappearance was never detected"
            took = ended - cut
            # The kernel's keepalive: the first probe after IDLE of silence (counted from
            # the last segment, before the cut), then COUNT probes INTERVAL apart.
            print(f"keepalive: the {vanishes} vanished, detected after {took:.2f} s")
            assert took >= DETECT - IDLE - 0.1, took
            assert took <= 2 * DETECT + 1, took
        finally:
            daemon.terminate()
            daemon.wait(timeout=15)


def test_without_keepalive_a_vanished_backend_goes_unnoticed(net):
    with tempfile.TemporaryDirectory(prefix="rka-") as workdir:
        daemon, client, backend = forward_one(net, workdir, keepalive=False)
        try:
            run("ip", "-n", net["be"], "link", "set", "eth0", "down")
            assert closed_at(client, 2 * DETECT) is None, "closed without keepalive"
        finally:
            daemon.terminate()
            daemon.wait(timeout=15)
