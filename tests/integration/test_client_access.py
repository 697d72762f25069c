"""Issue 23 against the real ringlbd: allow / deny reset refused clients at accept
while allowed ones are served, and count them; drain_timeout ends the connections of
a drained or removed backend at the timeout, none earlier and none on other backends;
tcp_keepalive puts keepalive timers on both sockets of a connection (ss shows them)."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import time

import harness
from test_source_limits import attempt, close_all, ctl, listener, metrics, sock_of, stats, wait_until  # noqa: F401


def status_of(sock, address: str) -> str:
    shown = json.loads(ctl(sock, "--json", "listener", "show", "web").stdout)
    return next(b["status"] for b in shown["listener"]["backends"] if b["address"] == address)


def expect_open(s: socket.socket, what: str) -> None:
    """The connection is still up: no EOF, no reset within a short look."""
    s.settimeout(0.05)
    try:
        data = s.recv(1)
        raise AssertionError(f"{what}: closed ({data!r})")
    except socket.timeout:
        pass
    finally:
        s.settimeout(10)


def wait_closed(s: socket.socket, timeout: float) -> float:
    """Blocks until the peer closes s (EOF or reset); returns monotonic time then."""
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic()


# ---------------------------------------------------------------- allow / deny


def test_deny_wins_inside_allow_and_refused_clients_are_reset_before_any_backend(servers, ringlbd, sock_of):
    backend = servers(harness.name_handler, "b1")
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd(listener(port, [backend.addr], allow="127.0.0.0/25, ::1", deny="127.0.0.66"),
                     metrics=f"127.0.0.1:{metrics_port}")
    sock = sock_of(daemon)

    served = []
    for source in ["127.0.0.2", "127.0.0.65", "127.0.0.67"]:
        s, outcome = attempt(port, source)
        assert outcome == "b1", (source, outcome)
        served.append(s)
    for source in ["127.0.0.66", "127.0.0.128", "127.0.1.1"]:   # denied, then outside allow
        s, outcome = attempt(port, source)
        assert s is None and outcome == "reset", (source, outcome)
    try:
        web = stats(sock)
        assert web["denied"] == 3 and web["connections_total"] == 3
        assert backend.accepted == 3
        samples = metrics(metrics_port)
        assert samples['ringlb_refused_total{listener="web",reason="denied"}'] == 3
        assert "3 denied by allow/deny" in ctl(sock, "listener", "show", "web").stdout
        assert daemon.wait_log(r"listener web: denied 127\.0\.0\.66 by allow/deny")
    finally:
        close_all(served)


def test_listener_set_changes_allow_and_deny_live_and_the_file_keeps_them_across_a_restart(
        servers, ringlbd, sock_of, tmp_path, request):
    backend = servers(harness.name_handler, "b1")
    port = harness.free_port()
    daemon = ringlbd(listener(port, [backend.addr]))
    sock = sock_of(daemon)
    s, outcome = attempt(port, "127.0.0.9")
    assert outcome == "b1"
    s.close()

    done = ctl(sock, "listener", "set", "web", "--allow", "127.0.0.0/24,::1", "--deny", "127.0.0.9")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "listener web: allow 2 prefix(es), deny 1 prefix(es)"
    shown = ctl(sock, "--json", "listener", "show", "web").stdout
    assert '"allow":"127.0.0.0/24, ::1/128"' in shown and '"deny":"127.0.0.9/32"' in shown

    def outcomes():
        result = {}
        for source in ["127.0.0.9", "127.0.0.10", "127.0.1.1"]:
            s, result[source] = attempt(port, source)
            if s is not None:
                s.close()
        return result
    live = outcomes()
    assert live == {"127.0.0.9": "reset", "127.0.0.10": "b1", "127.0.1.1": "reset"}, live
    text = daemon.config_path.read_text()
    assert "allow = 127.0.0.0/24, ::1/128\n" in text and "deny = 127.0.0.9/32\n" in text, text

    bad = ctl(sock, "listener", "set", "web", "--deny", "127.0.0.9/8")
    assert bad.returncode == 1 and "127.0.0.9/8" in bad.stderr, bad.stdout + bad.stderr
    assert daemon.config_path.read_text() == text   # a refused change leaves the file

    assert daemon.stop() == 0
    again = harness.Ringlbd(tmp_path, text, name="restarted")
    request.node._ringlbd_daemons.append(again)
    again.config_path = daemon.config_path
    again.start()
    again.wait_ready({"web": port})
    assert outcomes() == live

    # An empty list clears it: everyone but the denied address again.
    done = ctl(sock, "listener", "set", "web", "--allow", "")
    assert done.returncode == 0, done.stdout + done.stderr
    assert outcomes() == {"127.0.0.9": "reset", "127.0.0.10": "b1", "127.0.1.1": "b1"}
    assert "allow =" not in again.config_path.read_text()


def test_backend_add_can_set_the_state(servers, ringlbd, sock_of):
    b1, b2 = servers(harness.name_handler, "b1"), servers(harness.name_handler, "b2")
    port = harness.free_port()
    daemon = ringlbd(listener(port, [b1.addr], scheduler="roundrobin"))
    sock = sock_of(daemon)
    done = ctl(sock, "backend", "add", "web", b2.addr, "--state", "drain")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"backend = {b2.addr} state=drain" in daemon.config_path.read_text()
    for _ in range(6):
        s, outcome = attempt(port, "127.0.0.1")
        assert outcome == "b1"   # a drained backend takes no new connection
        s.close()
    shown = ctl(sock, "listener", "show", "web").stdout
    for key in ["max_fails", "fail_timeout", "slow_start", "agent_port", "agent_interval", "drain_timeout",
                "tcp_keepalive", "allow", "deny"]:
        assert re.search(rf"^\s*{key}\s", shown, re.M), (key, shown)


# ---------------------------------------------------------------- drain_timeout


def open_to(port: int, backend_name: str, count: int, tries: int = 40) -> list[socket.socket]:
    """count connections that landed on backend_name (roundrobin spreads them)."""
    kept, others = [], []
    for _ in range(tries):
        s, outcome = attempt(port, "127.0.0.1")
        (kept if outcome == backend_name else others).append(s)
        if len(kept) == count:
            break
    close_all(s for s in others if s is not None)
    assert len(kept) == count, f"only {len(kept)} connections reached {backend_name}"
    return kept


def test_drain_timeout_ends_a_drained_backends_connections_at_the_timeout_and_no_others(
        servers, ringlbd, sock_of):
    b1, b2 = servers(harness.name_handler, "b1"), servers(harness.name_handler, "b2")
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd(listener(port, [b1.addr, b2.addr], scheduler="roundrobin", drain_timeout="2s"),
                     metrics=f"127.0.0.1:{metrics_port}")
    sock = sock_of(daemon)
    on_b1, on_b2 = open_to(port, "b1", 2), open_to(port, "b2", 2)
    try:
        began = time.monotonic()
        done = ctl(sock, "backend", "set", "web", b1.addr, "--state", "drain")
        assert done.returncode == 0, done.stdout + done.stderr
        # New clients go elsewhere at once; the drained backend's connections stay for now.
        s, outcome = attempt(port, "127.0.0.1")
        assert outcome == "b2"
        s.close()
        time.sleep(1.0)
        for s in on_b1 + on_b2:
            expect_open(s, "before drain_timeout")
        ended = [wait_closed(s, 10) - began for s in on_b1]
        assert all(e >= 2.0 for e in ended), ended          # none earlier
        assert all(e < 2.0 + 3.0 for e in ended), ended     # bounded lateness (tick + periodic, loaded CI)
        for s in on_b2:
            expect_open(s, "a connection to a backend that does not drain")
        assert stats(sock)["drain_closed"] == 2
        assert metrics(metrics_port)['ringlb_drain_closed_total{listener="web"}'] == 2

        # backend remove drains too: b2 leaves new choices at once, its connections end at drain_timeout.
        done = ctl(sock, "backend", "set", "web", b1.addr, "--state", "ready")
        assert done.returncode == 0, done.stdout + done.stderr
        # The health checker takes b1 back at its next tick.
        wait_until(lambda: status_of(sock, b1.addr) == "up", "b1 to be up again")
        began = time.monotonic()
        done = ctl(sock, "backend", "remove", "web", b2.addr)
        assert done.returncode == 0 and "drain_timeout" in done.stdout, done.stdout + done.stderr
        s, outcome = attempt(port, "127.0.0.1")
        assert outcome == "b1"
        ended = [wait_closed(s2, 10) - began for s2 in on_b2]
        assert all(2.0 <= e < 5.0 for e in ended), ended
        expect_open(s, "a new connection to the remaining backend")
        s.close()
        assert stats(sock)["drain_closed"] == 4
    finally:
        close_all(on_b1 + on_b2)


def test_without_drain_timeout_a_drained_backend_keeps_its_connections(servers, ringlbd, sock_of):
    b1 = servers(harness.name_handler, "b1")
    port = harness.free_port()
    daemon = ringlbd(listener(port, [b1.addr]))
    sock = sock_of(daemon)
    s, outcome = attempt(port, "127.0.0.1")
    assert outcome == "b1"
    try:
        assert ctl(sock, "backend", "set", "web", b1.addr, "--state", "drain").returncode == 0
        time.sleep(1.0)
        expect_open(s, "drain_timeout = 0 waits for ever")
        assert stats(sock)["drain_closed"] == 0
    finally:
        s.close()


# ---------------------------------------------------------------- tcp_keepalive


def keepalive_timers(port: int) -> list[str]:
    """ss's timer column of every TCP socket with `port` at either end."""
    out = subprocess.run(["ss", "-tnoH", f"( sport = :{port} or dport = :{port} )"], capture_output=True,
                         text=True, timeout=10).stdout
    return re.findall(r"timer:\((\w+),", out)


def test_tcp_keepalive_arms_keepalive_on_the_client_and_the_backend_socket(servers, ringlbd):
    b1 = servers(harness.name_handler, "b1")
    port = harness.free_port()
    ringlbd(listener(port, [b1.addr], tcp_keepalive="on", keepalive_idle="30s", keepalive_interval="5s",
                     keepalive_count="3"))
    s, outcome = attempt(port, "127.0.0.1")
    assert outcome == "b1"
    try:
        # ringlbd's accepted socket (sport = listener) and its backend socket (dport = backend);
        # the test's own sockets have no keepalive, so exactly those two carry the timer.
        assert keepalive_timers(port).count("keepalive") == 1
        assert keepalive_timers(b1.port).count("keepalive") == 1
    finally:
        s.close()


def test_without_tcp_keepalive_no_socket_has_a_keepalive_timer(servers, ringlbd):
    b1 = servers(harness.name_handler, "b1")
    port = harness.free_port()
    ringlbd(listener(port, [b1.addr]))
    s, outcome = attempt(port, "127.0.0.1")
    assert outcome == "b1"
    try:
        assert "keepalive" not in keepalive_timers(port) + keepalive_timers(b1.port)
    finally:
        s.close()
