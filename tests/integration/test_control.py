"""ringlbctl and the control socket against the real ringlbd: every command, changes
applied live and persisted, many clients at once, malformed requests, counters in
`stats` and /metrics, and the access log."""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import harness

RINGLBCTL = harness.RINGLBCTL


# ----------------------------------------------------------------------- helpers


def ctl(sock: Path, *args: str, timeout: float = 30.0, preexec_fn=None) -> subprocess.CompletedProcess:
    """Runs ringlbctl --socket SOCK ARGS; returns the finished process (text output)."""
    if not RINGLBCTL.exists():
        raise RuntimeError(f"{RINGLBCTL} is missing: run `make -j2` first")
    return subprocess.run([str(RINGLBCTL), "--socket", str(sock), *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=preexec_fn)


def ctl_json(sock: Path, *args: str) -> dict:
    """ringlbctl --json ARGS, which must succeed; returns the parsed response."""
    done = ctl(sock, "--json", *args)
    assert done.returncode == 0, f"ringlbctl {' '.join(args)}: exit {done.returncode}: {done.stdout}{done.stderr}"
    response = json.loads(done.stdout)
    assert response["ok"] is True
    return response


def refused(sock: Path, *args: str) -> str:
    """ringlbctl ARGS, which must be refused (exit 1); returns the message."""
    done = ctl(sock, *args)
    assert done.returncode == 1, f"ringlbctl {' '.join(args)}: expected exit 1, got {done.returncode}: " \
                                 f"{done.stdout}{done.stderr}"
    assert done.stderr.startswith("ringlbctl: "), done.stderr
    return done.stderr[len("ringlbctl: "):].splitlines()[0]


def raw_exchange(sock: Path, data: bytes, timeout: float = 10.0) -> list[bytes]:
    """Sends data on a fresh control connection, shuts the write side, returns every
    line the daemon sent until it closed."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        return harness.send_then_read_all(s, data).splitlines()


def http_get(port: int, path: str = "/metrics", method: str = "GET") -> tuple[int, dict, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def metric(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {series} in /metrics:\n{text}")


def echo_once(port: int, payload: bytes) -> tuple[int, bytes]:
    """One connection through ringlbd to an echo backend: sends payload, half-closes,
    reads the echo. Returns the client's local port and what came back."""
    with harness.connect(port) as s:
        return s.getsockname()[1], harness.send_then_read_all(s, payload)


def wait_until(predicate, what: str, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def listener(port: int, backends: list[str], **keys) -> dict:
    return {"bind": f"127.0.0.1:{port}", "backends": backends, **keys}


def start_daemon(request, tmp_path, name: str, listeners: dict, control_socket: Path, ready: bool = True,
                 expect_clean_exit: bool = True, **keys) -> harness.Ringlbd:
    """A ringlbd with a control socket of the test's choosing (the ringlbd fixture
    names it after the daemon). The test must use the ringlbd fixture, which stops it."""
    text = harness.render_config(listeners, str(control_socket), **keys)
    daemon = harness.Ringlbd(tmp_path, text, name=name, expect_clean_exit=expect_clean_exit)
    request.node._ringlbd_daemons.append(daemon)
    daemon.start()
    if ready:
        daemon.wait_ready({n: int(spec["bind"].rsplit(":", 1)[1]) for n, spec in listeners.items()})
    return daemon


@pytest.fixture
def sock_of(shortdir):
    """The control socket path the ringlbd fixture gave a daemon."""
    return lambda daemon: shortdir / f"{daemon.name}.sock"


# ------------------------------------------------------------- reading commands


def test_status_listener_list_show_and_stats_describe_the_running_daemon(servers, ringlbd, sock_of):
    backend = servers(harness.name_handler, "b1")
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [f"{backend.addr} weight=3", "127.0.0.1:9 backup"])})
    sock = sock_of(daemon)

    status = ctl_json(sock, "status")
    assert status["pid"] == daemon.pid
    assert status["workers"] == 2 and status["listeners"] == 1 and status["listeners_bound"] == 1
    assert status["config"] == str(daemon.config_path)
    human = ctl(sock, "status")
    assert human.returncode == 0 and human.stdout.startswith("ringlbd "), human

    listed = ctl_json(sock, "listener", "list")["listeners"]
    assert listed == [{
        "name": "web", "bind": f"127.0.0.1:{port}", "scheduler": "leastconn", "check": "none", "bound": True,
        "backends": [
            {"address": backend.addr, "weight": 3, "backup": False, "state": "ready", "status": "up"},
            {"address": "127.0.0.1:9", "weight": 1, "backup": True, "state": "ready", "status": "up"},
        ]}]
    table = ctl(sock, "listener", "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "BIND", "SCHEDULER", "CHECK", "BACKENDS", "UP", "BOUND"]
    assert table[1].split() == ["web", f"127.0.0.1:{port}", "leastconn", "none", "2", "2", "yes"]

    assert harness.which_backend(port) == "b1"
    shown = ctl_json(sock, "listener", "show", "web")["listener"]
    assert shown["settings"]["connect_timeout"] == "3s"
    wait_until(lambda: ctl_json(sock, "listener", "show", "web")["listener"]["stats"]["active"] == 0,
               "the connection to be closed")
    shown = ctl_json(sock, "listener", "show", "web")["listener"]
    assert shown["stats"]["connections_total"] == 1
    assert shown["backends"][0]["connections_total"] == 1
    human = ctl(sock, "listener", "show", "web").stdout
    assert "connect_timeout" in human and backend.addr in human

    stats = ctl_json(sock, "stats", "web")["listeners"]
    assert stats[0]["name"] == "web" and stats[0]["connections_total"] == 1
    assert stats[0]["backends"][0]["connections_total"] == 1
    assert "LISTENER" in ctl(sock, "stats").stdout

    assert refused(sock, "listener", "show", "nope") == "listener 'nope' not found"
    assert refused(sock, "stats", "nope") == "listener 'nope' not found"
    assert refused(sock, "vrrp", "status") == "vrrp not configured"


def test_a_daemon_that_is_not_there_is_exit_status_2_and_a_bad_command_line_is_1(shortdir):
    done = ctl(shortdir / "none.sock", "status")
    assert done.returncode == 2
    assert "cannot connect to" in done.stderr and "is ringlbd running?" in done.stderr
    for args, message in [
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["backend", "add", "web"], "missing the backend's ADDR:PORT"),
        (["backend", "set", "web", "10.0.0.1:80"], "give --weight N and/or --state S"),
        (["backend", "set", "web", "10.0.0.1:80", "--state", "down"], "bad --state 'down'"),
        (["backend", "add", "web", "10.0.0.1"], "bad backend address '10.0.0.1'"),
        (["listener", "add", "x", "--backend", "10.0.0.1:80"], "--bind ADDR:PORT is required"),
        (["listener", "add", "x", "--bind", "127.0.0.1:1"], "give at least one --backend"),
        (["listener", "show", "a b"], "bad listener name 'a b'"),
        (["listener", "add", "x", "--bind", "127.0.0.1:1", "--bind", "127.0.0.1:2"], "--bind given twice"),
        (["stats", "web", "extra"], "unexpected 'extra'"),
    ]:
        done = ctl(shortdir / "none.sock", *args)
        assert done.returncode == 1, (args, done)
        assert message in done.stderr, (args, done.stderr)
    assert ctl(shortdir / "none.sock", "--help").returncode == 0


