"""Integration harness: runs the real build/ringlbd on 127.0.0.1 against real Python
backend servers, with ports chosen at run time. Every wait here is bounded; every
process and server it starts is stopped by the test's fixtures, by PID.
"""
from __future__ import annotations

import hashlib
import os
import random
import re
import selectors
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
# RINGLB_BUILD runs the suite against another build directory (the sanitizer builds:
# build-asan, build-tsan); RINGLBD_BINARY against one other ringlbd binary.
BUILD_DIR = (REPO_ROOT / os.environ.get("RINGLB_BUILD", "build")).resolve()
RINGLBD = Path(os.environ.get("RINGLBD_BINARY") or BUILD_DIR / "ringlbd").resolve()
RINGLBCTL = BUILD_DIR / "ringlbctl"
PYTHON = "/usr/bin/python3"
MIB = 1024 * 1024

# ---------------------------------------------------------------------- ports

_handed_out: set[int] = set()
_port_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses right now, for a listener that
    ringlbd itself binds. Drawn below the ephemeral range (32768+) so that the
    tests' own outgoing connections cannot take it between here and ringlbd's bind.
    Backend servers bind port 0 themselves and keep their socket instead."""
    rng = random.Random()
    with _port_lock:
        for _ in range(200):
            port = rng.randint(20000, 32000)
            if port in _handed_out:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            finally:
                s.close()
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port found in 200 tries")


def bound_unused_socket() -> socket.socket:
    """A socket bound to 127.0.0.1:PORT but not listening: connects to PORT are
    refused (RST), and nothing else can take the port. listen() on it later turns
    the refusing backend into a working one."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s


# --------------------------------------------------------------------- config


def render_config(listeners: dict[str, dict], control_socket: str, **global_keys) -> str:
    """INI text for ringlbd. listeners: name -> {"bind": ..., "backends": [...], other keys}."""
    lines = ["[global]"]
    keys = {"workers": 2, "log_level": "info", "shutdown_grace": "5s"}
    keys.update(global_keys)
    keys["control_socket"] = control_socket
    for key, value in keys.items():
        lines.append(f"{key} = {value}")
    for name, spec in listeners.items():
        lines.append("")
        lines.append(f"[listener.{name}]")
        spec = dict(spec)
        lines.append(f"bind = {spec.pop('bind')}")
        for backend in spec.pop("backends"):
            lines.append(f"backend = {backend}")
        for key, value in spec.items():
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- daemon


def listening_ports(pid: int) -> set[int]:
    """Ports in LISTEN state in the network namespace of process pid."""
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":  # TCP_LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            pass
    return ports


