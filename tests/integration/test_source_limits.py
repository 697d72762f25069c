"""Per-source abuse limits against the real ringlbd: max_conn_per_source and
rate_per_source refuse one client address (127.0.0.x) with a reset while others
pass, closing frees a slot, the bucket refills, every refusal is counted exactly
in `ringlbctl stats` and /metrics, and a reload changes the limits in place."""
from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import harness


# ----------------------------------------------------------------------- helpers


def attempt(port: int, source: str, timeout: float = 5.0):
    """Connects to 127.0.0.1:port from address source. Returns (socket, backend name)
    when ringlbd forwarded it (the socket stays open), or (None, "reset") when
    ringlbd reset it at accept, or (None, "eof") when it closed it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        return s, harness.recv_line(s).decode().strip()
    except ConnectionResetError:
        s.close()
        return None, "reset"
    except EOFError:
        s.close()
        return None, "eof"
    except BaseException:
        s.close()
        raise


def hold(port: int, source: str, count: int) -> list[socket.socket]:
    """count connections from source, each of which must be forwarded."""
    socks = []
    for i in range(count):
        s, outcome = attempt(port, source)
        if s is None:
            for held in socks:
                held.close()
            raise AssertionError(f"connection {i + 1} of {count} from {source}: {outcome}")
        socks.append(s)
    return socks


def refused_count(port: int, source: str, count: int) -> int:
    """Makes count connections from source; asserts each is reset; returns count."""
    for i in range(count):
        s, outcome = attempt(port, source)
        if s is not None:
            s.close()
        assert outcome == "reset", f"attempt {i + 1} from {source} over the limit: {outcome}"
    return count


def ctl(sock: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(harness.RINGLBCTL), "--socket", str(sock), *args], capture_output=True, text=True,
                          timeout=30)


def stats(sock: Path, name: str = "web") -> dict:
    done = ctl(sock, "--json", "stats", name)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["listeners"][0]


def metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            samples[series] = float(value)
    return samples


def rejected_metric(samples: dict, reason: str, listener: str = "web") -> float:
    return samples[f'ringlb_connections_rejected_total{{listener="{listener}",reason="{reason}"}}']


def wait_until(predicate, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def close_all(socks) -> None:
    for s in socks:
        s.close()


def listener(port: int, backends: list[str], **keys) -> dict:
    return {"web": {"bind": f"127.0.0.1:{port}", "backends": backends, **keys}}


@pytest.fixture
def sock_of(shortdir):
    """The control socket path the ringlbd fixture gave a daemon."""
    return lambda daemon: shortdir / f"{daemon.name}.sock"


# ------------------------------------------------------------------------- tests


@pytest.mark.parametrize("workers", [1, 2])
def test_max_conn_per_source_resets_one_address_over_the_limit_and_not_another(
        workers, servers, ringlbd, sock_of):
    backend = servers(harness.name_handler, "b1")
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd(listener(port, [backend.addr], max_conn_per_source=3), workers=workers,
                     metrics=f"127.0.0.1:{metrics_port}")
    sock = sock_of(daemon)

    first = hold(port, "127.0.0.2", 3)
    refused = refused_count(port, "127.0.0.2", 4)
    other = hold(port, "127.0.0.3", 3)   # another client is not limited by the first
    refused += refused_count(port, "127.0.0.3", 1)
    try:
        web = stats(sock)
        assert web["rejected_conn_limit"] == refused == 5
        assert web["rejected_rate"] == 0 and web["source_untracked"] == 0
        # Refused clients never reached a backend nor counted as connections.
        assert web["connections_total"] == 6 and web["active"] == 6
        assert backend.accepted == 6
        samples = metrics(metrics_port)
        assert rejected_metric(samples, "max_conn_per_source") == 5
        assert rejected_metric(samples, "rate_per_source") == 0
        assert samples['ringlb_connections_total{listener="web"}'] == 6
        assert samples['ringlb_source_untracked_total{listener="web"}'] == 0
        table = ctl(sock, "stats").stdout.splitlines()
        assert table[0].split()[:7] == ["LISTENER", "ACTIVE", "CONNECTIONS", "REFUSED", "QUEUE_TIMEOUTS",
                                        "REJECTED_CONN", "REJECTED_RATE"], table
        assert table[1].split()[:7] == ["web", "6", "6", "0", "0", "5", "0"], table
        shown = ctl(sock, "listener", "show", "web").stdout
        assert "max_conn_per_source" in shown and "5 over max_conn_per_source, 0 over rate_per_source" in shown

        # Closing one of the first client's connections frees exactly one slot.
        first.pop().close()
        wait_until(lambda: stats(sock)["active"] == 5, "the closed connection to be released")
        first += hold(port, "127.0.0.2", 1)
        refused_count(port, "127.0.0.2", 1)
        assert stats(sock)["rejected_conn_limit"] == 6
        assert rejected_metric(metrics(metrics_port), "max_conn_per_source") == 6
    finally:
        close_all(first + other)
    wait_until(lambda: stats(sock)["active"] == 0, "every connection to close")
    # All released: each client may open max_conn_per_source again.
    again = hold(port, "127.0.0.2", 3) + hold(port, "127.0.0.3", 3)
    close_all(again)


@pytest.mark.parametrize("workers", [1, 2])
def test_rate_per_source_resets_connections_over_the_rate_and_recovers_within_a_second(
        workers, servers, ringlbd, sock_of):
    backend = servers(harness.name_handler, "b1")
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd(listener(port, [backend.addr], rate_per_source=5), workers=workers,
                     metrics=f"127.0.0.1:{metrics_port}")
    sock = sock_of(daemon)

    # 5 per second with a burst of 5: of 15 quick attempts, 5 pass plus one per
    # 200 ms that the attempts took.
    outcomes = []
    start = time.monotonic()
    for _ in range(15):
        s, outcome = attempt(port, "127.0.0.4")
        if s is not None:
            s.close()
        outcomes.append(outcome)
    elapsed = time.monotonic() - start
    admitted = sum(o == "b1" for o in outcomes)
    rejected = sum(o == "reset" for o in outcomes)
    assert admitted + rejected == 15, outcomes
    assert outcomes[:5] == ["b1"] * 5, outcomes
    assert 5 <= admitted <= 5 + int(elapsed * 5) + 1, (outcomes, elapsed)
    assert rejected >= 1, (outcomes, elapsed)

    # Another address has its own bucket.
    other, name = attempt(port, "127.0.0.5")
    assert name == "b1"
    other.close()

    web = stats(sock)
    assert web["rejected_rate"] == rejected and web["rejected_conn_limit"] == 0
    assert web["connections_total"] == admitted + 1
    samples = metrics(metrics_port)
    assert rejected_metric(samples, "rate_per_source") == rejected
    assert rejected_metric(samples, "max_conn_per_source") == 0

    # A second later the bucket is full again: a burst of 5 passes.
    time.sleep(1.1)
    burst = []
    for _ in range(5):
        s, outcome = attempt(port, "127.0.0.4")
        if s is not None:
            s.close()
        burst.append(outcome)
    assert burst == ["b1"] * 5
    assert stats(sock)["rejected_rate"] == rejected


def test_connections_that_fail_or_time_out_in_the_queue_release_their_source_slot(servers, ringlbd, sock_of):
    # A backend that refuses: every connection ends in ringlbd's connect failure.
    dead = harness.bound_unused_socket()
    try:
        port = harness.free_port()
        daemon = ringlbd(listener(port, [f"127.0.0.1:{dead.getsockname()[1]}"], max_conn_per_source=1,
                                  retries=0, max_fails=0))
        sock = sock_of(daemon)
        for i in range(5):
            s, outcome = attempt(port, "127.0.0.6")
            assert s is None and outcome == "eof", f"attempt {i + 1}: {outcome}"
        assert stats(sock)["rejected_conn_limit"] == 0
    finally:
        dead.close()


def test_a_connection_that_times_out_in_the_queue_releases_its_source_slot(servers, ringlbd, sock_of):
    backend = servers(harness.name_handler, "b1")
    port = harness.free_port()
    daemon = ringlbd(listener(port, [backend.addr], max_connections=1, queue_timeout="200ms",
                              max_conn_per_source=1), workers=1)
    sock = sock_of(daemon)
    holder = hold(port, "127.0.0.7", 1)   # fills the backend: others queue
    try:
        for i in range(3):
            start = time.monotonic()
            s, outcome = attempt(port, "127.0.0.8")
            waited = time.monotonic() - start
            # Queued and closed after queue_timeout, never reset by the source limit.
            assert s is None and outcome == "eof" and waited >= 0.15, f"attempt {i + 1}: {outcome} {waited:.3f}s"
        web = stats(sock)
        assert web["queue_timeouts"] == 3 and web["rejected_conn_limit"] == 0
        # The holder's own source is still at its limit.
        refused_count(port, "127.0.0.7", 1)
        assert stats(sock)["rejected_conn_limit"] == 1
    finally:
        close_all(holder)


def test_a_reload_changes_the_limit_and_keeps_the_connections_already_counted(servers, ringlbd, sock_of, shortdir):
    backend = servers(harness.name_handler, "b1")
    port = harness.free_port()
    spec = listener(port, [backend.addr], max_conn_per_source=2)
    daemon = ringlbd(spec)
    sock = sock_of(daemon)

    def reload_with(**keys):
        text = harness.render_config(listener(port, [backend.addr], **keys), str(sock))
        daemon.config_path.write_text(text)
        done = ctl(sock, "reload")
        assert done.returncode == 0, done.stdout + done.stderr

    held = hold(port, "127.0.0.9", 2)
    try:
        refused_count(port, "127.0.0.9", 1)
        # Raised to 4: the two open connections still count, so two more pass.
        reload_with(max_conn_per_source=4)
        held += hold(port, "127.0.0.9", 2)
        refused_count(port, "127.0.0.9", 1)
        # Lowered to 1: nothing new until the client is below 1.
        reload_with(max_conn_per_source=1)
        refused_count(port, "127.0.0.9", 1)
        close_all(held[1:])
        held = held[:1]
        wait_until(lambda: stats(sock)["active"] == 1, "three connections to close")
        refused_count(port, "127.0.0.9", 1)
        held[0].close()
        held = []
        wait_until(lambda: stats(sock)["active"] == 0, "the last connection to close")
        held = hold(port, "127.0.0.9", 1)
        refused_count(port, "127.0.0.9", 1)
        # Counters survive the reloads too.
        assert stats(sock)["rejected_conn_limit"] == 5
        # Limits off: no limit at all.
        reload_with()
        held += hold(port, "127.0.0.9", 5)
        assert stats(sock)["rejected_conn_limit"] == 5
    finally:
        close_all(held)