# -------------------------------------------------------------- changing things


def test_backend_add_set_and_remove_change_where_new_connections_go(servers, ringlbd, sock_of):
    b1 = servers(harness.name_handler, "b1")
    b2 = servers(harness.name_handler, "b2")
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [b1.addr], scheduler="roundrobin")})
    sock = sock_of(daemon)
    assert {harness.which_backend(port) for _ in range(4)} == {"b1"}

    added = ctl(sock, "backend", "add", "web", b2.addr, "--weight", "2")
    assert added.returncode == 0 and added.stdout == f"backend {b2.addr} added to web\n", added
    seen = [harness.which_backend(port) for _ in range(30)]
    assert seen.count("b2") == 20 and seen.count("b1") == 10, "smooth round robin with weights 1 and 2"

    # drain: no new connections, live ones stay
    held = harness.connect(port)
    first = harness.recv_line(held).decode().strip()
    drained = b2 if first == "b2" else b1
    other = b1 if drained is b2 else b2
    ctl_json(sock, "backend", "set", "web", drained.addr, "--state", "drain")
    assert {harness.which_backend(port) for _ in range(10)} == {other.name}
    held.sendall(b"still here")
    held.shutdown(socket.SHUT_WR)
    assert harness.recv_all(held) == 0
    held.close()
    # The connection that was live when the backend was drained carried on to its end.
    wait_until(lambda: any(r.get("bytes_in") == len(b"still here") for r in list(drained.records)),
               "the drained backend to receive the live connection's bytes")

    ctl_json(sock, "backend", "set", "web", drained.addr, "--state", "maint")
    assert {harness.which_backend(port) for _ in range(6)} == {other.name}
    ctl_json(sock, "backend", "set", "web", drained.addr, "--state", "ready", "--weight", "1")
    # The health checker takes a backend out of maint on its next pass.
    wait_until(lambda: all(b["status"] == "up" for b in ctl_json(sock, "listener", "list")["listeners"][0]["backends"]),
               "both backends to be up")
    assert {harness.which_backend(port) for _ in range(10)} == {"b1", "b2"}

    listed = ctl_json(sock, "listener", "list")["listeners"][0]["backends"]
    b2_weight = 1 if drained is b2 else 2  # --weight 1 went to the drained one
    assert [(b["address"], b["weight"], b["state"]) for b in listed] == \
        [(b1.addr, 1, "ready"), (b2.addr, b2_weight, "ready")]

    removed = ctl(sock, "backend", "remove", "web", b1.addr)
    assert removed.returncode == 0, removed
    assert {harness.which_backend(port) for _ in range(6)} == {"b2"}

    assert refused(sock, "backend", "remove", "web", "10.0.1.99:80") == "10.0.1.99:80 is not a backend of web"
    assert refused(sock, "backend", "set", "web", "10.0.1.99:80", "--weight", "2") == \
        "10.0.1.99:80 is not a backend of web"
    assert refused(sock, "backend", "add", "api", "10.0.1.99:80") == "listener 'api' not found"
    assert refused(sock, "backend", "add", "web", b2.addr) == f"{b2.addr} is already a backend of web"
    assert refused(sock, "backend", "set", "web", b2.addr, "--weight", "300") == \
        f"listener 'web': backend {b2.addr}: bad weight '300' (expected a number 1..256)"
    assert refused(sock, "backend", "remove", "web", b2.addr) == \
        f"cannot remove {b2.addr}: it is the last backend of web (remove the listener instead)"
    assert daemon.log_lines(r"control: .*backend remove.*done")