class Ringlbd:
    """One running ringlbd. Its stderr goes to log_path; stop() ends it by PID."""

    def __init__(self, workdir: Path, config_text: str, name: str = "ringlbd",
                 prefix: Iterable[str] = (), preexec_fn: Optional[Callable[[], None]] = None,
                 expect_clean_exit: bool = True):
        self.workdir = workdir
        self.name = name
        self.config_path = workdir / f"{name}.conf"
        self.log_path = workdir / f"{name}.log"
        self.config_path.write_text(config_text)
        self.prefix = list(prefix)
        self.preexec_fn = preexec_fn
        self.expect_clean_exit = expect_clean_exit
        self.proc: Optional[subprocess.Popen] = None
        self.returncode: Optional[int] = None

    def start(self) -> "Ringlbd":
        if not RINGLBD.exists():
            raise RuntimeError(f"{RINGLBD} is missing: run `make -j2` in {REPO_ROOT} first")
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.prefix + [str(RINGLBD), "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT,
            preexec_fn=self.preexec_fn, cwd=self.workdir)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return [line for line in self.log().splitlines() if rx.search(line)]

    def wait_log(self, pattern: str, timeout: float = 5.0, count: int = 1) -> list[str]:
        """Waits until at least count log lines match pattern; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.log_lines(pattern)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"ringlbd never logged /{pattern}/ within {timeout}s; log:\n{self.log()}")
            if not self.alive():
                raise AssertionError(f"ringlbd exited ({self.proc.returncode}) before logging /{pattern}/;"
                                     f" log:\n{self.log()}")
            time.sleep(0.02)

    def wait_ready(self, listeners: dict[str, int], timeout: float = 10.0) -> None:
        """Waits until each listener's port (name -> port) is in LISTEN state in
        ringlbd's network namespace: from then on the kernel queues connections for the
        workers' accepts. No probe connection is made, so backend servers and
        schedulers see only the test's own connections. The ports come from
        free_port(), so a listening socket on one is ringlbd's."""
        deadline = time.monotonic() + timeout
        while not set(listeners.values()) <= listening_ports(self.pid):
            if not self.alive():
                raise AssertionError(f"ringlbd {self.describe_exit()} before listening on {listeners}; "
                                     f"log:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"ringlbd listeners {listeners} not listening after {timeout}s; "
                                     f"log:\n{self.log()}")
            time.sleep(0.02)

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def wait_exit(self, timeout: float) -> Optional[int]:
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def describe_exit(self) -> str:
        """How the process ended, for failure messages ("" while it runs)."""
        rc = self.proc.poll() if self.proc else None
        if rc is None:
            return ""
        if rc < 0:
            try:
                return f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                return f"killed by signal {-rc}"
        return f"exited {rc}"

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after grace seconds. Returns the exit status
        (negative: killed by that signal)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            if self.wait_exit(grace) is None:
                os.kill(self.pid, signal.SIGKILL)
                self.wait_exit(5.0)
        self.returncode = self.proc.wait(timeout=5.0)
        self._log_file.close()
        return self.returncode

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process (all threads), from /proc/PID/stat."""
        with open(f"/proc/{self.pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_pipes(pid: int) -> int:
    """How many pipe descriptors process pid holds: splice mode moves bytes through
    pipes, copy mode uses none, so this shows which mode ringlbd is in."""
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:"):
                    n += 1
            except OSError:
                pass
    except OSError:
        pass
    return n


class PipeWatcher:
    """Samples count_pipes(pid) every 10 ms on a thread while in a with-block; max_pipes
    is the largest count seen (ringlbd's stdio are files here, not pipes)."""

    def __init__(self, pid: int, limit_s: float = 120.0):
        self.pid = pid
        self.limit_s = limit_s
        self.max_pipes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            self.max_pipes = max(self.max_pipes, count_pipes(self.pid))
            self._stop.wait(0.01)

    def __enter__(self) -> "PipeWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.max_pipes = max(self.max_pipes, count_pipes(self.pid))


# ------------------------------------------------------------ backend servers


class Record(dict):
    """What a backend server saw on one connection; done is set when it finished."""

    def __init__(self):
        super().__init__()
        self.done = threading.Event()


class TcpServer:
    """A thread-per-connection backend on 127.0.0.1:0. handler(server, conn, record)
    runs on its own thread; conn has a timeout so no thread can block for ever.
    listen=False binds without listening (connects are refused) until listen_now()."""

    def __init__(self, handler, name: str, listen: bool = True, conn_timeout: float = 60.0,
                 backlog: int = 1024):
        self.handler = handler
        self.name = name
        self.conn_timeout = conn_timeout
        self.backlog = backlog
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.records: list[Record] = []
        self.lock = threading.Lock()
        self.live = 0
        self.accepted = 0
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._accept_thread: Optional[threading.Thread] = None
        if listen:
            self.listen_now()

    def listen_now(self) -> None:
        self.sock.listen(self.backlog)
        self.sock.settimeout(0.2)
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"{self.name}-accept", daemon=True)
        self._accept_thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(self.conn_timeout)
            record = Record()
            with self.lock:
                self.accepted += 1
                self.live += 1
                self.records.append(record)
                self._conns.add(conn)
            t = threading.Thread(target=self._serve, args=(conn, record), name=f"{self.name}-conn", daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket, record: Record) -> None:
        try:
            self.handler(self, conn, record)
        except Exception as error:  # noqa: BLE001 — the peer went away; the test reads it
            record["error"] = repr(error)
        finally:
            with self.lock:
                self.live -= 1
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass
            record.done.set()

    def wait_records(self, count: int, timeout: float = 10.0) -> list[Record]:
        """Waits until count connections have been handled to the end."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                records = list(self.records)
            if len(records) >= count and all(r.done.is_set() for r in records[:count]):
                return records
            if time.monotonic() > deadline:
                raise AssertionError(f"backend {self.name}: {len(records)} connections, "
                                     f"{sum(r.done.is_set() for r in records)} finished; wanted {count}")
            time.sleep(0.01)

    def wait_progress(self, key: str, timeout: float = 10.0, index: int = 0) -> Record:
        """Waits until connection number index has recorded key (handlers record as they go)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                record = self.records[index] if len(self.records) > index else None
            if record is not None and key in record:
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"backend {self.name}: connection {index} never recorded {key!r}: {record}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._accept_thread:
            self._accept_thread.join(timeout=2.0)
        for t in self._threads:
            t.join(timeout=2.0)


