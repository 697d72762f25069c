"""systemd notification (Type=notify, WatchdogSec) against the real ringlbd: a test
socket stands in for systemd's NOTIFY_SOCKET and records what the daemon sends —
READY=1 once the listeners are bound, WATCHDOG=1 at half of WATCHDOG_USEC while every
worker makes progress and none while one is stopped, RELOADING=1 then READY=1 around a
reload, STOPPING=1 on SIGTERM."""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import statistics
import struct
import time
from pathlib import Path

import pytest

import harness

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)

pytestmark = pytest.mark.skipif(
    not harness.RINGLBD.exists() or b"NOTIFY_SOCKET" not in harness.RINGLBD.read_bytes(),
    reason="ringlbd does not call sd_notify yet (core/daemon/sd_notify.h not wired into the daemon)")


class NotifySocket:
    """An abstract-namespace datagram socket, as systemd's /run/systemd/notify."""

    def __init__(self):
        self.name = f"ringlb-notify-test-{os.getpid()}-{time.monotonic_ns()}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name)
        # The kernel stamps each datagram as it is sent: gaps between pings are the
        # daemon's, whenever the test gets to read them.
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.messages: list[str] = []
        self.ping_times: list[float] = []  # send time of every WATCHDOG=1, in order

    def _receive(self) -> None:
        data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(16))
        message = data.decode()
        self.messages.append(message)
        if message == "WATCHDOG=1":
            stamps = [struct.unpack("qq", payload[:16]) for level, kind, payload in ancillary
                      if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
            assert stamps, "no SO_TIMESTAMPNS on a datagram"
            self.ping_times.append(stamps[0][0] + stamps[0][1] / 1e9)

    def env(self, **extra) -> list[str]:
        return ["env", f"NOTIFY_SOCKET=@{self.name}", *(f"{k}={v}" for k, v in extra.items())]

    def collect(self, seconds: float) -> list[str]:
        """Everything that arrives within `seconds`, appended to self.messages."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                self._receive()
            except socket.timeout:
                break
        return self.messages

    def drain(self) -> list[str]:
        """Appends what is already queued, without waiting: on a loaded machine the
        daemon may have sent several messages before the test got to read them."""
        self.sock.setblocking(False)
        try:
            while True:
                self._receive()
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
                self._receive()
            except socket.timeout:
                pass

    def wait_pings(self, count: int, timeout: float) -> list[float]:
        """Send times of the first `count` WATCHDOG=1 pings, waiting for them if need be."""
        deadline = time.monotonic() + timeout
        while len(self.ping_times) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{len(self.ping_times)} of {count} WATCHDOG=1 within {timeout}s; "
                                     f"got {self.messages}")
            self.sock.settimeout(left)
            try:
                self._receive()
            except socket.timeout:
                pass
        return self.ping_times[:count]

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


libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WAIT_ALL = 0x40000000  # __WALL: wait for a thread that is not the process's leader


@contextlib.contextmanager
def thread_stopped(pid: int, name: str):
    """Stops the one thread of `pid` called `name` (ptrace; the others run on), as a
    worker stuck in a loop would be, and lets it run on again at the end."""
    tasks = Path(f"/proc/{pid}/task")
    tids = [int(t.name) for t in tasks.iterdir() if (t / "comm").read_text().strip() == name]
    assert len(tids) == 1, f"threads called {name}: {tids}"
    tid = tids[0]
    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
        pytest.skip(f"ptrace cannot stop a thread here: {os.strerror(ctypes.get_errno())}")
    try:
        assert libc.ptrace(PTRACE_INTERRUPT, tid, None, None) == 0, os.strerror(ctypes.get_errno())
        os.waitpid(tid, WAIT_ALL)  # it is stopped once this returns
        yield
    finally:
        libc.ptrace(PTRACE_DETACH, tid, None, None)


@pytest.mark.parametrize("watchdog_usec", [1_000_000, 2_400_000])
def test_the_watchdog_is_fed_every_half_watchdog_usec(servers, ringlbd, notify, watchdog_usec):
    """Pings keep coming while the workers progress, never sooner than half of WATCHDOG_USEC
    (the watchdog thread waits that long between looks), and most of them well before a whole
    WATCHDOG_USEC (the median bound leaves room for a loaded or sanitized run). The two
    timeouts are far enough apart that no fixed interval passes both."""
    interval = watchdog_usec / 2e6
    _, listeners = listener(servers)
    ringlbd(listeners, prefix=notify.env(WATCHDOG_USEC=watchdog_usec))
    notify.wait_for("READY=1")
    pings = notify.wait_pings(6, timeout=30 + 12 * interval)
    gaps = [later - earlier for earlier, later in zip(pings, pings[1:])]
    assert min(gaps) >= interval - 0.002, f"a ping sooner than {interval}s after the one before: {gaps}"
    assert statistics.median(gaps) <= 2 * interval, f"pings are not every {interval}s: {gaps}"


def test_the_watchdog_starves_while_a_worker_is_stuck_and_is_fed_again_after(servers, ringlbd, notify):
    """With worker 0 stopped, every look of the watchdog thread (every 500 ms here) logs it
    and sends no WATCHDOG=1, so systemd would kill and restart ringlbd; once it runs again
    the pings resume."""
    _, listeners = listener(servers)
    daemon = ringlbd(listeners, prefix=notify.env(WATCHDOG_USEC=1_000_000))
    notify.wait_for("READY=1")
    notify.wait_pings(2, timeout=30)
    stalled = r"watchdog: worker\(s\) 0 made no progress in 500 ms; not feeding"
    with thread_stopped(daemon.pid, "ringlb-w0"):
        daemon.wait_log(stalled, timeout=30)
        notify.drain()  # every ping sent before that line was logged is queued by now
        pings_before = len(notify.ping_times)
        daemon.wait_log(stalled, timeout=30, count=3)
        notify.drain()
        assert len(notify.ping_times) == pings_before, "WATCHDOG=1 sent while worker 0 was stopped"
    notify.wait_pings(pings_before + 1, timeout=30)


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
