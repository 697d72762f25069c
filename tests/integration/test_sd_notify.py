"""systemd notification (Type=notify, WatchdogSec) against the real ringlbd: a test
socket stands in for systemd's NOTIFY_SOCKET and records what the daemon sends —
READY=1 once the listeners are bound, WATCHDOG=1 at half of WATCHDOG_USEC,
RELOADING=1 then READY=1 around a reload, STOPPING=1 on SIGTERM."""
from __future__ import annotations

import os
import signal
import socket
import time

import pytest

import harness

pytestmark = pytest.mark.skipif(
    not harness.RINGLBD.exists() or b"NOTIFY_SOCKET" not in harness.RINGLBD.read_bytes(),
    reason="ringlbd does not call sd_notify yet (core/daemon/sd_notify.h not wired into the daemon)")


class NotifySocket:
    """An abstract-namespace datagram socket, as systemd's /run/systemd/notify."""

    def __init__(self):
        self.name = f"ringlb-notify-test-{os.getpid()}-{time.monotonic_ns()}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name)
        self.messages: list[str] = []

    def env(self, **extra) -> list[str]:
        return ["env", f"NOTIFY_SOCKET=@{self.name}", *(f"{k}={v}" for k, v in extra.items())]

    def collect(self, seconds: float) -> list[str]:
        """Everything that arrives within `seconds`, appended to self.messages."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                break
        return self.messages

    def drain(self) -> list[str]:
        """Appends what is already queued, without waiting: on a loaded machine the
        daemon may have sent several messages before the test got to read them."""
        self.sock.setblocking(False)
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        return self.messages

    def wait_for(self, first_line: str, timeout: float = 10.0) -> int:
        """Index in self.messages of the first message starting with first_line."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for i in range(seen, len(self.messages)):
                if self.messages[i].split("\n")[0] == first_line:
                    return i
            seen = len(self.messages)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {first_line} within {timeout}s; got {self.messages}")
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()


@pytest.fixture
def notify():
    n = NotifySocket()
    yield n
    n.close()


def listener(servers):
    backend = servers(harness.echo_handler, "echo")
    port = harness.free_port()
    return port, {"t": {"bind": f"127.0.0.1:{port}", "backends": [backend.addr]}}


def test_ready_is_sent_once_the_listeners_listen(servers, ringlbd, notify):
    port, listeners = listener(servers)
    daemon = ringlbd(listeners, ready=False, prefix=notify.env())
    i = notify.wait_for("READY=1")
    assert port in harness.listening_ports(daemon.pid), "READY=1 before the listener was listening"
    assert sum(m.split("\n")[0] == "READY=1" for m in notify.messages[: i + 1]) == 1
    with harness.connect(port) as conn:
        conn.sendall(b"ping\n")
        assert harness.recv_exact(conn, 5) == b"ping\n"


def test_the_watchdog_is_fed_every_half_watchdog_usec(servers, ringlbd, notify):
    _, listeners = listener(servers)
    ringlbd(listeners, prefix=notify.env(WATCHDOG_USEC=400000))  # a ping every 200 ms
    notify.wait_for("READY=1")
    start = len(notify.drain())  # count only the pings sent during the 2 s window
    notify.collect(2.0)
    pings = sum(m == "WATCHDOG=1" for m in notify.messages[start:])
    assert 7 <= pings <= 12, notify.messages


def test_a_watchdog_meant_for_another_pid_is_not_fed(servers, ringlbd, notify):
    _, listeners = listener(servers)
    ringlbd(listeners, prefix=notify.env(WATCHDOG_USEC=200000, WATCHDOG_PID=1))
    notify.wait_for("READY=1")
    notify.collect(1.0)
    assert "WATCHDOG=1" not in notify.messages


def test_a_reload_is_framed_by_reloading_and_ready_even_when_refused(servers, ringlbd, notify):
    _, listeners = listener(servers)
    daemon = ringlbd(listeners, prefix=notify.env())
    notify.wait_for("READY=1")
    del notify.messages[:]

    daemon.signal(signal.SIGHUP)
    reloading = notify.wait_for("RELOADING=1")
    assert notify.messages[reloading].split("\n")[1].startswith("MONOTONIC_USEC=")
    notify.messages = notify.messages[reloading + 1:]
    notify.wait_for("READY=1")
    daemon.wait_log("reloaded")

    good = daemon.config_path.read_text()
    daemon.config_path.write_text(good + "\n[listener.bad]\nbind = nonsense\n")
    del notify.messages[:]
    daemon.signal(signal.SIGHUP)
    reloading = notify.wait_for("RELOADING=1")
    notify.messages = notify.messages[reloading + 1:]
    notify.wait_for("READY=1")  # the old configuration runs on
    daemon.wait_log("reload refused")
    daemon.config_path.write_text(good)


def test_sigterm_sends_stopping(servers, ringlbd, notify):
    _, listeners = listener(servers)
    daemon = ringlbd(listeners, prefix=notify.env(), shutdown_grace="1s")
    notify.wait_for("READY=1")
    daemon.signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    assert daemon.wait_exit(10) == 0