def recv_exact(conn: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = conn.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError(f"EOF after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def send_then_read_all(conn: socket.socket, data: bytes) -> bytes:
    """Sends data and EOF, then reads until the peer closes. For small data only: the
    send must not wait for the reading (echo_through sends from a thread)."""
    conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)
    received = bytearray()
    while chunk := conn.recv(65536):
        received += chunk
    return bytes(received)


def echo_through(conn: socket.socket, payload: bytes, timeout: float) -> tuple[bytes, str | None]:
    """Sends payload and then EOF from a thread, so neither side blocks the other, while
    reading until EOF or timeout. Returns (what came back, the sender's error or None)."""
    errors = []

    def sender():
        try:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
        except OSError as error:
            errors.append(repr(error))

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    t.join(timeout=timeout)
    return bytes(got), (errors[0] if errors else None)


def recv_line(conn: socket.socket, limit: int = 4096) -> bytes:
    """Reads up to and including b'\\n' one byte at a time (keeps later bytes unread)."""
    out = bytearray()
    while len(out) < limit:
        b = conn.recv(1)
        if not b:
            raise EOFError(f"EOF after {bytes(out)!r}")
        out += b
        if b == b"\n":
            return bytes(out)
    raise ValueError("line too long")


def recv_all(conn: socket.socket, hasher=None, limit: int = 1 << 31) -> int:
    """Reads until EOF; returns the byte count and feeds hasher."""
    total = 0
    while total < limit:
        chunk = conn.recv(1 << 20)
        if not chunk:
            return total
        total += len(chunk)
        if hasher is not None:
            hasher.update(chunk)
    raise ValueError("more data than expected")


def send_random(conn: socket.socket, n: int, hasher, seed: int, chunk: int = MIB,
                pace: float = 0.0) -> None:
    """Sends n pseudo-random bytes in chunks (sleeping pace seconds between them)."""
    rng = random.Random(seed)
    left = n
    while left > 0:
        data = rng.randbytes(min(chunk, left))
        hasher.update(data)
        conn.sendall(data)
        left -= len(data)
        if pace and left > 0:
            time.sleep(pace)


# Handlers: handler(server, conn, record).

def name_handler(server: TcpServer, conn: socket.socket, record: Record) -> None:
    """Says which backend answered, then holds the connection until the peer closes."""
    conn.sendall(server.name.encode() + b"\n")
    record["bytes_in"] = recv_all(conn)


def echo_handler(server: TcpServer, conn: socket.socket, record: Record) -> None:
    """Echoes every byte; at EOF shuts its write side. Records what it received."""
    hasher = hashlib.sha256()
    total = 0
    while True:
        chunk = conn.recv(1 << 18)
        if not chunk:
            break
        hasher.update(chunk)
        total += len(chunk)
        conn.sendall(chunk)
    conn.shutdown(socket.SHUT_WR)
    record.update(rx_len=total, rx_sha=hasher.hexdigest())


def source_sink_handler(server: TcpServer, conn: socket.socket, record: Record) -> None:
    """Reads an 8-byte header N (big endian), then at the same time sends N
    pseudo-random bytes (then shuts its write side) and reads everything the
    client sends until EOF. Records both checksums."""
    (n,) = struct.unpack("!Q", recv_exact(conn, 8))
    tx = hashlib.sha256()
    errors = []

    def sender():
        try:
            send_random(conn, n, tx, seed=random.getrandbits(64))
            conn.shutdown(socket.SHUT_WR)
        except OSError as error:
            errors.append(repr(error))

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    rx = hashlib.sha256()
    rx_len = recv_all(conn, rx)
    t.join(timeout=120)
    record.update(rx_len=rx_len, rx_sha=rx.hexdigest(), tx_len=n, tx_sha=tx.hexdigest(),
                  tx_errors=errors, tx_finished=not t.is_alive())


def reply_after_eof_handler(server: TcpServer, conn: socket.socket, record: Record) -> None:
    """Reads an 8-byte header N, then everything until the client's EOF (half-close);
    only then replies "COUNT SHA256\\n" for what it read, followed by N pseudo-random
    bytes, and closes."""
    (n,) = struct.unpack("!Q", recv_exact(conn, 8))
    rx = hashlib.sha256()
    rx_len = recv_all(conn, rx)
    record.update(rx_len=rx_len, rx_sha=rx.hexdigest(), saw_eof=True)
    conn.sendall(f"{rx_len} {rx.hexdigest()}\n".encode())
    tx = hashlib.sha256()
    send_random(conn, n, tx, seed=random.getrandbits(64))
    record.update(tx_len=n, tx_sha=tx.hexdigest())


def server_closes_first_handler(server: TcpServer, conn: socket.socket, record: Record) -> None:
    """Sends 4 MiB and shuts its write side first, then reads the client until EOF."""
    tx = hashlib.sha256()
    send_random(conn, 4 * MIB, tx, seed=random.getrandbits(64))
    conn.shutdown(socket.SHUT_WR)
    record.update(tx_len=4 * MIB, tx_sha=tx.hexdigest())
    rx = hashlib.sha256()
    rx_len = recv_all(conn, rx)
    record.update(rx_len=rx_len, rx_sha=rx.hexdigest())


def reset_handler(server: TcpServer, conn: socket.socket, record: Record) -> None:
    """Reads one byte, then closes with SO_LINGER 0: the peer gets a RST."""
    record["first"] = conn.recv(1)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    record["reset_sent"] = True


def expect_reset_handler(server: TcpServer, conn: socket.socket, record: Record) -> None:
    """Reads until EOF or error and records which one ended the connection."""
    record["first"] = conn.recv(5)
    try:
        record["bytes_in"] = recv_all(conn)
        record["ended_by"] = "eof"
    except ConnectionResetError:
        record["ended_by"] = "reset"


class SelectorEchoServer:
    """A single-threaded echo backend for many concurrent connections."""

    def __init__(self, name: str = "echo", backlog: int = 4096, lifetime: float = 120.0):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.accepted = 0
        self.live = 0
        self.lifetime = lifetime
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"{name}-selector", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        pending: dict[socket.socket, bytearray] = {}
        deadline = time.monotonic() + self.lifetime
        try:
            while not self._stopping.is_set() and time.monotonic() < deadline:
                for key, events in sel.select(timeout=0.1):
                    if key.data is None:
                        for _ in range(256):
                            try:
                                conn, _ = self.sock.accept()
                            except (BlockingIOError, OSError):
                                break
                            conn.setblocking(False)
                            self.accepted += 1
                            self.live += 1
                            pending[conn] = bytearray()
                            sel.register(conn, selectors.EVENT_READ, "conn")
                        continue
                    conn = key.fileobj
                    out = pending[conn]
                    closed = False
                    if events & selectors.EVENT_READ:
                        try:
                            data = conn.recv(65536)
                            if data:
                                out += data
                            else:
                                closed = True
                        except BlockingIOError:
                            pass
                        except OSError:
                            closed = True
                    if out and not closed:
                        try:
                            sent = conn.send(out)
                            del out[:sent]
                        except BlockingIOError:
                            pass
                        except OSError:
                            closed = True
                    if closed:
                        sel.unregister(conn)
                        conn.close()
                        del pending[conn]
                        self.live -= 1
                        continue
                    want = selectors.EVENT_READ | (selectors.EVENT_WRITE if out else 0)
                    if key.events != want:
                        sel.modify(conn, want, "conn")
        finally:
            for conn in list(pending):
                conn.close()
            sel.close()
            self.sock.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5.0)


