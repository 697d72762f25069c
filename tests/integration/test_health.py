"""Health checks against the real ringlbd: tcp and http checks with rise/fall, a
separate check port, a check that times out, passive failures without checks,
agent weights and drain, slow start, and a backend killed and restarted under a
connection loop. Backends that need their own check or agent port live on their
own loopback address (127.0.0.2, 127.0.0.3), since check_port and agent_port are
per listener.

These tests also run under ASan and TSan on a loaded 2-CPU machine, where a thread
may wait hundreds of ms for a CPU. So they assert the mechanism (which checks
failed, in what order, with what reason) and use only time bounds that load cannot
break: a lower bound measured from something that happened before the daemon's
own start, an upper bound on how many checks ran in a span. check_timeout is 1s
wherever a timeout is not what is tested, so that a starved checker does not fail
a check of a healthy backend."""
from __future__ import annotations

import collections
import datetime
import http.client
import re
import socket
import struct
import threading
import time

import pytest

import harness


# ------------------------------------------------------------------ servers

def _bound(host: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # SO_REUSEPORT lets a bound, non-listening socket hold the port while the server does not
    # listen, so no outgoing connection can take it before it listens again.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((host, port))
    return s


class Backend(harness.TcpServer):
    """A harness.TcpServer on host:port that can stop listening (connects are then
    refused; its live connections stay), listen again on the same port, or be
    killed (stop listening and reset every live connection, as a dying process)."""

    def __init__(self, handler, name: str, host: str = "127.0.0.1", port: int = 0, listen: bool = True):
        super().__init__(handler, name, listen=False)
        self.sock.close()
        self.host = host
        self.sock = _bound(host, port)
        self.port = self.sock.getsockname()[1]
        self.addr = f"{host}:{self.port}"
        self._port_holder = None
        if listen:
            self.listen_now()
        else:
            self._port_holder, self.sock = self.sock, None

    def stop_listening(self) -> None:
        self._port_holder = _bound(self.host, self.port)
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept thread (EINVAL): it ends
        self._accept_thread.join(timeout=2.0)
        self.sock.close()
        self.sock = None

    def relisten(self) -> None:
        self.sock = _bound(self.host, self.port)
        self.listen_now()
        self._port_holder.close()
        self._port_holder = None

    def kill(self) -> None:
        self.stop_listening()
        with self.lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        if self.sock is None:
            self.sock = socket.socket()  # the base class closes it
        super().stop()
        if self._port_holder:
            self._port_holder.close()


def http_handler(server, conn, record):
    """Answers one HTTP request with server.http_status (200 unless changed)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 8192:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    record["request"] = data.decode(errors="replace")
    status = getattr(server, "http_status", 200)
    conn.sendall(f"HTTP/1.1 {status} Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())


def agent_handler(server, conn, record):
    """Says server.reply (one line), as a HAProxy agent does, and closes."""
    conn.sendall(getattr(server, "reply", "ready").encode() + b"\n")


def silent_handler(server, conn, record):
    """Accepts, reads, never answers; holds the connection until the peer goes."""
    record["got"] = conn.recv(4096)
    try:
        harness.recv_all(conn)
    except OSError:
        pass  # the checker gives up with a reset


def two_hosts_one_port(handler, names, hosts=("127.0.0.2", "127.0.0.3"), listen=(True, True)):
    """Servers on the same free port of each host (a per-listener check_port or
    agent_port reaches each backend's own server this way)."""
    for _ in range(50):
        first = Backend(handler, names[0], host=hosts[0], listen=listen[0])
        try:
            second = Backend(handler, names[1], host=hosts[1], port=first.port, listen=listen[1])
        except OSError:
            first.stop()
            continue
        return first, second
    raise RuntimeError("no port free on both hosts in 50 tries")


@pytest.fixture
def backends():
    """Factory: backends(handler, name, host=..., port=..., listen=True) -> Backend;
    pairs(handler, names, ...) -> two Backends on one port. All stopped at teardown."""
    started = []

    def make(handler, name, **kwargs):
        server = Backend(handler, name, **kwargs)
        started.append(server)
        return server

    def pair(handler, names, **kwargs):
        servers = two_hosts_one_port(handler, names, **kwargs)
        started.extend(servers)
        return servers

    make.pair = pair
    yield make
    for server in started:
        server.stop()


# ------------------------------------------------------------------ helpers

def listener(port, backend_lines, **keys):
    return {"t": {"bind": f"127.0.0.1:{port}", "backends": backend_lines, **keys}}


def transition(addr: str, status: str, reason: str = "") -> str:
    return rf"listener t backend {re.escape(addr)} {status} \({reason}"


def check_results(addr: str, log: str) -> list[tuple[str, str]]:
    """The active checks of one backend in a debug log, in order: ("passed", "connect ok")."""
    return re.findall(rf"listener t backend {re.escape(addr)} check (passed|failed): (.*)", log)


def log_time(line: str) -> float:
    """When ringlbd wrote a log line, as time.time() would say (the line starts with
    its local time to the ms: 2026-11-23T18:47:02.123)."""
    return datetime.datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def names_of(port: int, count: int) -> list[str]:
    return [harness.which_backend(port) for _ in range(count)]


def hold(port, count):
    socks, names = [], []
    for _ in range(count):
        s = harness.connect(port, timeout=5)
        socks.append(s)
        names.append(harness.recv_line(s).decode().strip())
    return socks, names


def connect_errors(metrics_port: int, backend: str) -> int:
    """ringlb_connect_errors_total of one backend of listener t, from /metrics."""
    conn = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    series = f'ringlb_connect_errors_total{{listener="t",backend="{backend}"}} '
    for line in text.splitlines():
        if line.startswith(series):
            return int(float(line[len(series):]))
    raise AssertionError(f"no {series.strip()} in /metrics:\n{text}")


def still_works(sock: socket.socket) -> bool:
    """A held connection to name_handler: send bytes and half-close; the backend
    reads to EOF and closes, so EOF comes back only if the whole path still works."""
    sock.settimeout(5)
    sock.sendall(b"still here")
    sock.shutdown(socket.SHUT_WR)
    return harness.recv_all(sock) == 0


# ------------------------------------------------------------------ rise and fall

def test_a_backend_that_stops_listening_goes_down_after_fall_checks_and_back_after_rise(backends, ringlbd):
    a = backends(harness.name_handler, "A")
    b = backends(harness.name_handler, "B")
    port = harness.free_port()
    started = time.monotonic()
    daemon = ringlbd(listener(port, [a.addr, b.addr], check="tcp", check_interval="300ms",
                              check_timeout="1s", rise=2, fall=3, max_fails=0), log_level="debug")
    daemon.wait_log(rf"backend {re.escape(a.addr)} check passed", timeout=10)

    socks, names = hold(port, 4)
    try:
        assert collections.Counter(names) == {"A": 2, "B": 2}, names
        on_a = [s for s, n in zip(socks, names) if n == "A"]

        a.stop_listening()
        (down,) = daemon.wait_log(transition(a.addr, "DOWN", "connect refused, 3/3"), timeout=10)
        log = daemon.log()
        elapsed = time.monotonic() - started
        # DOWN came right after the third refused check in a row, and not before it.
        results = check_results(a.addr, log[:log.index(down)])
        assert results[-3:] == [("failed", "connect refused")] * 3, results
        assert results.count(("failed", "connect refused")) == 3, results
        # Checks never ran more often than check_interval allows: each is planned
        # 285 ms or more after the one before (300 ms - 5% jitter) and may start 20 ms
        # early (a batch), the first not before the daemon started. Load only delays them.
        checks = len(check_results(a.addr, log))
        assert checks <= (elapsed + 0.02) / 0.285 + 1, f"{checks} checks of A in {elapsed:.2f} s"

        assert names_of(port, 10) == ["B"] * 10
        assert all(still_works(s) for s in on_a), "a live connection to the DOWN backend was cut"
        assert [r.get("bytes_in") for r in a.wait_records(2)] == [len(b"still here")] * 2

        a.relisten()
        daemon.wait_log(transition(a.addr, "UP", "connect ok, 2/2"), timeout=10)
        # B still holds two connections, A none: leastconn sends the next ones to A.
        assert names_of(port, 2) == ["A", "A"]
    finally:
        for s in socks:
            s.close()


def test_an_http_check_answering_500_marks_the_backend_down_and_200_brings_it_back(backends, ringlbd):
    a = backends(harness.name_handler, "A", host="127.0.0.2")
    b = backends(harness.name_handler, "B", host="127.0.0.3")
    health_a, health_b = backends.pair(http_handler, ("health-A", "health-B"))
    port = harness.free_port()
    daemon = ringlbd(listener(port, [a.addr, b.addr], check="http GET /health expect 200-299 host health.example",
                              check_port=health_a.port, check_interval="200ms", check_timeout="1s",
                              rise=2, fall=2, max_fails=0))

    request = health_a.wait_progress("request", timeout=5)["request"]
    assert request.startswith("GET /health HTTP/1.1\r\n"), request
    assert "\r\nHost: health.example\r\n" in request, request
    assert sorted(set(names_of(port, 10))) == ["A", "B"]

    health_a.http_status = 500
    daemon.wait_log(transition(a.addr, "DOWN", "HTTP 500, 2/2"), timeout=10)
    assert names_of(port, 10) == ["B"] * 10

    health_a.http_status = 204
    daemon.wait_log(transition(a.addr, "UP", "HTTP 204, 2/2"), timeout=10)
    assert "A" in names_of(port, 4)
    assert not daemon.log_lines(transition(b.addr, "DOWN"))


def test_the_check_port_is_checked_instead_of_the_service_port(backends, ringlbd):
    a = backends(harness.name_handler, "A", host="127.0.0.2")
    b = backends(harness.name_handler, "B", host="127.0.0.3")
    # Both service ports work; only B's check port refuses.
    check_a, check_b = backends.pair(harness.name_handler, ("check-A", "check-B"), listen=(True, False))
    port = harness.free_port()
    daemon = ringlbd(listener(port, [a.addr, b.addr], check="tcp", check_port=check_a.port,
                              check_interval="200ms", check_timeout="1s", rise=2, fall=2, max_fails=0))

    daemon.wait_log(transition(b.addr, "DOWN", "connect refused, first check"), timeout=10)
    assert names_of(port, 10) == ["A"] * 10
    assert not daemon.log_lines(transition(a.addr, "DOWN"))

    check_b.relisten()
    daemon.wait_log(transition(b.addr, "UP", "connect ok, 2/2"), timeout=10)
    assert "B" in names_of(port, 4)
    # A tcp check ends with SYN, SYN-ACK, RST: the check servers never see a connection.
    assert check_a.accepted == 0 and check_b.accepted == 0


def test_a_check_port_that_accepts_but_never_answers_times_out(backends, ringlbd):
    a = backends(harness.name_handler, "A", host="127.0.0.2")
    b = backends(harness.name_handler, "B", host="127.0.0.3")
    mute, health_b = backends.pair(silent_handler, ("mute", "health-B"))
    health_b.handler = http_handler
    port = harness.free_port()
    started = time.monotonic()
    daemon = ringlbd(listener(port, [a.addr, b.addr], check="http GET / expect 200", check_port=mute.port,
                              check_interval="200ms", check_timeout="1s", rise=1, fall=2, max_fails=0))

    (down,) = daemon.wait_log(transition(a.addr, "DOWN", "no response within 1s, first check"), timeout=10)
    seen_down = time.monotonic()
    first = mute.wait_progress("got", timeout=5)
    assert first["got"].startswith(b"GET / HTTP/1.1\r\n"), first  # it accepted and got the request
    # The first check started after the daemon did and waited its whole check_timeout
    # (a check that gave up at once would be seen within its first interval, 200 ms).
    assert seen_down - started >= 1.0, down
    assert names_of(port, 6) == ["B"] * 6
    assert not daemon.log_lines(transition(b.addr, "DOWN"))


# ------------------------------------------------------------------ passive

def test_passive_failures_without_checks_take_a_refusing_backend_out_for_fail_timeout(backends, ringlbd):
    """Needs the worker to call report_connect_result (core/health/passive_health.h)."""
    a = backends(harness.name_handler, "A", listen=False)  # refuses
    b = backends(harness.name_handler, "B")
    port = harness.free_port()
    daemon = ringlbd(listener(port, [a.addr, b.addr], scheduler="roundrobin", max_fails=2, fail_timeout="2s",
                              retries=2), workers=1)

    first_connect = time.monotonic()
    assert names_of(port, 6) == ["B"] * 6  # refused connects are retried on B
    daemon.wait_log(transition(a.addr, "DOWN", "2/2 connect failures within 2s: connect refused"), timeout=10)
    a.relisten()
    # A works again, but stays out until the checker says fail_timeout is over. It
    # logs that before it lets A take connections again, so a connection made and
    # answered while the log does not say it yet, and every accept A counted by
    # then, happened while A was out.
    up = transition(a.addr, "UP", "fail_timeout over")
    names = []
    deadline = time.monotonic() + 20
    while True:
        name = harness.which_backend(port)
        accepted = a.accepted
        if daemon.log_lines(up):
            break
        names.append(name)
        assert name == "B" and accepted == 0, f"A took a connection before it was back: {names}"
        assert time.monotonic() < deadline, f"never back; log:\n{daemon.log()}"
    back = time.monotonic()
    assert names, "no connection made while A was out"
    # The trip came from one of the connects above; A came back fail_timeout after it.
    assert back - first_connect >= 2.0, f"back {back - first_connect:.2f} s after the first connect"
    assert 4 <= names_of(port, 10).count("A") <= 6  # roundrobin, one worker: about every other one


# ------------------------------------------------------------------ agent

def test_an_agent_saying_50_percent_halves_the_share_and_drain_stops_new_connections(backends, ringlbd):
    """The 50% share needs the worker to use effective_weight() (core/runtime/backend.h)."""
    a = backends(harness.name_handler, "A", host="127.0.0.2")
    b = backends(harness.name_handler, "B", host="127.0.0.3")
    agent_a, agent_b = backends.pair(agent_handler, ("agent-A", "agent-B"))
    agent_a.reply, agent_b.reply = "up 50%", "ready"
    port = harness.free_port()
    daemon = ringlbd(listener(port, [a.addr, b.addr], scheduler="roundrobin", agent_port=agent_a.port,
                              agent_interval="200ms", max_fails=0), workers=1)

    daemon.wait_log(rf"backend {re.escape(a.addr)} weight 50% of 1 \(agent: 'up 50%'\)", timeout=10)
    counts = collections.Counter(names_of(port, 90))
    assert abs(counts["A"] - 30) <= 1 and abs(counts["B"] - 60) <= 1, counts

    # Hold a connection on A across the drain: take connections until one lands on A.
    socks, held = [], None
    for _ in range(6):
        s = harness.connect(port, timeout=5)
        if harness.recv_line(s).decode().strip() == "A":
            held = s
            break
        socks.append(s)
    for s in socks:
        s.close()
    assert held is not None
    try:
        agent_a.reply = "drain"
        daemon.wait_log(transition(a.addr, "DRAIN", "agent: drain"), timeout=10)
        assert names_of(port, 20) == ["B"] * 20
        assert still_works(held), "drain cut a live connection"

        agent_a.reply = "ready"
        daemon.wait_log(transition(a.addr, "UP", "agent: ready"), timeout=10)
        assert "A" in names_of(port, 6)
    finally:
        held.close()


# ------------------------------------------------------------------ slow start

def test_slow_start_ramps_a_returning_backends_share(backends, ringlbd):
    """Needs the worker to use effective_weight() (core/runtime/backend.h)."""
    a = backends(harness.name_handler, "A")
    b = backends(harness.name_handler, "B")
    port = harness.free_port()
    # fall=2 and a 1 s check_timeout: one slow check of a starved checker must not
    # take A or B out in the middle of the ramp (a refused connect fails at once).
    daemon = ringlbd(listener(port, [a.addr, b.addr], scheduler="roundrobin", check="tcp", check_interval="100ms",
                              check_timeout="1s", rise=1, fall=2, max_fails=0, slow_start="4s"), workers=1)

    a.stop_listening()
    daemon.wait_log(transition(a.addr, "DOWN", "connect refused"), timeout=10)
    a.relisten()
    (back,) = daemon.wait_log(transition(a.addr, "UP", "connect ok, 1/1"), timeout=10)
    # The ramp starts when the checker logs UP: time it from the log line, not from
    # when this test got to read it.
    up = log_time(back)

    windows = [collections.Counter() for _ in range(5)]  # seconds 0-1, 1-2, 2-3, 3-4 of the ramp, then after
    while (elapsed := time.time() - up) < 5.0:
        windows[max(int(elapsed), 0)][harness.which_backend(port)] += 1
    shares = [w["A"] / max(1, sum(w.values())) for w in windows]
    # Weight of A over the ramp is t/4 of B's: its share is w/(1+w), about
    # 11%, 27%, 38%, 47% in the middle of each second, then 50%.
    detail = f"A's share per second: {[f'{s:.2f}' for s in shares]}, connections {[sum(w.values()) for w in windows]}"
    assert shares[0] < 0.2, detail
    assert shares[0] < shares[1] < shares[3], detail
    assert 0.2 < shares[2] < 0.47, detail
    assert 0.45 <= shares[4] <= 0.55, detail
    # Each share above belongs to one ramp: neither backend went down again meanwhile.
    assert len(daemon.log_lines(transition(a.addr, "DOWN"))) == 1, daemon.log()
    assert not daemon.log_lines(transition(b.addr, "DOWN")), daemon.log()


# ------------------------------------------------------------------ kill and restart

@pytest.mark.parametrize("max_fails", ["1", "0"], ids=["passive-on", "passive-off"])
def test_a_backend_killed_and_restarted_under_a_connection_loop_costs_no_client_connection(
        max_fails, backends, ringlbd, record_property):
    servers = [backends(harness.name_handler, name) for name in "ABC"]
    a = servers[0]
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd(listener(port, [s.addr for s in servers], check="tcp", check_interval="200ms",
                              check_timeout="1s", rise=2, fall=2, retries=2, max_fails=max_fails),
                     metrics=f"127.0.0.1:{metrics_port}")

    failures, names, events = [], [], {}
    start = time.monotonic()
    # Sequential on purpose: the kill and the restart happen between two
    # connections, so what is measured is new connections meeting a dead backend
    # (a connection already on a backend that dies is lost by any TCP proxy).
    for i in range(20000):
        now = time.monotonic() - start
        if now > 15.0:
            break
        if "killed" not in events and now >= 1.0:
            a.kill()
            events["killed"] = now
        if "killed" in events and "restarted" not in events and now >= events["killed"] + 2.0:
            a.relisten()
            events["restarted"] = now
        if "restarted" in events and now >= events["restarted"] + 1.0 and names[-200:].count("A") >= 10:
            break
        try:
            name = harness.which_backend(port, timeout=5)
        except OSError as error:
            name = ""
            failures.append((i, round(now, 3), repr(error)))
        if not name:
            failures.append((i, round(now, 3), "closed without a backend"))
        names.append(name)

    killed_at = events["killed"]
    daemon.wait_log(transition(a.addr, "DOWN"), timeout=1)
    daemon.wait_log(transition(a.addr, "UP", "connect ok, 2/2"), timeout=1)
    # Every failed connect to A was retried on another backend (no client failed).
    retried = connect_errors(metrics_port, a.addr)
    record_property("connections", len(names))
    record_property("retried_connects", retried)
    print(f"\n{len(names)} connections, {len(failures)} failed, A killed at {killed_at:.2f} s and restarted at "
          f"{events['restarted']:.2f} s, connects to the dead A retried on another backend: {retried} "
          f"(max_fails={max_fails})")
    assert failures == [], failures[:10]
    assert names.count("A") > 0 and "A" in names[-200:], collections.Counter(names)
    assert retried >= 1, "the kill was never noticed by a client connection"