def test_listener_add_and_remove_open_and_close_the_port(servers, ringlbd, sock_of, tmp_path):
    b1 = servers(harness.name_handler, "b1")
    port, new_port = harness.free_port(), harness.free_port()
    daemon = ringlbd({"web": listener(port, [b1.addr])})
    sock = sock_of(daemon)

    done = ctl(sock, "listener", "add", "api", "--bind", f"127.0.0.1:{new_port}", "--scheduler", "source-hash",
               "--check", "tcp", "--backend", f"{b1.addr},weight=2")
    assert done.returncode == 0, done
    assert harness.which_backend(new_port) == "b1"
    api = ctl_json(sock, "listener", "show", "api")["listener"]
    assert api["scheduler"] == "source-hash" and api["check"] == "tcp" and api["backends"][0]["weight"] == 2

    assert refused(sock, "listener", "add", "api", "--bind", "127.0.0.1:1", "--backend", b1.addr) == \
        "listener 'api' already exists"
    assert refused(sock, "listener", "add", "x", "--bind", f"127.0.0.1:{port}", "--backend", b1.addr) == \
        f"bind 127.0.0.1:{port} is already used by listener 'web'"
    assert refused(sock, "listener", "add", "x", "--bind", "127.0.0.1:1", "--scheduler", "random",
                   "--backend", b1.addr) == \
        "listener 'x': unknown scheduler 'random' (expected leastconn, source-hash or roundrobin)"

    # A port another process holds: the bind fails, nothing changes, the file stays.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    taken_port = taken.getsockname()[1]
    before = daemon.config_path.read_text()
    message = refused(sock, "listener", "add", "busy", "--bind", f"127.0.0.1:{taken_port}", "--backend", b1.addr)
    taken.close()
    assert message == f"listener busy: bind 127.0.0.1:{taken_port}: Address already in use"
    assert daemon.config_path.read_text() == before
    assert [l["name"] for l in ctl_json(sock, "listener", "list")["listeners"]] == ["web", "api"]

    ctl_json(sock, "listener", "remove", "api")
    wait_until(lambda: new_port not in harness.listening_ports(daemon.pid), "the removed listener's port to close")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", new_port), timeout=2)
    assert harness.which_backend(port) == "b1"
    assert refused(sock, "listener", "remove", "api") == "listener 'api' not found"


