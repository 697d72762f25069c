"""A flood on the control socket while traffic flows: 2,000 requests over 50 parallel
connections, with oversized, malformed, slow-loris and connect-and-go clients among
them, and more clients than the control thread admits. The daemon answers every
request in order, forwarding never stops, the configuration does not change, and
every descriptor the flood took is given back.
"""
from __future__ import annotations

import json
import random
import selectors
import socket
import threading
import time

import harness
import procstat
from test_control import ctl, ctl_json, echo_once, listener, sock_of  # noqa: F401 — sock_of is a fixture

CONNECTIONS = 50
PER_CONNECTION = 40          # 2,000 requests in all
OVERSIZED = 10
SLOW_LORIS = 20
GARBAGE = 10
HIT_AND_RUN = 200
# core/control/client_admission.h AdmissionLimits: the tests connect as root, who may
# go max_control + root_reserve clients (and beyond only by closing non-root ones).
MAX_CLIENTS = 256 + 16

# (request line, whether the daemon must accept it)
REQUESTS = [
    (b'{"command":"status"}', True),
    (b'{"command":"stats"}', True),
    (b'{"command":"listener list"}', True),
    (b'{"command":"listener show","listener":"web"}', True),
    (b'{"command":"vrrp status"}', False),                       # not configured here
    (b'{"command":"listener show","listener":"nope"}', False),
    (b'{"command":42}', False),
    (b"not json", False),
    (b'{"command":"backend set","listener":"web","address":"10.0.0.1:80","state":"broken"}', False),
]


