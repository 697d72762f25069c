"""The daemon's life: graceful stop on SIGTERM, --check, a listener whose port is
taken, reloads on SIGHUP (good and bad files)."""
from __future__ import annotations

import hashlib
import signal
import socket
import struct
import subprocess
import threading
import time

import harness
from harness import MIB


def test_sigterm_lets_an_in_flight_transfer_finish_and_refuses_new_connections(servers, ringlbd):
    backend = servers(harness.reply_after_eof_handler, "sink")
    port = harness.free_port()
    daemon = ringlbd({"t": {"bind": f"127.0.0.1:{port}", "backends": [backend.addr]}}, shutdown_grace="30s")

    size, chunk = 8 * MIB, 256 * 1024
    sent = hashlib.sha256()
    progress = {"bytes": 0}
    errors = []
    s = harness.connect(port, timeout=30)

    class Counting:
        def update(self, data):
            sent.update(data)
            progress["bytes"] += len(data)

    def sender():  # 32 chunks, 100 ms apart: about 3 s
        try:
            s.sendall(struct.pack("!Q", 0))
            harness.send_random(s, size, Counting(), seed=21, chunk=chunk, pace=0.1)
            s.shutdown(socket.SHUT_WR)
        except OSError as error:
            errors.append(repr(error))

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while progress["bytes"] < size // 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert progress["bytes"] >= size // 4, "the transfer never got going"
    daemon.signal(signal.SIGTERM)
    sigterm_at = time.monotonic()

    # New connections are refused once the listening sockets are closed. Until then a
    # probe may still complete its handshake from the backlog, or be reset while the
    # SO_REUSEPORT group closes; the loop goes on until the steady state (refused).
    refused_after, handshakes, resets = None, 0, 0
    while time.monotonic() - sigterm_at < 1.5:
        try:
            probe = socket.create_connection(("127.0.0.1", port), timeout=1)
        except ConnectionRefusedError:
            refused_after = time.monotonic() - sigterm_at
            break
        except ConnectionResetError:
            resets += 1
            continue
        handshakes += 1
        probe.close()
        time.sleep(0.02)
    in_flight = progress["bytes"] < size and t.is_alive()
    assert refused_after is not None, (
        f"new connections not refused 1.5 s after SIGTERM: {handshakes} probes completed the handshake "
        f"(listening socket still open), {resets} were reset; the transfer was "
        f"{'still' if in_flight else 'no longer'} in flight")
    assert in_flight, "the transfer ended before the refusal was seen; the test needs a slower pace"
    assert daemon.alive(), "ringlbd exited with a transfer still in flight"

    t.join(timeout=30)
    assert not errors and not t.is_alive(), f"client send failed after SIGTERM: {errors}"
    header = harness.recv_line(s).decode().split()
    assert harness.recv_all(s) == 0
    s.close()
    assert header == [str(size), sent.hexdigest()], "the backend did not get the transfer byte-exact"

    rc = daemon.wait_exit(5.0)
    assert rc == 0, f"ringlbd exit status {rc} (None: still running 5 s after its last connection ended)"


def test_check_reports_every_error_with_file_and_line(tmp_path, shortdir):
    bad = tmp_path / "bad.conf"
    bad.write_text(
        "[global]\n"                                        # 1
        f"control_socket = {shortdir}/x.sock\n"             # 2
        "[listener.web]\n"                                  # 3
        "bind = 127.0.0.1:8080\n"                           # 4
        "backend = 127.0.0.1:9000\n"                        # 5
        "scheduler = fastest\n"                             # 6
        "idle_timeout = 1.5s\n"                             # 7
    )
    r = subprocess.run([str(harness.RINGLBD), "--check", "-c", str(bad)], capture_output=True, text=True,
                       timeout=10)
    out = r.stdout + r.stderr
    assert r.returncode == 1, f"exit {r.returncode}: {out}"
    assert f"{bad}:6:" in out and "fastest" in out, out
    assert f"{bad}:7:" in out, out

    good = tmp_path / "good.conf"
    good.write_text(bad.read_text().replace("scheduler = fastest\n", "").replace("1.5s", "1500ms"))
    r = subprocess.run([str(harness.RINGLBD), "--check", "-c", str(good)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_listener_whose_port_is_taken_is_logged_and_the_others_serve(servers, ringlbd):
    backend = servers(harness.echo_handler, "echo")
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no SO_REUSEPORT: ringlbd cannot share it
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(1)
    try:
        taken = squatter.getsockname()[1]
        port = harness.free_port()
        daemon = ringlbd({
            "busy": {"bind": f"127.0.0.1:{taken}", "backends": [backend.addr]},
            "ok": {"bind": f"127.0.0.1:{port}", "backends": [backend.addr]},
        }, ready=False)
        daemon.wait_ready({"ok": port})
        (line,) = daemon.wait_log(r"listener busy\b.*(in use|EADDRINUSE)", timeout=5)
        assert f"127.0.0.1:{taken}" in line, line

        with harness.connect(port) as s:
            s.sendall(b"still serving")
            assert harness.recv_exact(s, 13) == b"still serving"
        assert daemon.alive()
    finally:
        squatter.close()


def reload_and_wait(daemon, pattern, timeout=5.0):
    before = len(daemon.log_lines(pattern))
    daemon.signal(signal.SIGHUP)
    return daemon.wait_log(pattern, timeout=timeout, count=before + 1)


def test_sighup_with_an_invalid_file_keeps_the_running_config(servers, ringlbd):
    first = servers(harness.name_handler, "first")
    second = servers(harness.name_handler, "second")
    port = harness.free_port()
    daemon = ringlbd({"t": {"bind": f"127.0.0.1:{port}", "backends": [first.addr]}})
    assert harness.which_backend(port) == "first"
    good_text = daemon.config_path.read_text()

    # An invalid file naming the other backend: refused, "first" keeps serving.
    daemon.config_path.write_text(good_text.replace(first.addr, second.addr) + "bogus_key = 1\n")
    refused = reload_and_wait(daemon, r"reload refused")
    assert any(f"{daemon.config_path}:" in line for line in refused), refused
    assert [harness.which_backend(port) for _ in range(5)] == ["first"] * 5

    # The same change in a valid file is applied: the reload really reads the file.
    daemon.config_path.write_text(good_text.replace(first.addr, second.addr))
    reload_and_wait(daemon, r"reloaded ")
    assert [harness.which_backend(port) for _ in range(5)] == ["second"] * 5
    assert daemon.alive()