def test_changes_are_written_to_the_file_and_survive_a_restart(servers, ringlbd, sock_of, tmp_path, request):
    b1 = servers(harness.name_handler, "b1")
    b2 = servers(harness.name_handler, "b2")
    port, api_port = harness.free_port(), harness.free_port()
    daemon = ringlbd({"web": listener(port, [b1.addr])})
    sock = sock_of(daemon)
    original = daemon.config_path.read_text()

    ctl_json(sock, "backend", "add", "web", b2.addr, "--weight", "5", "--backup")
    ctl_json(sock, "backend", "set", "web", b1.addr, "--state", "drain", "--weight", "7")
    # A tcp check passes against these backends, so health stays the same across the restart.
    ctl_json(sock, "listener", "add", "api", "--bind", f"127.0.0.1:{api_port}", "--check", "tcp",
             "--backend", b2.addr)
    # The health checker shows the drained backend as "drain" on its next pass.
    drained = lambda: ctl(sock, "--json", "listener", "list").stdout if '"status":"drain"' in \
        ctl(sock, "--json", "listener", "list").stdout else None
    before = wait_until(drained, "the drain to show")

    text = daemon.config_path.read_text()
    assert f"backend = {b1.addr} weight=7 state=drain\n" in text
    assert f"backend = {b2.addr} weight=5 backup\n" in text
    assert "check = tcp\n" in text
    assert Path(str(daemon.config_path) + ".bak").exists()
    assert not Path(str(daemon.config_path) + ".tmp").exists()
    check = subprocess.run([str(harness.RINGLBD), "--check", "-c", str(daemon.config_path)], capture_output=True,
                           text=True, timeout=10)
    assert check.returncode == 0, check.stderr

    assert daemon.stop() == 0
    again = harness.Ringlbd(tmp_path, text, name="restarted")
    request.node._ringlbd_daemons.append(again)
    # Same file, same socket: the config names the old socket path, which ringlbd removed at exit.
    again.config_path = daemon.config_path
    again.start()
    again.wait_ready({"web": port, "api": api_port})
    after = wait_until(drained, "the drain to show after the restart")
    assert after == before
    assert original != text


def test_a_workers_change_is_listed_as_needing_a_restart_and_the_rest_is_applied(servers, ringlbd, sock_of):
    b1 = servers(harness.name_handler, "b1")
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [b1.addr])}, workers=1)
    sock = sock_of(daemon)
    text = daemon.config_path.read_text()
    daemon.config_path.write_text(text.replace("workers = 1", "workers = 3").replace("log_level = info",
                                                                                      "log_level = debug"))
    done = ctl(sock, "reload")
    assert done.returncode == 0, done
    assert "2 setting(s) changed, 1 applied, 1 need a restart" in done.stdout, done.stdout
    assert re.search(r"^global\.workers\s+1\s+3\s+needs_restart\s+not applied: ringlbd keeps running 1 worker",
                     done.stdout, re.M), done.stdout
    assert re.search(r"^global\.log_level\s+-\s+debug\s+applied", done.stdout, re.M), done.stdout
    assert ctl_json(sock, "status")["workers"] == 1
    # Reported at every reload while the file and the process disagree, never dropped.
    again = ctl_json(sock, "reload")
    assert [(c["setting"], c["result"]) for c in again["changes"]] == [("global.workers", "needs_restart")], again
    assert again["needs_restart"] == 1
    assert re.search(r"config change: global\.workers 1 -> 3: not applied", daemon.log()), daemon.log()[-2000:]