# --------------------------------------------------------------------- clients


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def which_backend(port: int, timeout: float = 5.0) -> str:
    """Opens a connection, reads the backend's name, closes. '' when closed without one."""
    with connect(port, timeout) as s:
        try:
            return recv_line(s).decode().strip()
        except EOFError:
            return ""


def bulk_exchange(port: int, up: int, down: int, timeout: float = 60.0, seed: int = 1) -> dict:
    """Against source_sink_handler: sends `up` bytes while receiving `down` bytes.
    Returns the client's byte counts and checksums for both directions."""
    s = connect(port, timeout)
    try:
        s.sendall(struct.pack("!Q", down))
        tx = hashlib.sha256()
        errors = []

        def sender():
            try:
                send_random(s, up, tx, seed=seed)
                s.shutdown(socket.SHUT_WR)
            except OSError as error:
                errors.append(repr(error))

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        rx = hashlib.sha256()
        rx_len = recv_all(s, rx)
        t.join(timeout=timeout)
        assert not t.is_alive(), "client sender still running"
        assert not errors, f"client send failed: {errors}"
        return {"tx_len": up, "tx_sha": tx.hexdigest(), "rx_len": rx_len, "rx_sha": rx.hexdigest()}
    finally:
        s.close()


# ------------------------------------------------------------ network namespaces

NETNS_BACKEND = r"""
import socket, sys, time
port, name, lifetime = int(sys.argv[1]), sys.argv[2].encode(), float(sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(64); s.settimeout(0.2)
print("ready", flush=True)
deadline = time.monotonic() + lifetime
while time.monotonic() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    try:
        c.sendall(name + b"\n")
    finally:
        c.close()
"""

NETNS_CLIENT = r"""
import json, socket, sys, time
port, count, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
results = []
for _ in range(count):
    start = time.monotonic()
    data, error = b"", None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(max(0.1, timeout - (time.monotonic() - start)))
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError as e:
        error = type(e).__name__
    results.append({"elapsed": time.monotonic() - start, "data": data.decode(errors="replace"), "error": error})
print(json.dumps(results))
"""

NETNS_PROBE = r"""
import socket, sys
s = socket.socket(); s.settimeout(float(sys.argv[2]))
try:
    s.connect(("127.0.0.1", int(sys.argv[1]))); print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(type(e).__name__)
"""
