"""Which backend gets a connection: refusing backends skipped, weighted least
connections, smooth weighted round robin, backup backends. Backends answer with
their name, so every connection shows where ringlbd sent it."""
from __future__ import annotations

import collections
import socket
import time

import pytest

import harness


def listener(port, backends, **keys):
    return {"t": {"bind": f"127.0.0.1:{port}", "backends": backends, **keys}}


def hold(port, count):
    """Opens count connections one after another, each kept open; returns
    (sockets, backend names). Sequential on purpose: each connection is counted
    as active by ringlbd before the next one is scheduled."""
    socks, names = [], []
    for _ in range(count):
        s = harness.connect(port, timeout=5)
        socks.append(s)
        names.append(harness.recv_line(s).decode().strip())
    return socks, names


def close_gracefully(socks):
    """Half-closes each connection and waits for ringlbd's EOF, which it sends only
    once the backend side closed too, i.e. when it ends the proxied connection."""
    for s in socks:
        s.shutdown(socket.SHUT_WR)
    for s in socks:
        s.settimeout(5)
        assert harness.recv_all(s) == 0
        s.close()


def test_refusing_backend_is_skipped_and_logged_rate_limited(servers, ringlbd):
    up = servers(harness.name_handler, "up")
    refusing = harness.bound_unused_socket()
    try:
        dead = f"127.0.0.1:{refusing.getsockname()[1]}"
        port = harness.free_port()
        daemon = ringlbd(listener(port, [dead, up.addr], retries=2))
        start = time.monotonic()
        names = [harness.which_backend(port) for _ in range(200)]
        elapsed = time.monotonic() - start
    finally:
        refusing.close()

    assert collections.Counter(names) == {"up": 200}, "a client noticed the refusing backend"
    errors = daemon.wait_log(rf"backend {dead}: connect failed", timeout=3)
    # leastconn sends about half of the new connections to the idle refusing backend
    # first, so ~100 connect errors happened; the log holds one line per second.
    assert len(errors) <= elapsed + 2, f"{len(errors)} connect-error lines in {elapsed:.1f} s:\n" + "\n".join(errors)
    assert any("refused" in line.lower() for line in errors), errors


def test_leastconn_sends_new_connections_to_the_least_loaded_backend(servers, ringlbd):
    a = servers(harness.name_handler, "A")
    b = servers(harness.name_handler, "B")
    port = harness.free_port()
    ringlbd(listener(port, [a.addr, b.addr], scheduler="leastconn"))

    socks, names = hold(port, 10)
    try:
        assert collections.Counter(names) == {"A": 5, "B": 5}
        # Close the five on B: A now holds 5 live connections, B none.
        on_b = [s for s, n in zip(socks, names) if n == "B"]
        socks = [s for s, n in zip(socks, names) if n == "A"]
        close_gracefully(on_b)
        # ringlbd lowers B's count right after sending that EOF, in the same event;
        # this settles the few microseconds between the two.
        time.sleep(0.05)

        more, more_names = hold(port, 5)
        socks += more
        assert more_names == ["B"] * 5, f"with A at 5 and B at 0, new connections went to {more_names}"
        more, more_names = hold(port, 2)
        socks += more
        assert sorted(more_names) == ["A", "B"], f"balanced 5/5, the next two went to {more_names}"
    finally:
        for s in socks:
            s.close()


def test_leastconn_equal_backends_share_held_connections_evenly(servers, ringlbd):
    backends = [servers(harness.name_handler, name) for name in ("A", "B", "C")]
    port = harness.free_port()
    ringlbd(listener(port, [b.addr for b in backends], scheduler="leastconn"))

    socks, names = hold(port, 30)
    try:
        assert collections.Counter(names) == {"A": 10, "B": 10, "C": 10}
        assert [b.live for b in backends] == [10, 10, 10]
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_roundrobin_weights_5_1_1_split_70_connections_50_10_10(workers, servers, ringlbd):
    backends = [servers(harness.name_handler, name) for name in ("A", "B", "C")]
    port = harness.free_port()
    ringlbd(listener(port, [f"{backends[0].addr} weight=5", backends[1].addr, backends[2].addr],
                     scheduler="roundrobin"), workers=workers)

    counts = collections.Counter(harness.which_backend(port) for _ in range(70))

    if workers == 1:
        assert counts == {"A": 50, "B": 10, "C": 10}
    else:
        # Each worker runs its own smooth WRR (no shared state on the data path) and
        # SO_REUSEPORT spreads the connections between them. Smooth WRR stays within
        # one pick of the exact share at every point, so the sum stays within two.
        assert sum(counts.values()) == 70 and set(counts) <= {"A", "B", "C"}, counts
        assert abs(counts["A"] - 50) <= 2 and abs(counts["B"] - 10) <= 2 and abs(counts["C"] - 10) <= 2, counts


def served_steadily(port, want, within=10.0, run=10):
    """Connects one after another until `run` in a row are served by backend `want`
    (bounded by `within` seconds); returns every backend name seen ('' = closed
    unserved)."""
    deadline = time.monotonic() + within
    seen = []
    while time.monotonic() < deadline and seen[-run:] != [want] * run:
        seen.append(harness.which_backend(port))
        if seen[-1] != want:
            time.sleep(0.05)
    return seen


def test_refusing_primary_sends_the_same_client_on_to_the_backup(servers, ringlbd):
    primary = servers(harness.name_handler, "primary", listen=False)  # bound, not listening: refuses
    backup = servers(harness.name_handler, "backup")
    port = harness.free_port()
    # No active checks: only the data path knows the primary refuses. A refusing
    # primary cannot take the connection, so the retry goes to the backup at once.
    ringlbd(listener(port, [primary.addr, f"{backup.addr} backup"], retries=2, check="none"))

    names = [harness.which_backend(port) for _ in range(10)]
    assert names == ["backup"] * 10, f"primary refusing: clients got {names} ('' = closed unserved)"


def test_backup_serves_only_while_no_primary_can(servers, ringlbd):
    primary = servers(harness.name_handler, "primary", listen=False)  # bound, not listening: refuses
    backup = servers(harness.name_handler, "backup")
    port = harness.free_port()
    # A refused check fails at once; check_timeout only bounds a check that gets no
    # answer, and 1 s keeps a loaded machine (the sanitizer builds) from failing the
    # healthy backup's checks. fall=2: one lost check is not an outage.
    ringlbd(listener(port, [primary.addr, f"{backup.addr} backup"], retries=2, check="tcp",
                     check_interval="200ms", check_timeout="1s", rise=1, fall=2))

    # Whether the first clients are served before the first check is the test above;
    # here: with the primary refusing, the backup takes the traffic.
    seen = served_steadily(port, "backup", within=5)
    assert seen[-10:] == ["backup"] * 10, (
        f"primary refusing, backup up: 5 s of clients got {collections.Counter(seen)} ('' = closed unserved), "
        f"last {seen[-10:]}")

    primary.listen_now()
    seen = served_steadily(port, "primary", within=10)
    assert seen[-10:] == ["primary"] * 10, (
        f"primary listening again, yet 10 s of clients got {collections.Counter(seen)}, last {seen[-10:]}")
    assert "" not in seen, f"a client was dropped while the primary came back: {seen}"