def test_a_file_edited_on_disk_is_never_overwritten_until_reloaded(servers, ringlbd, sock_of):
    b1 = servers(harness.name_handler, "b1")
    b2 = servers(harness.name_handler, "b2")
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [b1.addr])})
    sock = sock_of(daemon)

    edited = daemon.config_path.read_text().replace(f"backend = {b1.addr}", f"backend = {b1.addr}\n"
                                                                            f"backend = {b2.addr} weight=4")
    daemon.config_path.write_text(edited)
    message = refused(sock, "backend", "add", "web", "127.0.0.1:9")
    assert message == f"{daemon.config_path} changed on disk since it was loaded; run 'ringlbctl reload'"
    assert daemon.config_path.read_text() == edited

    done = ctl(sock, "reload")
    assert done.returncode == 0, done
    assert done.stdout.startswith(f"reloaded {daemon.config_path}: 1 listener(s); 1 setting(s) changed, 1 applied\n"
                                  "SETTING "), done
    assert re.search(rf"^listener\.web\.backend\s+{b1.addr}\s+{b1.addr}, {b2.addr} weight=4\s+applied", done.stdout,
                     re.M), done.stdout
    assert [b["address"] for b in ctl_json(sock, "listener", "list")["listeners"][0]["backends"]] == [b1.addr, b2.addr]
    ctl_json(sock, "backend", "add", "web", "127.0.0.1:9")
    assert Path(str(daemon.config_path) + ".bak").read_text() == edited

    daemon.config_path.write_text("[global]\nworkers = many\n")
    message = refused(sock, "reload")
    assert message.startswith(f"reload refused: {daemon.config_path}:2: "), message
    assert len(ctl_json(sock, "listener", "list")["listeners"][0]["backends"]) == 3


# ------------------------------------------------------------ many clients, bad input


def test_fifty_ringlbctl_clients_at_once_while_traffic_flows(ringlbd, sock_of, echo_server):
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])})
    sock = sock_of(daemon)
    stop = threading.Event()
    traffic = {"ok": 0, "bad": []}

    def client_traffic():
        deadline = time.monotonic() + 60
        i = 0
        while not stop.is_set() and time.monotonic() < deadline:
            payload = f"message {i} ".encode() * 50
            try:
                _, got = echo_once(port, payload)
                if got == payload:
                    traffic["ok"] += 1
                else:
                    traffic["bad"].append(f"connection {i}: {len(got)} of {len(payload)} bytes")
            except OSError as error:
                traffic["bad"].append(f"connection {i}: {error!r}")
            i += 1

    movers = [threading.Thread(target=client_traffic, daemon=True) for _ in range(4)]
    for t in movers:
        t.start()
    commands = [["status"], ["stats"], ["listener", "list"], ["listener", "show", "web"], ["--json", "stats", "web"]]
    results = [None] * 50

    def run(i):
        args = commands[i % len(commands)]
        if i % 10 == 9:  # some changes among the reads, serialised by the daemon
            args = ["backend", "set", "web", echo_server.addr, "--weight", str(i // 10 + 1)]
        results[i] = (args, ctl(sock, *args, timeout=60))

    runners = [threading.Thread(target=run, args=(i,)) for i in range(50)]
    for t in runners:
        t.start()
    for t in runners:
        t.join(timeout=90)
    stop.set()
    for t in movers:
        t.join(timeout=30)

    for i, result in enumerate(results):
        assert result is not None, f"ringlbctl #{i} did not finish"
        args, done = result
        assert done.returncode == 0, f"ringlbctl {' '.join(args)}: exit {done.returncode}: {done.stderr}"
        if "--json" in args:
            assert json.loads(done.stdout)["ok"] is True
    assert traffic["bad"] == []
    assert traffic["ok"] > 0
    assert daemon.alive()


MALFORMED = [
    b"\n",
    b"{\n",
    b"not json at all\n",
    b'{"command":"status"\n',
    b"[1,2,3]\n",
    b'"status"\n',
    b"{}\n",
    b'{"command":42}\n',
    b'{"command":"rm -rf /"}\n',
    b'{"command":"status","extra":1}\n',
    b'{"command":"backend add","listener":"web"}\n',
    b'{"command":"backend add","listener":"web","address":"10.0.0.1:80","weight":"heavy"}\n',
    b'{"command":"backend set","listener":"web","address":"10.0.0.1:80","state":"broken"}\n',
    b'{"command":"listener add","listener":"x]\\n[global","bind":"127.0.0.1:1","backends":[{"address":"1.1.1.1:1"}]}\n',
    b'{"command":"listener add","listener":"x","bind":"127.0.0.1:1","check":"tcp\\nworkers = 1",'
    b'"backends":[{"address":"1.1.1.1:1"}]}\n',
    b"\x00\x01\x02\x03\xff\xfe\n",
    b"\xc3\x28\xa0\xa1\n",
    b'{"command":"status","x":' + b"[" * 5000 + b"]" * 5000 + b"}\n",
    bytes(range(256)) + b"\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
]


def test_malformed_requests_get_errors_and_the_daemon_keeps_serving(servers, ringlbd, sock_of):
    b1 = servers(harness.name_handler, "b1")
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [b1.addr])})
    sock = sock_of(daemon)
    before = daemon.config_path.read_text()

    # Each on its own connection...
    for request in MALFORMED:
        lines = raw_exchange(sock, request)
        assert lines, f"no answer to {request[:60]!r}"
        for line in lines:
            response = json.loads(line)
            assert response["ok"] is False and response["error"], (request[:60], response)
    # ...and all of them pipelined on one, then a good request: one answer per line, in order.
    pipelined = b"".join(r if r.endswith(b"\n") else r + b"\n" for r in MALFORMED) + b'{"command":"status"}\n'
    lines = raw_exchange(sock, pipelined)
    expected = sum(r.count(b"\n") for r in MALFORMED) + 1
    assert len(lines) == expected
    assert json.loads(lines[-1])["ok"] is True
    assert all(json.loads(l)["ok"] is False for l in lines[:-1])

    # A request with no newline within 64 KiB: an error, then the daemon hangs up.
    lines = raw_exchange(sock, b"x" * (100 * 1024))
    assert json.loads(lines[0])["error"] == "request longer than 65536 bytes; closing"
    # A last request without its newline is still answered.
    assert json.loads(raw_exchange(sock, b'{"command":"status"}')[0])["ok"] is True

    # A client stuck in the middle of a request does not hold up others.
    with socket.socket(socket.AF_UNIX) as slow:
        slow.connect(str(sock))
        slow.sendall(b'{"command":"sta')
        assert ctl(sock, "status", timeout=5).returncode == 0
    assert daemon.alive()
    assert daemon.config_path.read_text() == before
    assert harness.which_backend(port) == "b1"


