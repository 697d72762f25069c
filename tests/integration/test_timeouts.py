"""Timeouts: connect_timeout against a backend that never answers a SYN (inside a
network namespace this test creates, where a firewall rule drops the SYNs), and
idle_timeout on a silent connection versus a talking one."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
import time

import pytest

import harness

NS_LISTEN_A = 19000   # only the blackholed backend, no retries
NS_LISTEN_B = 19010   # blackholed + working backend
NS_BLACKHOLE = 19001  # SYNs to this port are dropped
NS_WORKING = 19002


def run(cmd, timeout=10):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def drop_syns(ns: str, port: int) -> str:
    """Adds a rule dropping TCP SYNs to 127.0.0.1:port inside ns; returns "" or why not."""
    why = []
    if shutil.which("iptables"):
        r = run(["ip", "netns", "exec", ns, "iptables", "-w", "5", "-A", "INPUT", "-p", "tcp", "-d", "127.0.0.1",
                 "--dport", str(port), "--syn", "-j", "DROP"])
        if r.returncode == 0:
            return ""
        why.append(f"iptables: {r.stderr.strip()}")
    if shutil.which("nft"):
        script = (f"add table inet ringlbtest\n"
                  f"add chain inet ringlbtest input {{ type filter hook input priority 0 ; }}\n"
                  f"add rule inet ringlbtest input ip daddr 127.0.0.1 tcp dport {port} "
                  f"tcp flags & (syn | ack) == syn drop\n")
        r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script, capture_output=True,
                           text=True, timeout=10)
        if r.returncode == 0:
            return ""
        why.append(f"nft: {r.stderr.strip()}")
    return "; ".join(why) or "neither iptables nor nft is installed"


@pytest.fixture
def netns():
    """A fresh network namespace with lo up and SYNs to NS_BLACKHOLE dropped."""
    if os.geteuid() != 0:
        pytest.skip("connect_timeout test needs root to create a network namespace")
    if not shutil.which("ip"):
        pytest.skip("connect_timeout test needs `ip` (iproute2)")
    name = f"ringlb-test-{secrets.token_hex(4)}"
    r = run(["ip", "netns", "add", name])
    if r.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {r.stderr.strip()}")
    try:
        r = run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"])
        if r.returncode != 0:
            pytest.skip(f"cannot bring lo up in {name}: {r.stderr.strip()}")
        why = drop_syns(name, NS_BLACKHOLE)
        if why:
            pytest.skip(f"cannot drop SYNs inside {name}: {why}")
        probe = run(["ip", "netns", "exec", name, harness.PYTHON, "-c", harness.NETNS_PROBE,
                     str(NS_BLACKHOLE), "0.5"]).stdout.strip()
        if probe != "timeout":
            pytest.skip(f"the SYN-dropping rule did not blackhole port {NS_BLACKHOLE} (probe: {probe!r})")
        yield name
    finally:
        r = run(["ip", "netns", "delete", name])
        assert r.returncode == 0, f"could not delete namespace {name}: {r.stderr}"


def test_connect_timeout_is_honoured_against_a_backend_that_never_answers(netns, ringlbd):
    in_ns = ["ip", "netns", "exec", netns]
    working = subprocess.Popen(in_ns + [harness.PYTHON, "-c", harness.NETNS_BACKEND, str(NS_WORKING), "working", "60"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert working.stdout.readline().strip() == "ready"
        blackhole = f"127.0.0.1:{NS_BLACKHOLE}"
        daemon = ringlbd({
            "a": {"bind": f"127.0.0.1:{NS_LISTEN_A}", "backends": [blackhole], "connect_timeout": "500ms",
                  "retries": 0},
            "b": {"bind": f"127.0.0.1:{NS_LISTEN_B}", "backends": [blackhole, f"127.0.0.1:{NS_WORKING}"],
                  "connect_timeout": "500ms", "retries": 2},
        }, prefix=in_ns)

        def client(port, count):
            r = run(in_ns + [harness.PYTHON, "-c", harness.NETNS_CLIENT, str(port), str(count), "10"], timeout=60)
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)

        # Only the blackholed backend: the client is closed once connect_timeout passes.
        (alone,) = client(NS_LISTEN_A, 1)
        assert alone["data"] == "", alone
        assert 0.4 <= alone["elapsed"] <= 3.0, f"closed after {alone['elapsed']:.2f} s, connect_timeout is 0.5 s"
        daemon.wait_log(rf"backend {blackhole}: connect failed: timeout", timeout=3)

        # With a working backend beside it, every client is served (some after one timeout).
        results = client(NS_LISTEN_B, 4)
        assert [r["data"] for r in results] == ["working\n"] * 4, results
        assert all(r["elapsed"] < 3.0 for r in results), results
    finally:
        working.kill()
        working.wait(timeout=5)


def test_idle_timeout_closes_a_silent_connection_but_not_a_talking_one(servers, ringlbd):
    backend = servers(harness.echo_handler, "echo")
    port = harness.free_port()
    ringlbd({"t": {"bind": f"127.0.0.1:{port}", "backends": [backend.addr], "idle_timeout": "1s"}})

    talker_result = {}

    def talker():
        try:
            with harness.connect(port, timeout=5) as s:
                start = time.monotonic()
                i = 0
                while time.monotonic() - start < 3.5 and i < 50:
                    msg = f"ping {i}\n".encode()
                    s.sendall(msg)
                    assert harness.recv_exact(s, len(msg)) == msg
                    i += 1
                    time.sleep(0.3)
                talker_result["open_for"] = time.monotonic() - start
                talker_result["exchanges"] = i
        except Exception as error:  # noqa: BLE001 — reported by the main thread
            talker_result["error"] = repr(error)

    t = threading.Thread(target=talker, daemon=True)
    t.start()
    with harness.connect(port, timeout=10) as silent:
        start = time.monotonic()
        data = silent.recv(1)
        idle_for = time.monotonic() - start
    t.join(timeout=10)

    assert data == b"", f"the silent connection got {data!r}"
    assert 0.9 <= idle_for <= 4.0, f"silent connection closed after {idle_for:.2f} s, idle_timeout is 1 s"
    assert "error" not in talker_result, f"the talking connection was cut: {talker_result}"
    assert talker_result["open_for"] >= 3.0 and talker_result["exchanges"] >= 10, talker_result
