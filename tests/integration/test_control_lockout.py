"""Nobody locks the operator out of the control thread (issue 19, item 2 and the control
thread's half of item 4): idle metrics clients have their own, smaller limit, the oldest
idle one makes room for a new one, a metrics client that sends nothing is closed after a
short first-byte timeout, root's ringlbctl gets through, and out of descriptors the
control thread pauses its accepts instead of spinning on a level-triggered epoll."""
from __future__ import annotations

import resource
import socket
import time

import harness
import procstat
from test_control import ctl, http_get, listener, sock_of  # noqa: F401 — sock_of is a fixture

MAX_METRICS = 64             # core/control/client_admission.h AdmissionLimits::max_metrics
FIRST_BYTE_TIMEOUT = 2.0     # core/control/control_server.h http_first_byte_timeout_ms
IDLE_TIMEOUT = 10.0          # core/control/control_server.h idle_timeout_ms
IDLE_METRICS_CLIENTS = 300


def open_idle(port: int, count: int) -> list[socket.socket]:
    """count TCP connections to the metrics port that never send a byte."""
    held = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        held.append(s)
    return held


def closed_by_daemon(s: socket.socket) -> bool:
    """Whether ringlbd has closed s (EOF or reset); an evicted client gets no last words."""
    s.setblocking(False)
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_three_hundred_idle_metrics_clients_leave_ringlbctl_and_a_scrape_answering(
        ringlbd, sock_of, echo_server, record_property):
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])}, metrics=f"127.0.0.1:{metrics_port}")
    sock = sock_of(daemon)
    fds_before = procstat.settled_fd_kinds(daemon.pid)
    held = open_idle(metrics_port, IDLE_METRICS_CLIENTS)
    try:
        # Within the first-byte timeout: all 300 are still idle and connected from our side.
        status = ctl(sock, "status", timeout=10)
        peak = procstat.fd_kinds(daemon.pid)
        scrape = http_get(metrics_port)[0]
        closed = sum(closed_by_daemon(s) for s in held)
    finally:
        for s in held:
            s.close()
    summary = (f"{IDLE_METRICS_CLIENTS} idle metrics clients: ringlbctl status exit {status.returncode}, "
               f"scrape {scrape}, {closed} closed by ringlbd, its sockets {fds_before['socket']} -> "
               f"{peak['socket']}")
    print("\n" + summary)
    record_property("summary", summary)
    assert status.returncode == 0 and "too many clients" not in status.stderr, (status.stdout, status.stderr)
    assert scrape == 200, summary
    # The metrics limit held, by closing the oldest idle clients for the newer ones.
    assert peak["socket"] <= fds_before["socket"] + MAX_METRICS + 1, summary
    assert closed >= IDLE_METRICS_CLIENTS - MAX_METRICS, summary
    assert "closed the oldest idle one for a new metrics client" in daemon.log()


def test_a_metrics_client_that_sends_nothing_is_closed_at_the_first_byte_timeout(ringlbd, echo_server):
    port, metrics_port = harness.free_port(), harness.free_port()
    ringlbd({"web": listener(port, [echo_server.addr])}, metrics=f"127.0.0.1:{metrics_port}")
    with socket.create_connection(("127.0.0.1", metrics_port), timeout=IDLE_TIMEOUT + 10) as s:
        started = time.monotonic()
        got = s.recv(4096)
        waited = time.monotonic() - started
    # Closed without a word, and by the first-byte timeout, not the (longer) idle one.
    assert got == b""
    assert FIRST_BYTE_TIMEOUT - 0.5 <= waited < IDLE_TIMEOUT - 1, f"closed after {waited:.1f} s"


FD_LIMIT = 64


def limit_fds():
    # Soft and hard: ringlbd raises its soft limit to the hard one at start.
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def test_out_of_fds_the_control_thread_pauses_its_accepts_instead_of_spinning(
        ringlbd, sock_of, echo_server, record_property):
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])}, metrics=f"127.0.0.1:{metrics_port}",
                     preexec_fn=limit_fds, shutdown_grace="2s")
    daemon.wait_log(rf"open files limit: {FD_LIMIT}\b")
    sock = sock_of(daemon)
    # More idle metrics clients than ringlbd has descriptors left (fewer than the
    # metrics limit, so admission never closes one): the rest wait in the backlog.
    held = open_idle(metrics_port, MAX_METRICS - 4)
    try:
        daemon.wait_log(r"control thread: accept: Too many open files: pausing accepts", timeout=5)
        # Until the first-byte timeout frees descriptors the listener stays readable:
        # a level-triggered epoll that is not paused wakes up at once, for ever.
        cpu_before = daemon.cpu_seconds()
        time.sleep(1.0)
        cpu_used = daemon.cpu_seconds() - cpu_before
        assert daemon.alive()
    finally:
        for s in held:
            s.close()
    record_property("summary", f"control thread out of fds: {cpu_used:.2f} s of CPU in 1 s")
    assert cpu_used < 0.5, f"ringlbd used {cpu_used:.2f} s of CPU in 1 s while out of fds: it spins"
    # Recovery: once the clients are gone, ringlbctl is answered again (bounded retries).
    deadline = time.monotonic() + 10
    status = ctl(sock, "status", timeout=10)
    while status.returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = ctl(sock, "status", timeout=10)
    assert status.returncode == 0, status.stderr