def test_an_idle_control_client_is_disconnected_after_ten_seconds(ringlbd, sock_of, echo_server):
    daemon = ringlbd({"web": listener(harness.free_port(), [echo_server.addr])})
    sock = sock_of(daemon)
    with socket.socket(socket.AF_UNIX) as idle:
        idle.connect(str(sock))
        idle.settimeout(20)
        started = time.monotonic()
        assert idle.recv(1) == b""
        waited = time.monotonic() - started
    assert 9.0 <= waited <= 13.0, waited


def test_the_socket_is_0660_and_a_stranger_is_refused(ringlbd, sock_of, echo_server):
    daemon = ringlbd({"web": listener(harness.free_port(), [echo_server.addr])})
    sock = sock_of(daemon)
    assert sock.is_socket()
    assert (sock.stat().st_mode & 0o777) == 0o660
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    # Let the directory and file modes through so that the peer-credential check is what refuses.
    os.chmod(sock.parent, 0o711)
    os.chmod(sock, 0o666)
    # A copy of ringlbctl the stranger can execute: the checkout may sit in a directory
    # only root enters (/root/ringlb for a root user following the README).
    stranger_ctl = sock.parent / "ringlbctl"
    shutil.copy(RINGLBCTL, stranger_ctl)
    done = subprocess.run([str(stranger_ctl), "--socket", str(sock), "status"], capture_output=True, text=True,
                          timeout=30, preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
    assert done.returncode == 1, done
    assert "permission denied: uid 65534" in done.stderr and "not in group ringlb" in done.stderr
    assert daemon.log_lines(r"control socket: refused uid 65534")


def test_a_second_daemon_on_the_same_socket_does_not_start_and_a_stale_one_is_replaced(
        request, ringlbd, sock_of, echo_server, shortdir, tmp_path):
    first = ringlbd({"web": listener(harness.free_port(), [echo_server.addr])})
    sock = sock_of(first)
    clash = start_daemon(request, tmp_path, "clash", {"web": listener(harness.free_port(), [echo_server.addr])},
                         sock, ready=False, expect_clean_exit=False)
    assert clash.wait_exit(10) == 1
    assert "another process (another ringlbd?) is listening there" in clash.log()
    assert ctl(sock, "status").returncode == 0

    # A socket file nobody listens on (left by a crash) is removed and replaced.
    stale = shortdir / "stale.sock"
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(stale))
    leftover.close()
    assert stale.is_socket()
    third = start_daemon(request, tmp_path, "third", {"web": listener(harness.free_port(), [echo_server.addr])},
                         stale)
    assert "removed a stale socket file" in third.log()
    assert ctl_json(stale, "status")["pid"] == third.pid

    # Anything else at that path is left alone, and ringlbd does not start.
    not_a_socket = shortdir / "file.sock"
    not_a_socket.write_text("keep me")
    refused_start = start_daemon(request, tmp_path, "fourth",
                                 {"web": listener(harness.free_port(), [echo_server.addr])}, not_a_socket,
                                 ready=False, expect_clean_exit=False)
    assert refused_start.wait_exit(10) == 1
    assert "exists and is not a socket" in refused_start.log()
    assert not_a_socket.read_text() == "keep me"


