"""Out of file descriptors: ringlbd under a hard RLIMIT_NOFILE of 64 with more clients
than it can hold logs the exhaustion (rate-limited), does not spin, and serves again
once the clients go."""
from __future__ import annotations

import resource
import time

import harness

FD_LIMIT = 64
CLIENTS = 150


def limit_fds():
    # Soft and hard: ringlbd raises its soft limit to the hard one at start.
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def test_out_of_fds_is_logged_rate_limited_without_spinning_and_recovers(servers, ringlbd):
    backend = servers(harness.name_handler, "up", backlog=512)
    port = harness.free_port()
    daemon = ringlbd({"t": {"bind": f"127.0.0.1:{port}", "backends": [backend.addr]}},
                     preexec_fn=limit_fds, shutdown_grace="2s")
    daemon.wait_log(rf"open files limit: {FD_LIMIT}\b")
    assert harness.which_backend(port) == "up"

    clients = []
    try:
        start = time.monotonic()
        for _ in range(CLIENTS):
            # The kernel completes the handshake from the listen backlog, so these
            # connects succeed even when ringlbd cannot accept them.
            clients.append(harness.connect(port, timeout=5))
        daemon.wait_log(r"Too many open files", timeout=5)

        # Saturated: the rest wait in the backlog. Measure ringlbd's CPU over 2 s.
        cpu_before = daemon.cpu_seconds()
        time.sleep(2.0)
        cpu_used = daemon.cpu_seconds() - cpu_before
        assert daemon.alive()
        served = backend.live
        assert 0 < served < CLIENTS, f"{served} of {CLIENTS} held connections reached the backend"
        assert cpu_used < 0.5, f"ringlbd used {cpu_used:.2f} s of CPU in 2 s while out of fds: it spins"
        saturated_for = time.monotonic() - start
        lines = daemon.log_lines(r"Too many open files")
        # The limiter lets one line a second through; allow start and end effects.
        assert 1 <= len(lines) <= saturated_for + 3, (
            f"{len(lines)} fd-exhaustion lines in {saturated_for:.1f} s:\n" + "\n".join(lines))
    finally:
        for s in clients:
            s.close()

    # Recovery: once the clients are gone (ringlbd still has to work through the ones
    # left in its backlog), new connections are served again, ten in a row.
    deadline = time.monotonic() + 10
    names = []
    while time.monotonic() < deadline and names[-10:] != ["up"] * 10:
        try:
            names.append(harness.which_backend(port, timeout=2))
        except OSError as error:
            names.append(repr(error))
        if names[-1] != "up":
            time.sleep(0.1)
    assert names[-10:] == ["up"] * 10, (
        f"not serving steadily 10 s after the clients closed; last attempts: {names[-12:]}")
    assert daemon.alive()


def test_out_of_fds_a_splice_direction_without_a_pipe_copies_instead_of_closing(echo_server, ringlbd):
    # splice = always: every direction wants a pipe (two fds) on its first byte. Saturated,
    # none is free, so a proxied connection must go on in copy mode, not be closed.
    port = harness.free_port()
    daemon = ringlbd({"t": {"bind": f"127.0.0.1:{port}", "backends": [echo_server.addr], "splice": "always"}},
                     preexec_fn=limit_fds, shutdown_grace="2s", workers=1)
    daemon.wait_log(rf"open files limit: {FD_LIMIT}\b")
    clients = []
    try:
        for _ in range(CLIENTS):
            clients.append(harness.connect(port, timeout=5))
        daemon.wait_log(r"Too many open files", timeout=5)
        first = clients[0]  # accepted and connected before the fds ran out
        payload = b"still here " * 6
        first.sendall(payload)  # its socket times out after 5 s
        assert harness.recv_exact(first, len(payload)) == payload
        daemon.wait_log(r"no pipe for splice \(Too many open files\); copying instead", timeout=5)
        assert daemon.alive()
    finally:
        for s in clients:
            s.close()