def connect_unix(path, timeout: float = 30.0) -> socket.socket:
    """A connection to the control socket. A Unix socket whose listen backlog is full
    refuses a nonblocking connect with EAGAIN rather than queueing it: retry (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class LineClient:
    """A control connection that sends one request at a time and reads one answer line."""

    def __init__(self, path, timeout: float = 30.0):
        self.sock = connect_unix(path, timeout)
        self.buffer = b""

    def ask(self, line: bytes) -> dict:
        self.sock.sendall(line + b"\n")
        return json.loads(self.read_line())

    def read_line(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"closed after {self.buffer[:80]!r}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def close(self) -> None:
        self.sock.close()


def start_traffic(port: int, stop: threading.Event, threads: int = 3) -> tuple[dict, list[threading.Thread]]:
    traffic = {"ok": 0, "bad": []}
    lock = threading.Lock()

    def run(seed):
        rng = random.Random(seed)
        deadline = time.monotonic() + 90
        for i in range(100000):
            if stop.is_set() or time.monotonic() > deadline:
                return
            payload = rng.randbytes(rng.randint(1, 8192))
            try:
                _, got = echo_once(port, payload)
                good = got == payload
                problem = f"{len(got)} of {len(payload)} bytes back"
            except OSError as error:
                good, problem = False, repr(error)
            with lock:
                if good:
                    traffic["ok"] += 1
                else:
                    traffic["bad"].append(problem)

    movers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for t in movers:
        t.start()
    return traffic, movers


def test_two_thousand_requests_and_abusive_clients_leave_the_daemon_answering_and_forwarding(
        ringlbd, sock_of, echo_server, record_property):
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])})
    sock = sock_of(daemon)
    config_before = daemon.config_path.read_text()
    listeners_before = ctl_json(sock, "listener", "list")["listeners"]
    fds_before = procstat.settled_fd_kinds(daemon.pid)

    stop = threading.Event()
    traffic, movers = start_traffic(port, stop)
    answers: list[tuple[bool, dict]] = []
    latencies: list[float] = []
    problems: list[str] = []
    lock = threading.Lock()

    def flooder(i):
        rng = random.Random(i)
        try:
            client = LineClient(sock)
        except OSError as error:
            with lock:
                problems.append(f"flooder {i}: connect: {error!r}")
            return
        try:
            for _ in range(PER_CONNECTION):
                line, valid = rng.choice(REQUESTS)
                started = time.monotonic()
                response = client.ask(line)
                with lock:
                    latencies.append(time.monotonic() - started)
                    answers.append((valid, response))
        except (OSError, EOFError, ValueError) as error:
            with lock:
                problems.append(f"flooder {i}: {error!r}")
        finally:
            client.close()

    def oversized(i):
        # 1 MiB with no newline: one error line, then the daemon hangs up.
        with connect_unix(sock) as s:
            try:
                s.sendall(b"x" * (1 << 20))
            except (BrokenPipeError, ConnectionResetError):
                pass  # it hung up while we were still sending
            got = b""
            try:
                while chunk := s.recv(65536):
                    got += chunk
            except ConnectionResetError:
                pass
        with lock:
            if b"request longer than 65536 bytes; closing" not in got:
                problems.append(f"oversized {i}: {got[:200]!r}")

    def slow_loris(i):
        # A valid request, one byte every 50 ms (about two seconds in all): answered
        # at the end, and nobody else waits for it.
        request = b'{"command":"listener show","listener":"web"}\n'
        client = LineClient(sock)
        try:
            for b in request:
                client.sock.sendall(bytes([b]))
                time.sleep(0.05)
            response = json.loads(client.read_line())
            with lock:
                if response.get("ok") is not True:
                    problems.append(f"slow loris {i}: {response}")
        except (OSError, EOFError, ValueError) as error:
            with lock:
                problems.append(f"slow loris {i}: {error!r}")
        finally:
            client.close()

    def garbage(i):
        rng = random.Random(1000 + i)
        lines = [rng.randbytes(rng.randint(1, 4000)).replace(b"\n", b" ") for _ in range(20)]
        client = LineClient(sock)
        try:
            client.sock.sendall(b"".join(line + b"\n" for line in lines))
            for _ in lines:
                response = json.loads(client.read_line())
                if response.get("ok") is not False:
                    with lock:
                        problems.append(f"garbage {i}: accepted? {response}")
        except (OSError, EOFError, ValueError) as error:
            with lock:
                problems.append(f"garbage {i}: {error!r}")
        finally:
            client.close()

    def hit_and_run():
        for _ in range(HIT_AND_RUN):
            with connect_unix(sock):
                pass

    workers = ([threading.Thread(target=flooder, args=(i,)) for i in range(CONNECTIONS)]
               + [threading.Thread(target=oversized, args=(i,)) for i in range(OVERSIZED)]
               + [threading.Thread(target=slow_loris, args=(i,)) for i in range(SLOW_LORIS)]
               + [threading.Thread(target=garbage, args=(i,)) for i in range(GARBAGE)]
               + [threading.Thread(target=hit_and_run)])
    started = time.monotonic()
    for t in workers:
        t.start()
    # An operator's ringlbctl during the flood is answered.
    ctl_times = []
    for _ in range(5):
        t0 = time.monotonic()
        done = ctl(sock, "status", timeout=30)
        ctl_times.append(time.monotonic() - t0)
        assert done.returncode == 0, done.stderr
    for t in workers:
        t.join(timeout=90)
    flood_s = time.monotonic() - started
    stop.set()
    for t in movers:
        t.join(timeout=30)

    after = procstat.wait_fds_at_most(daemon.pid, fds_before, ("socket",))
    wrong = [(valid, r) for valid, r in answers if r.get("ok") is not valid or (not valid and not r.get("error"))]
    latencies.sort()
    summary = (f"{len(answers)} requests over {CONNECTIONS} connections plus {OVERSIZED} oversized, {SLOW_LORIS} "
               f"slow-loris, {GARBAGE} garbage and {HIT_AND_RUN} connect-and-close clients in {flood_s:.1f} s; "
               f"request latency median {latencies[len(latencies) // 2] * 1000:.1f} ms, max "
               f"{latencies[-1] * 1000:.0f} ms; ringlbctl status during the flood {max(ctl_times):.2f} s at most; "
               f"{traffic['ok']} proxied echoes meanwhile, {len(traffic['bad'])} bad; control-side sockets "
               f"{fds_before['socket']} -> {after['socket']}")
    print("\n" + summary)
    record_property("summary", summary)

    assert not any(t.is_alive() for t in workers), "a flood client is stuck"
    assert problems == [], problems[:10]
    assert len(answers) == CONNECTIONS * PER_CONNECTION
    assert wrong == [], wrong[:5]
    assert traffic["bad"] == [] and traffic["ok"] > 0, traffic["bad"][:5]
    assert daemon.config_path.read_text() == config_before
    assert ctl_json(sock, "listener", "list")["listeners"] == listeners_before
    assert after["socket"] == fds_before["socket"], f"{dict(fds_before)} -> {dict(after)}"
    assert daemon.alive()
    _, got = echo_once(port, b"after the flood")
    assert got == b"after the flood"


def test_more_control_clients_than_the_limit_are_refused_with_a_message_and_let_in_again(
        ringlbd, sock_of, echo_server, record_property):
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])})
    sock = sock_of(daemon)
    fds_before = procstat.settled_fd_kinds(daemon.pid)

    held = []
    try:
        for _ in range(MAX_CLIENTS + 44):
            held.append(connect_unix(sock, timeout=10))
        # Admitted clients hear nothing; refused ones get one line and are closed.
        answers = []
        sel = selectors.DefaultSelector()
        for s in held:
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + 10
        extra_wait_until = None  # once the expected number answered, wait a little for more
        while time.monotonic() < deadline and (extra_wait_until is None or time.monotonic() < extra_wait_until):
            for key, _ in sel.select(timeout=0.1):
                answers.append(key.fileobj.recv(4096))
                sel.unregister(key.fileobj)
            if extra_wait_until is None and len(answers) >= len(held) - MAX_CLIENTS:
                extra_wait_until = time.monotonic() + 0.5
        sel.close()
        refused = sum(b"too many clients" in a for a in answers)
        peak = procstat.fd_kinds(daemon.pid)
        with_all_held = ctl(sock, "status", timeout=10)
        _, echoed = echo_once(port, b"still forwarding")
    finally:
        for s in held:
            s.close()

    after = procstat.wait_fds_at_most(daemon.pid, fds_before, ("socket",))
    status = ctl(sock, "status", timeout=10)
    summary = (f"{len(held)} control clients at once: {refused} refused with 'too many clients'; ringlbd sockets "
               f"{fds_before['socket']} -> {peak['socket']} -> {after['socket']}")
    print("\n" + summary)
    record_property("summary", summary)

    assert refused == len(held) - MAX_CLIENTS, summary
    assert peak["socket"] <= fds_before["socket"] + MAX_CLIENTS, summary
    # Full: ringlbctl is turned away with the reason (exit 1), forwarding goes on.
    assert with_all_held.returncode == 1 and "too many clients" in with_all_held.stderr, with_all_held
    assert echoed == b"still forwarding"
    assert after["socket"] == fds_before["socket"], summary
    assert status.returncode == 0, status.stderr


REQUEST_TIMEOUT = 10.0       # core/control/control_server.h ControlServerOptions::request_timeout_ms


def trickle(sock: socket.socket, head: bytes, gap: float, limit: float) -> tuple[float, bytes]:
    """Sends head, then one byte every gap seconds, never finishing the request, until the
    daemon closes the connection (or limit seconds pass). Returns (seconds from the first
    byte to the close, what the daemon wrote)."""
    started = time.monotonic()
    sock.sendall(head)
    answer = b""
    sock.settimeout(gap)
    while time.monotonic() - started < limit:
        try:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
            continue
        except socket.timeout:
            pass
        except OSError:
            break
        try:
            sock.sendall(b"x")
        except OSError:
            break
    return time.monotonic() - started, answer


def test_a_request_trickled_in_a_byte_at_a_time_is_closed_at_the_request_timeout_with_a_reason(
        ringlbd, sock_of, echo_server, record_property):
    port, metrics_port = harness.free_port(), harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])}, metrics=f"127.0.0.1:{metrics_port}")
    sock = sock_of(daemon)
    limit = REQUEST_TIMEOUT + 6
    results = {}

    def control_loris():
        with connect_unix(sock, timeout=10) as s:
            results["control"] = trickle(s, b'{"command":"status"', 0.5, limit)

    def http_loris():
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=10) as s:
            results["http"] = trickle(s, b"GET /metrics HTTP/1.0\r\nX-Slow: ", 0.5, limit)

    def patient():
        # Whole requests with pauses shorter than the idle timeout: the connection lives
        # past the request timeout and every request is answered.
        client = LineClient(sock)
        answers = []
        started = time.monotonic()
        try:
            for pause in (0.0, 6.0, 6.0):
                time.sleep(pause)
                answers.append(client.ask(b'{"command":"status"}').get("ok"))
        except (OSError, EOFError, ValueError) as error:
            answers.append(repr(error))
        finally:
            client.close()
        results["patient"] = (time.monotonic() - started, answers)

    threads = [threading.Thread(target=f) for f in (control_loris, http_loris, patient)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=limit + 10)
    _, echoed = echo_once(port, b"still forwarding")

    summary = (f"control trickle closed after {results['control'][0]:.1f} s, HTTP trickle after "
               f"{results['http'][0]:.1f} s; patient client {results['patient'][0]:.1f} s, answers "
               f"{results['patient'][1]}")
    print("\n" + summary)
    record_property("summary", summary)
    for name, head in (("control", b'"ok":false'), ("http", b"HTTP/1.0 408 Request Timeout")):
        seconds, answer = results[name]
        # Bytes kept coming every 0.5 s, so the idle timeout never fired: the request did.
        assert REQUEST_TIMEOUT - 1 <= seconds < limit, (name, summary)
        assert head in answer and b"not complete within 10 s" in answer, (name, answer)
    assert results["patient"][1] == [True, True, True], summary
    assert results["patient"][0] > REQUEST_TIMEOUT, summary
    assert echoed == b"still forwarding"
    assert "request was not complete 10000 ms after its first byte" in daemon.log()