def test_the_control_socket_directory_is_created_and_the_socket_removed_at_exit(
        request, ringlbd, shortdir, tmp_path, echo_server):
    nested = shortdir / "a" / "b" / "ctl.sock"
    daemon = start_daemon(request, tmp_path, "nested", {"web": listener(harness.free_port(), [echo_server.addr])},
                          nested)
    assert ctl(nested, "status").returncode == 0
    assert daemon.stop() == 0
    assert not nested.exists(), "ringlbd removes its socket file when it stops"


# ---------------------------------------------------------------- counters, metrics


def test_exactly_one_hundred_connections_read_one_hundred_in_stats_and_metrics(ringlbd, sock_of, echo_server):
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])}, metrics=f"127.0.0.1:{metrics_port}")
    sock = sock_of(daemon)
    payload = b"0123456789" * 10
    for i in range(100):
        _, got = echo_once(port, payload)
        assert got == payload, f"connection {i}"
    wait_until(lambda: ctl_json(sock, "stats", "web")["listeners"][0]["active"] == 0, "every connection to close")

    web = ctl_json(sock, "stats", "web")["listeners"][0]
    assert web["connections_total"] == 100
    assert web["connections_refused"] == 0
    assert web["bytes_in"] == 100 * len(payload)
    assert web["bytes_out"] == 100 * len(payload)
    assert web["backends"][0]["connections_total"] == 100
    assert web["backends"][0]["connect_errors"] == 0

    status, headers, text = http_get(metrics_port)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert metric(text, 'ringlb_connections_total{listener="web"}') == 100
    assert metric(text, f'ringlb_backend_connections_total{{listener="web",backend="{echo_server.addr}"}}') == 100
    assert metric(text, 'ringlb_bytes_total{listener="web",direction="in"}') == 100 * len(payload)
    assert metric(text, 'ringlb_bytes_total{listener="web",direction="out"}') == 100 * len(payload)
    assert metric(text, f'ringlb_connections_active{{listener="web",backend="{echo_server.addr}"}}') == 0
    assert metric(text, f'ringlb_backend_up{{listener="web",backend="{echo_server.addr}"}}') == 1
    assert metric(text, f'ringlb_connect_errors_total{{listener="web",backend="{echo_server.addr}"}}') == 0
    assert metric(text, 'ringlb_connect_seconds_count{listener="web"}') == 100
    assert metric(text, 'ringlb_connect_seconds_bucket{listener="web",le="+Inf"}') == 100

    assert http_get(metrics_port, "/nope")[0] == 404
    assert http_get(metrics_port, "/metrics", "POST")[0] == 405
    promtool = shutil.which("promtool")
    if promtool:
        checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=30)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_refused_backend_counts_connect_errors(ringlbd, sock_of, echo_server):
    port, metrics_port = harness.free_port(), harness.free_port()
    dead = harness.bound_unused_socket()
    dead_addr = f"127.0.0.1:{dead.getsockname()[1]}"
    daemon = ringlbd({"web": listener(port, [dead_addr], retries=0)}, metrics=f"127.0.0.1:{metrics_port}")
    sock = sock_of(daemon)
    for _ in range(3):
        with harness.connect(port) as s:
            assert s.recv(1) == b""
    wait_until(lambda: ctl_json(sock, "stats")["listeners"][0]["backends"][0]["connect_errors"] == 3,
               "three connect errors")
    text = http_get(metrics_port)[2]
    assert metric(text, f'ringlb_connect_errors_total{{listener="web",backend="{dead_addr}"}}') == 3
    dead.close()


# ------------------------------------------------------------------- access log

LINE = re.compile(
    r"^time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) client=127\.0\.0\.1:(\d+) listener=web "
    r"backend=(\S+) bytes_in=(\d+) bytes_out=(\d+) connect_ms=(\d+\.\d{3}) duration_ms=(\d+) retries=(\d+) "
    r"reason=(\S+)$")


def test_the_access_log_has_one_line_per_connection_and_reopens_on_sigusr1(ringlbd, sock_of, echo_server,
                                                                           tmp_path):
    port = harness.free_port()
    log = tmp_path / "access.log"
    daemon = ringlbd({"web": listener(port, [echo_server.addr])}, access_log=str(log))
    sock = sock_of(daemon)
    clients = {}
    for i in range(100):
        payload = b"x" * (i + 1)
        local_port, got = echo_once(port, payload)
        assert got == payload
        clients[local_port] = len(payload)

    lines = wait_until(lambda: (lambda l: l if len(l) >= 100 else None)(log.read_text().splitlines()),
                       "100 access log lines", timeout=10)
    assert len(lines) == 100, lines[100:]
    for line in lines:
        m = LINE.match(line)
        assert m, f"malformed access log line: {line}"
        client_port = int(m.group(2))
        assert client_port in clients, line
        assert m.group(3) == echo_server.addr
        assert int(m.group(4)) == int(m.group(5)) == clients.pop(client_port)
        assert m.group(8) == "0" and m.group(9) == "done", line
    assert clients == {}
    assert ctl_json(sock, "status")["access_log"]["lines"] == 100

    # logrotate: move the file away, SIGUSR1, new lines go to a new file.
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    daemon.signal(signal.SIGUSR1)
    daemon.wait_log(r"SIGUSR1: reopening the access log")
    wait_until(log.exists, "the access log to be reopened")
    echo_once(port, b"after rotation")
    line = wait_until(lambda: log.read_text().strip(), "a line in the new file")
    assert LINE.match(line) and "bytes_in=14 " in line
    assert len(rotated.read_text().splitlines()) == 100


# ------------------------------------------------------------ packaging: alerts, dashboard

PACKAGING = harness.REPO_ROOT / "packaging"


def test_the_alert_rules_are_valid_and_pass_their_unit_tests():
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    rules = PACKAGING / "prometheus"
    for args in (["check", "rules", "ringlb-alerts.yml"], ["test", "rules", "ringlb-alerts.test.yml"]):
        done = subprocess.run([promtool, *args], cwd=rules, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"


def test_the_dashboard_and_the_alerts_use_only_metrics_ringlbd_exports(ringlbd, echo_server):
    metrics_port = harness.free_port()
    ringlbd({"web": listener(harness.free_port(), [echo_server.addr])}, metrics=f"127.0.0.1:{metrics_port}")
    exported = set()
    for line in http_get(metrics_port)[2].splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            exported.add(name)
            if kind == "histogram":
                exported.update({name + "_bucket", name + "_sum", name + "_count"})
    dashboard = json.loads((PACKAGING / "grafana" / "ringlb.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    exprs.append((PACKAGING / "prometheus" / "ringlb-alerts.yml").read_text())
    used = {name for expr in exprs for name in re.findall(r"\bringlb_[a-z_]+", expr)}
    # VRRP metrics come with the VRRP runner (DESIGN §8).
    missing = {name for name in used - exported if not name.startswith("ringlb_vrrp_")}
    assert not missing, f"used but not exported: {sorted(missing)}"
    assert len(exprs) > 10
