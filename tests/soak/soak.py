#!/usr/bin/python3
"""Soak test (`make soak`, not in CI): SOAK_SECONDS (default 600) of mixed load through a
real ringlbd on 127.0.0.0/8 while it is reloaded, changed with ringlbctl and its backends
are killed -9 and restarted. Reports fds, RSS and every client error; exits 1 on any.

Also the backend server it starts: `soak.py backend ID PORT LIFETIME` (one process per
backend, so that a backend can really be killed -9).
"""
from __future__ import annotations

import collections
import copy
import ctypes
import errno
import http.client
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

import harness  # noqa: E402  (port choice, config rendering, the ringlbd process)

RINGLBCTL = Path(os.environ.get("RINGLBCTL_BINARY") or REPO_ROOT / "build" / "ringlbctl").resolve()
PYTHON = "/usr/bin/python3"
OUT_DIR = REPO_ROOT / "build" / "soak"
MIB = 1 << 20
CHUNK = MIB                     # generator chunk: sender, backend and verifier agree on it
IO_TIMEOUT = 20.0               # any single socket operation of a client
PROXY_V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)

# Load: modest on purpose (2 shared cores); rates are per thread.
SHORT_THREADS, SHORT_RATE = 2, 10.0          # connections/s
KEEPALIVE_THREADS = 2                        # 40-150 requests per connection, 10 ms apart
BULK_THREADS = 2                             # 8-32 MiB each, 2-4 s apart
CLIENT_THREADS = SHORT_THREADS + KEEPALIVE_THREADS + BULK_THREADS

# Chaos schedule (seconds).
RELOAD_EVERY, CLI_EVERY, KILL_EVERY = 20.0, 10.0, 15.0
RESTART_AFTER = (4.0, 6.0)
MIN_LIVE = 2                    # ready, alive backends each listener always keeps
SAMPLE_EVERY = 10.0
FD_SLACK = 4                    # non-pipe fds allowed above the start after the load

N_BACKENDS = 6


# ------------------------------------------------------------------ shared bits


def gen_stream(n: int, seed: int):
    """n pseudo-random bytes from seed, in CHUNK pieces (identical wherever it runs)."""
    rng = random.Random(seed)
    left = n
    while left > 0:
        piece = rng.randbytes(min(CHUNK, left))
        left -= len(piece)
        yield piece


class Reader:
    """Buffered reads from a socket: lines and exact counts, EOFError on early EOF."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 18)
        if not chunk:
            raise EOFError(f"EOF with {len(self.buf)} bytes buffered")
        self.buf += chunk

    def peek(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        return bytes(self.buf[:n])

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_line(self, limit: int = 4096) -> bytes:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self._fill()

    def take(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


# ---------------------------------------------------------------- the backend
# Protocol, after an optional PROXY v2 header (which the backend parses and reports):
#   "GET ..." / "HEAD ..."  health check: HTTP 200, close
#   "ECHO\n"                greeting, then every byte back; EOF -> shut write side
#   "GEN N SEED\n"          greeting, then N bytes of gen_stream(N, SEED), shut write side
# The greeting is "HELLO <backend id> <proxy source ip:port | - | local>\n".


def backend_serve(conn: socket.socket, bid: int) -> None:
    try:
        conn.settimeout(120.0)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = Reader(conn)
        proxy = "-"
        if reader.peek(1) == b"\r":
            head = reader.read_exact(16)
            if head[:12] != PROXY_V2_SIG:
                proxy = "bad-signature"
            (length,) = struct.unpack("!H", head[14:16])
            body = reader.read_exact(length)
            if proxy == "bad-signature":
                pass
            elif head[12] == 0x21 and head[13] == 0x11 and length >= 12:
                (sport,) = struct.unpack("!H", body[8:10])
                proxy = f"{socket.inet_ntoa(body[0:4])}:{sport}"
            elif head[12] == 0x20:
                proxy = "local"
            else:
                proxy = f"bad-{head[12]:#x}-{head[13]:#x}"
        line = reader.read_line()
        if line.startswith((b"GET ", b"HEAD ")):
            for _ in range(64):
                if reader.read_line() in (b"\r\n", b"\n"):
                    break
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            return
        words = line.split()
        conn.sendall(f"HELLO {bid} {proxy}\n".encode())
        if words and words[0] == b"ECHO":
            rest = reader.take()
            if rest:
                conn.sendall(rest)
            while True:
                chunk = conn.recv(1 << 18)
                if not chunk:
                    break
                conn.sendall(chunk)
            conn.shutdown(socket.SHUT_WR)
        elif len(words) == 3 and words[0] == b"GEN":
            for piece in gen_stream(int(words[1]), int(words[2])):
                conn.sendall(piece)
            conn.shutdown(socket.SHUT_WR)
            for _ in range(1 << 16):            # the client half-closed already: read to EOF
                if not conn.recv(1 << 16):
                    break
    except (OSError, EOFError, ValueError):
        pass
    finally:
        conn.close()


def backend_main(bid: int, port: int, lifetime: float) -> int:
    parent = os.getppid()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1024)
    srv.settimeout(0.5)
    print("ready", flush=True)
    deadline = time.monotonic() + lifetime
    # Ends with its deadline or when the soak process is gone (reparented).
    while time.monotonic() < deadline and os.getppid() == parent:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=backend_serve, args=(conn, bid), daemon=True).start()
    return 0


# ---------------------------------------------------------------- soak state


def die_with_parent(sig: int):
    """preexec_fn: the child gets sig when the thread that started it ends."""
    libc = ctypes.CDLL(None, use_errno=True)

    def set_pdeathsig():
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG

    return set_pdeathsig


def now_s(t0: float) -> str:
    return f"[{time.monotonic() - t0:7.1f}s]"


class Backend:
    def __init__(self, bid: int, port: int, lifetime: float, workdir: Path):
        self.bid = bid
        self.port = port
        self.addr = f"127.0.0.1:{port}"
        self.lifetime = lifetime
        self.workdir = workdir
        self.proc: Optional[subprocess.Popen] = None
        self.alive = False
        self.starts = 0

    def start(self) -> bool:
        """Starts the process; True once it listens (bounded: 10 tries, 5 s each)."""
        for _ in range(10):
            log = open(self.workdir / f"backend{self.bid}.log", "ab")
            self.proc = subprocess.Popen([PYTHON, str(Path(__file__).resolve()), "backend", str(self.bid),
                                          str(self.port), str(self.lifetime)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
            log.close()
            line = b""
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
                if ready:
                    line = self.proc.stdout.readline()
                    break
                if self.proc.poll() is not None:
                    break
            if line.strip() == b"ready":
                self.alive = True
                self.starts += 1
                return True
            self.kill()
            time.sleep(0.5)  # the port may still be taken for a moment
        return False

    def kill(self) -> None:
        self.alive = False
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.errors = collections.Counter()
        self.cuts = collections.Counter()
        self.error_samples: list[dict] = []
        self.cut_samples: list[dict] = []

    def add(self, **kw) -> None:
        with self.lock:
            self.counts.update(kw)

    def error(self, kind: str, info: dict, t0: float) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.error_samples) < 100:
                self.error_samples.append(dict(info, kind=kind))
        print(f"{now_s(t0)} ERROR {kind}: {info}", flush=True)

    def cut(self, kind: str, info: dict) -> None:
        with self.lock:
            self.cuts[kind] += 1
            if len(self.cut_samples) < 30:
                self.cut_samples.append(dict(info, kind=kind))


class Fail(Exception):
    """A client operation went wrong; cut_candidate: a backend kill may explain it."""

    def __init__(self, kind: str, detail: str, cut_candidate: bool):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.cut_candidate = cut_candidate


class Soak:
    def __init__(self, seconds: float, seed: int):
        self.seconds = seconds
        self.seed = seed
        self.rng = random.Random(seed)
        self.stop_load = threading.Event()
        self.stop_all = threading.Event()
        self.stats = Stats()
        self.kills: list[tuple[int, float]] = []
        self.kills_lock = threading.Lock()
        self.t0 = time.monotonic()
        self.workdir = OUT_DIR
        self.backends: list[Backend] = []
        self.daemon: Optional[harness.Ringlbd] = None
        self.listeners: dict[str, dict] = {}
        self.samples: list[dict] = []
        self.chaos = collections.Counter()
        self.client_threads: list[threading.Thread] = []
        self.chaos_thread: Optional[threading.Thread] = None
        # Many client source addresses (source-hash spreads them; PROXY v2 reports them).
        self.sources = [f"127.{self.rng.randint(10, 250)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
                        for _ in range(1000)]
        self.failures: list[str] = []

    def log(self, msg: str) -> None:
        print(f"{now_s(self.t0)} {msg}", flush=True)

    # ------------------------------------------------------------ model

    def model_ok(self, listeners: dict[str, dict], dead: Optional[int] = None) -> bool:
        for spec in listeners.values():
            n = sum(1 for bid, m in spec["members"].items()
                    if m["state"] == "ready" and self.backends[bid].alive and bid != dead)
            if n < MIN_LIVE:
                return False
        return True

    def config_text(self) -> str:
        rendered = {}
        for name, spec in self.listeners.items():
            backends = []
            for bid in sorted(spec["members"]):
                m = spec["members"][bid]
                line = f"{self.backends[bid].addr} weight={m['weight']}"
                if m["state"] != "ready":
                    line += f" state={m['state']}"
                backends.append(line)
            keys = {"bind": f"127.0.0.1:{spec['port']}", "backends": backends}
            keys.update(spec["keys"])
            rendered[name] = keys
        return harness.render_config(rendered, str(self.control_socket), metrics=f"127.0.0.1:{self.metrics_port}",
                                     access_log=str(self.workdir / "access.log"))

    def write_config(self) -> None:
        path = self.daemon.config_path if self.daemon else self.workdir / "ringlbd.conf"
        tmp = path.with_name(path.name + ".soak-tmp")
        tmp.write_text(self.config_text())
        os.replace(tmp, path)

    def ctl(self, *args: str, timeout: float = 15.0) -> tuple[int, str]:
        try:
            done = subprocess.run([str(RINGLBCTL), "--socket", str(self.control_socket), "--timeout", "10", *args],
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return -1, "ringlbctl timed out"
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace").strip()

    def daemon_view(self) -> Optional[dict]:
        rc, out = self.ctl("--json", "listener", "list")
        if rc != 0:
            return None
        try:
            data = json.loads(out)
        except ValueError:
            return None
        return {lst["name"]: {b["address"]: (b["weight"], b["state"]) for b in lst["backends"]}
                for lst in data.get("listeners", [])}

    def check_model(self, when: str) -> None:
        """The daemon's listeners and backends (address, weight, state) match what the soak set."""
        view = self.daemon_view()
        want = {name: {self.backends[bid].addr: (m["weight"], m["state"]) for bid, m in spec["members"].items()}
                for name, spec in self.listeners.items()}
        if view != want:
            self.stats.error("model-mismatch", {"when": when, "daemon": view, "expected": want}, self.t0)

    # ------------------------------------------------------------ setup

    def setup(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for old in self.workdir.iterdir():
            if old.is_file() or old.is_socket():
                old.unlink()
        self.control_socket = self.workdir / "ringlbd.sock"
        self.metrics_port = harness.free_port()
        lifetime = self.seconds + 600
        for bid in range(N_BACKENDS):
            backend = Backend(bid, harness.free_port(), lifetime, self.workdir)
            self.backends.append(backend)
            if not backend.start():
                raise RuntimeError(f"backend {bid} did not start on {backend.addr}")
        common = {"check_interval": "1s", "check_timeout": "1s", "rise": 2, "fall": 2, "max_fails": 1,
                  "fail_timeout": "10s", "retries": 2, "connect_timeout": "2s", "splice": "auto"}
        self.listeners = {
            "lc": {"port": harness.free_port(), "proxy": False, "members": {0: {}, 1: {}, 2: {}, 3: {}},
                   "keys": dict(common, scheduler="leastconn", check="tcp")},
            "sh": {"port": harness.free_port(), "proxy": True, "members": {2: {}, 3: {}, 4: {}, 5: {}},
                   "keys": dict(common, scheduler="source-hash", check="http GET /health expect 200",
                                proxy_protocol="v2")},
            "rr": {"port": harness.free_port(), "proxy": False, "members": {0: {}, 1: {}, 4: {}, 5: {}},
                   "keys": dict(common, scheduler="roundrobin", check="tcp", slow_start="3s")},
        }
        for spec in self.listeners.values():
            for bid in spec["members"]:
                spec["members"][bid] = {"weight": self.rng.randint(1, 4), "state": "ready"}
        self.daemon = harness.Ringlbd(self.workdir, self.config_text(), name="ringlbd",
                                      preexec_fn=die_with_parent(signal.SIGTERM))
        self.daemon.start()
        self.daemon.wait_ready({name: spec["port"] for name, spec in self.listeners.items()}, timeout=15.0)
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:       # every backend through its first check
            view = self.daemon_view_status()
            if view and all(s == "up" for s in view.values()):
                break
            time.sleep(0.2)
        self.log(f"ringlbd pid {self.daemon.pid}; listeners "
                 + ", ".join(f"{n}=127.0.0.1:{s['port']}" for n, s in self.listeners.items())
                 + "; backends " + ", ".join(f"b{b.bid}={b.addr}" for b in self.backends))

    def daemon_view_status(self) -> dict:
        rc, out = self.ctl("--json", "listener", "list")
        if rc != 0:
            return {}
        try:
            data = json.loads(out)
        except ValueError:
            return {}
        return {(lst["name"], b["address"]): b["status"] for lst in data["listeners"] for b in lst["backends"]}

    # ------------------------------------------------------------ clients

    def pick_listener(self, rng: random.Random) -> str:
        return rng.choice(sorted(self.listeners))

    def connect(self, name: str, rng: random.Random) -> tuple[socket.socket, str]:
        src = rng.choice(self.sources)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            s.bind((src, 0))
            s.settimeout(IO_TIMEOUT)
            s.connect(("127.0.0.1", self.listeners[name]["port"]))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except ConnectionRefusedError as e:
            s.close()
            raise Fail("connect-refused", repr(e), False)
        except socket.timeout as e:
            s.close()
            raise Fail("connect-timeout", repr(e), False)
        except OSError as e:
            s.close()
            raise Fail("connect-error", repr(e), False)
        self.stats.add(connections=1)
        return s, src

    def greeting(self, reader: Reader, name: str, s: socket.socket, info: dict) -> None:
        line = reader.read_line(256).decode(errors="replace").split()
        if len(line) != 3 or line[0] != "HELLO" or not line[1].isdigit():
            raise Fail("bad-greeting", repr(line), False)
        info["backend"] = int(line[1])
        ip, port = s.getsockname()
        want = f"{ip}:{port}" if self.listeners[name]["proxy"] else "-"
        if line[2] != want:
            raise Fail("proxy-header", f"backend saw {line[2]!r}, client is {want!r}", False)

    def run_op(self, op: str, fn, rng: random.Random, name: Optional[str] = None) -> None:
        name = name or self.pick_listener(rng)
        info = {"op": op, "listener": name, "t": round(time.monotonic() - self.t0, 2)}
        start = time.monotonic()
        s = None
        try:
            s, _ = self.connect(name, rng)
            info["client"] = f"{s.getsockname()[0]}:{s.getsockname()[1]}"
            fn(s, name, rng, info)
            self.stats.add(**{f"ok_{op}": 1})
            return
        except Fail as f:
            fail = f
        except socket.timeout as e:
            fail = Fail("timeout", repr(e), False)
        except EOFError as e:
            fail = Fail("eof-early", str(e), True)
        except OSError as e:
            # ENOTCONN: shutdown() on a socket a RST already closed.
            if e.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN, errno.ECONNABORTED):
                fail = Fail("reset", repr(e), True)
            else:
                fail = Fail("oserror", repr(e), False)
        finally:
            if s is not None:
                s.close()
        end = time.monotonic()
        info["detail"] = fail.detail
        info["elapsed"] = round(end - start, 3)
        if fail.cut_candidate:
            with self.kills_lock:
                kills = list(self.kills)
            bid = info.get("backend")
            if bid is not None and any(k == bid and start <= t <= end for k, t in kills):
                self.stats.cut(f"{op}-{fail.kind}", info)
                return
            if bid is None and any(start <= t <= end for _, t in kills):
                self.stats.cut(f"{op}-before-greeting", info)
                return
        self.stats.error(f"{op}-{fail.kind}", info, self.t0)

    def op_short(self, s: socket.socket, name: str, rng: random.Random, info: dict) -> None:
        payload = rng.randbytes(rng.randint(1, 4096))
        s.sendall(b"ECHO\n" + payload)
        s.shutdown(socket.SHUT_WR)
        reader = Reader(s)
        self.greeting(reader, name, s, info)
        got = bytearray(reader.take())
        while len(got) <= len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        if bytes(got) != payload[:len(got)] or len(got) > len(payload):
            raise Fail("bad-bytes", f"echo of {len(payload)} bytes differs (got {len(got)})", False)
        if len(got) < len(payload):
            raise EOFError(f"EOF after {len(got)} of {len(payload)} echoed bytes")
        self.stats.add(requests=1, bytes_up=len(payload), bytes_down=len(payload))

    def op_keepalive(self, s: socket.socket, name: str, rng: random.Random, info: dict) -> None:
        s.sendall(b"ECHO\n")
        reader = Reader(s)
        self.greeting(reader, name, s, info)
        n = rng.randint(40, 150)
        for i in range(n):
            if self.stop_load.is_set():
                break
            msg = rng.randbytes(rng.randint(1, 512))
            s.sendall(msg)
            got = reader.read_exact(len(msg))
            if got != msg:
                raise Fail("bad-bytes", f"request {i}: echo of {len(msg)} bytes differs", False)
            self.stats.add(requests=1, bytes_up=len(msg), bytes_down=len(msg))
            info["requests"] = i + 1
            time.sleep(0.01)
        s.shutdown(socket.SHUT_WR)
        if s.recv(1):
            raise Fail("bad-bytes", "data after the last echo", False)

    def op_bulk_echo(self, s: socket.socket, name: str, rng: random.Random, info: dict) -> None:
        n = rng.randint(8 * MIB, 32 * MIB)
        seed = rng.getrandbits(63)
        info["bytes"] = n
        sent_errors: list[BaseException] = []

        def sender():
            try:
                s.sendall(b"ECHO\n")
                for piece in gen_stream(n, seed):
                    s.sendall(piece)
                s.shutdown(socket.SHUT_WR)
            except OSError as e:
                sent_errors.append(e)

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        try:
            reader = Reader(s)
            self.greeting(reader, name, s, info)
            self.receive_verified(s, reader, n, seed)
        finally:
            if t.is_alive():
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            t.join(timeout=IO_TIMEOUT + 5)
        if sent_errors:
            raise sent_errors[0]
        self.stats.add(bulk_bytes=2 * n, bytes_up=n, bytes_down=n)

    def op_bulk_gen(self, s: socket.socket, name: str, rng: random.Random, info: dict) -> None:
        n = rng.randint(8 * MIB, 32 * MIB)
        seed = rng.getrandbits(63)
        info["bytes"] = n
        s.sendall(f"GEN {n} {seed}\n".encode())
        s.shutdown(socket.SHUT_WR)                 # half-closed for the whole transfer
        reader = Reader(s)
        self.greeting(reader, name, s, info)
        self.receive_verified(s, reader, n, seed)
        self.stats.add(bulk_bytes=n, bytes_down=n)

    def receive_verified(self, s: socket.socket, reader: Reader, n: int, seed: int) -> None:
        """Reads to EOF, comparing every byte with gen_stream(n, seed) as it arrives."""
        expected = gen_stream(n, seed)
        cur, pos, offset = b"", 0, 0
        data = reader.take()
        deadline = time.monotonic() + 300.0
        while True:
            mv = memoryview(data)
            while len(mv):
                if pos == len(cur):
                    cur, pos = next(expected, b""), 0
                    if not cur:
                        raise Fail("bad-bytes", f"more than the {n} bytes expected", False)
                k = min(len(mv), len(cur) - pos)
                if mv[:k] != memoryview(cur)[pos:pos + k]:
                    raise Fail("bad-bytes", f"stream differs within bytes {offset}..{offset + k} of {n}", False)
                pos += k
                offset += k
                mv = mv[k:]
            if time.monotonic() > deadline:
                raise Fail("timeout", f"bulk still running after 300 s at {offset} of {n}", False)
            data = s.recv(1 << 20)
            if not data:
                break
        if offset != n:
            raise EOFError(f"EOF after {offset} of {n} bytes")

    def client_loop(self, kind: str, index: int) -> None:
        rng = random.Random(f"{self.seed}-{kind}-{index}")
        ops = {"short": [("short", self.op_short)],
               "keepalive": [("keepalive", self.op_keepalive)],
               "bulk": [("bulk_echo", self.op_bulk_echo), ("bulk_gen", self.op_bulk_gen)]}[kind]
        hard_stop = time.monotonic() + self.seconds + 120
        while not self.stop_load.is_set() and time.monotonic() < hard_stop:
            started = time.monotonic()
            op, fn = rng.choice(ops)
            self.run_op(op, fn, rng)
            if kind == "short":
                pause = max(0.0, 1.0 / SHORT_RATE - (time.monotonic() - started))
            elif kind == "keepalive":
                pause = rng.uniform(0.1, 0.5)
            else:
                pause = rng.uniform(2.0, 4.0)
            self.stop_load.wait(pause)

    def start_clients(self) -> None:
        for kind, count in (("short", SHORT_THREADS), ("keepalive", KEEPALIVE_THREADS), ("bulk", BULK_THREADS)):
            for i in range(count):
                t = threading.Thread(target=self.client_loop, args=(kind, i), name=f"client-{kind}-{i}", daemon=True)
                self.client_threads.append(t)
                t.start()

    def warm_up(self) -> None:
        """One of each operation on each listener (two bulks at once), so buffer rings and
        pipe pools exist before the start figures are taken."""
        rng = random.Random(f"{self.seed}-warmup")
        for name in sorted(self.listeners):
            for op, fn in (("short", self.op_short), ("keepalive", self.op_keepalive)):
                self.run_op(op, fn, rng, name)
            bulk = [threading.Thread(target=self.run_op, args=(op, fn, random.Random(f"{self.seed}-{name}-{op}"), name))
                    for op, fn in (("bulk_echo", self.op_bulk_echo), ("bulk_gen", self.op_bulk_gen))]
            for t in bulk:
                t.start()
            for t in bulk:
                t.join(timeout=120)

    # ------------------------------------------------------------ chaos

    def mutations(self, rng: random.Random, for_reload: bool) -> list[tuple]:
        """Candidate changes (listener, what, backend, value) that keep MIN_LIVE."""
        out = []
        for name, spec in self.listeners.items():
            members = spec["members"]
            for bid in range(N_BACKENDS):
                if bid not in members:
                    out.append((name, "add", bid, rng.randint(1, 4)))
                    continue
                m = members[bid]
                out.append((name, "weight", bid, rng.choice([w for w in range(1, 6) if w != m["weight"]])))
                if len(members) > 2:
                    out.append((name, "remove", bid, None))
                if m["state"] == "ready":
                    out.append((name, "state", bid, rng.choice(["drain", "maint"])))
                else:
                    out.append((name, "state", bid, "ready"))
        ok = []
        for mut in out:
            trial = copy.deepcopy(self.listeners)
            apply_mutation(trial, mut)
            if self.model_ok(trial) and (not for_reload or mut[1] != "state" or rng.random() < 0.3):
                ok.append(mut)
        return ok

    def describe(self, mut: tuple) -> str:
        name, what, bid, value = mut
        return f"{name} {what} b{bid}" + (f"={value}" if value is not None else "")

    def do_cli(self, rng: random.Random) -> None:
        muts = self.mutations(rng, for_reload=False)
        if not muts:
            self.log("cli: no safe change possible now")
            return
        mut = rng.choice(muts)
        name, what, bid, value = mut
        addr = self.backends[bid].addr
        if what == "add":
            args = ["backend", "add", name, addr, "--weight", str(value)]
        elif what == "remove":
            args = ["backend", "remove", name, addr]
        elif what == "weight":
            args = ["backend", "set", name, addr, "--weight", str(value)]
        else:
            args = ["backend", "set", name, addr, "--state", value]
        rc, out = self.ctl(*args)
        self.chaos["cli_changes"] += 1
        self.chaos[f"cli_{what}"] += 1
        self.log(f"ringlbctl {' '.join(args)} -> {rc}: {out}")
        if rc != 0:
            self.stats.error("cli-refused", {"args": args, "rc": rc, "out": out}, self.t0)
            return
        apply_mutation(self.listeners, mut)
        self.check_model(f"after ringlbctl {' '.join(args)}")

    def do_reload(self, rng: random.Random) -> None:
        changes = []
        for _ in range(rng.randint(1, 3)):
            muts = self.mutations(rng, for_reload=True)
            if muts:
                mut = rng.choice(muts)
                apply_mutation(self.listeners, mut)
                changes.append(self.describe(mut))
        self.write_config()
        self.chaos["reloads"] += 1
        if self.chaos["reloads"] % 2:
            before = len(self.daemon.log_lines(r"info reloaded "))
            self.daemon.signal(signal.SIGHUP)
            self.chaos["reloads_sighup"] += 1
            how = "SIGHUP"
            deadline = time.monotonic() + 10.0
            while len(self.daemon.log_lines(r"info reloaded ")) <= before and time.monotonic() < deadline:
                time.sleep(0.05)
            if len(self.daemon.log_lines(r"info reloaded ")) <= before:
                self.stats.error("reload-failed", {"how": how, "log": self.daemon.log()[-2000:]}, self.t0)
        else:
            rc, out = self.ctl("reload")
            self.chaos["reloads_ctl"] += 1
            how = "ringlbctl reload"
            if rc != 0:
                self.stats.error("reload-failed", {"how": how, "rc": rc, "out": out}, self.t0)
        self.log(f"reload ({how}): {', '.join(changes) or 'no change'}")
        self.check_model(f"after reload ({how})")

    def do_kill(self, rng: random.Random) -> Optional[int]:
        candidates = [b.bid for b in self.backends if b.alive and self.model_ok(self.listeners, dead=b.bid)]
        if not candidates:
            self.log("kill: no backend can go now")
            return None
        bid = rng.choice(candidates)
        backend = self.backends[bid]
        pid = backend.proc.pid
        with self.kills_lock:
            self.kills.append((bid, time.monotonic()))
        backend.kill()
        self.chaos["backend_kills"] += 1
        self.log(f"kill -9 b{bid} (pid {pid}, {backend.addr})")
        return bid

    def do_restart(self, bid: int) -> None:
        backend = self.backends[bid]
        if backend.start():
            self.chaos["backend_restarts"] += 1
            self.log(f"restarted b{bid} (pid {backend.proc.pid})")
        else:
            # Not the daemon's fault: the port was taken meanwhile. It stays dead.
            self.chaos["backend_restart_failures"] += 1
            self.log(f"b{bid} could not be restarted on {backend.addr}; it stays down")

    def chaos_loop(self, load_end: float) -> None:
        rng = random.Random(f"{self.seed}-chaos")
        start = time.monotonic()
        next_cli, next_reload, next_kill = start + CLI_EVERY, start + RELOAD_EVERY, start + KILL_EVERY
        restart_at, dead = None, None
        try:
            while not self.stop_all.is_set():
                t = time.monotonic()
                if dead is not None and t >= restart_at:
                    self.do_restart(dead)
                    dead = None
                    continue
                if t >= load_end:
                    break
                if t >= next_kill:
                    next_kill += KILL_EVERY
                    if dead is None:
                        dead = self.do_kill(rng)
                        restart_at = time.monotonic() + rng.uniform(*RESTART_AFTER)
                    continue
                if t >= next_reload:
                    next_reload += RELOAD_EVERY
                    self.do_reload(rng)
                    continue
                if t >= next_cli:
                    next_cli += CLI_EVERY
                    self.do_cli(rng)
                    continue
                wake = min(next_cli, next_reload, next_kill, load_end, restart_at if dead is not None else load_end)
                self.stop_all.wait(max(0.01, min(1.0, wake - time.monotonic())))
        except Exception as e:  # noqa: BLE001 — a harness bug must not pass silently
            self.stats.error("chaos-exception", {"exception": repr(e)}, self.t0)
        finally:
            if dead is not None and not self.stop_all.is_set():
                self.do_restart(dead)

    # ------------------------------------------------------------ sampling

    def sample(self, phase: str) -> dict:
        pid = self.daemon.pid
        out = {"t": round(time.monotonic() - self.t0, 1), "phase": phase, "alive": self.daemon.alive()}
        if not out["alive"]:
            return out
        fds = pipes = 0
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                fds += 1
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:"):
                        pipes += 1
                except OSError:
                    pass
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out["rss_kb"] = int(line.split()[1])
                    elif line.startswith("Threads:"):
                        out["threads"] = int(line.split()[1])
            out["cpu_s"] = round(self.daemon.cpu_seconds(), 2)
        except OSError:
            out["alive"] = self.daemon.alive()
            return out
        out["fds"], out["pipes"] = fds, pipes
        rc, text = self.ctl("--json", "stats")
        if rc == 0:
            try:
                data = json.loads(text)
                out["active"] = sum(lst["active"] for lst in data["listeners"])
                out["connections_total"] = sum(lst["connections_total"] for lst in data["listeners"])
                out["refused"] = sum(lst["connections_refused"] for lst in data["listeners"])
                out["connect_errors"] = sum(b["connect_errors"] for lst in data["listeners"] for b in lst["backends"])
            except (ValueError, KeyError) as e:
                self.stats.error("stats-bad", {"error": repr(e), "out": text[:500]}, self.t0)
        else:
            self.stats.error("stats-failed", {"rc": rc, "out": text[:500]}, self.t0)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            out["metrics_bytes"] = len(body)
            if resp.status != 200 or b"ringlb_build_info" not in body:
                self.stats.error("metrics-bad", {"status": resp.status, "bytes": len(body)}, self.t0)
        except (OSError, http.client.HTTPException) as e:
            self.stats.error("metrics-failed", {"error": repr(e)}, self.t0)
        return out

    def settled_sample(self, phase: str) -> dict:
        """Waits (bounded, 30 s) for no active connection, then the sample with the fewest
        fds of five 0.5 s apart (a health check may hold a socket at any moment)."""
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            s = self.sample(phase)
            if not s["alive"] or s.get("active") == 0:
                break
            time.sleep(0.5)
        time.sleep(2.0)
        best = None
        for _ in range(5):
            s = self.sample(phase)
            if not s["alive"]:
                return s
            if best is None or s["fds"] < best["fds"]:
                best = s
            time.sleep(0.5)
        return best

    # ------------------------------------------------------------ run

    def run(self) -> dict:
        report: dict = {"soak_seconds": self.seconds, "seed": self.seed, "workers": 2,
                        "listeners": {}, "backends": N_BACKENDS}
        start_sample = end_sample = None
        interrupted = False
        load_started = load_stopped = None
        try:
            self.setup()
            report["listeners"] = {n: {"port": s["port"], **s["keys"]} for n, s in self.listeners.items()}
            self.log("warm-up")
            self.warm_up()
            start_sample = self.settled_sample("start")
            self.log(f"start: fds {start_sample.get('fds')} (pipes {start_sample.get('pipes')}), "
                     f"rss {start_sample.get('rss_kb')} kB, threads {start_sample.get('threads')}")
            self.samples.append(start_sample)
            load_started = time.monotonic()
            load_end = load_started + self.seconds
            self.start_clients()
            self.chaos_thread = threading.Thread(target=self.chaos_loop, args=(load_end,), name="chaos", daemon=True)
            self.chaos_thread.start()
            next_sample = load_started + SAMPLE_EVERY
            while time.monotonic() < load_end:
                self.stop_all.wait(max(0.0, min(next_sample, load_end) - time.monotonic()))
                if time.monotonic() >= next_sample:
                    next_sample += SAMPLE_EVERY
                    s = self.sample("load")
                    self.samples.append(s)
                    c = self.stats.counts
                    self.log(f"sample: fds {s.get('fds')} pipes {s.get('pipes')} rss {s.get('rss_kb')} kB "
                             f"threads {s.get('threads')} active {s.get('active')} | conns {c['connections']} "
                             f"reqs {c['requests']} errors {sum(self.stats.errors.values())} "
                             f"cuts {sum(self.stats.cuts.values())}")
                    if not s["alive"]:
                        self.failures.append(f"ringlbd died: {self.daemon.describe_exit()}")
                        self.stop_all.set()
                        break
            self.log("load ends; waiting for clients and chaos to finish")
            self.stop_load.set()
            self.chaos_thread.join(timeout=60)
            for t in self.client_threads:
                t.join(timeout=max(1.0, 150 - (time.monotonic() - load_end)))
            load_stopped = time.monotonic()
            stuck = [t.name for t in self.client_threads if t.is_alive()]
            if stuck:
                self.stats.error("client-stuck", {"threads": stuck}, self.t0)
            if self.daemon.alive():
                self.check_model("at the end")
                end_sample = self.settled_sample("end")
                self.samples.append(end_sample)
                self.log(f"end: fds {end_sample.get('fds')} (pipes {end_sample.get('pipes')}), "
                         f"rss {end_sample.get('rss_kb')} kB, threads {end_sample.get('threads')}")
        except KeyboardInterrupt:
            interrupted = True
            self.failures.append("interrupted")
            self.log("interrupted; cleaning up")
        except Exception as e:  # noqa: BLE001 — reported, then cleaned up
            self.failures.append(f"soak harness failed: {e!r}")
            self.log(f"soak harness failed: {e!r}")
        finally:
            self.stop_load.set()
            self.stop_all.set()
            exit_status = self.cleanup()
        report.update(self.build_report(start_sample, end_sample, load_started, load_stopped, exit_status, interrupted))
        return report

    def cleanup(self) -> Optional[int]:
        exit_status = None
        if self.daemon is not None and self.daemon.proc is not None:
            was_alive = self.daemon.alive()
            exit_status = self.daemon.stop(grace=15.0)
            if not was_alive:
                exit_status = self.daemon.proc.returncode
        for backend in self.backends:
            backend.kill()
        if self.chaos_thread is not None:
            self.chaos_thread.join(timeout=10)
        return exit_status

    def build_report(self, start, end, load_started, load_stopped, exit_status, interrupted) -> dict:
        c = self.stats.counts
        errors = dict(self.stats.errors)
        live = [s for s in self.samples if s.get("alive") and "fds" in s]
        rep = {
            "interrupted": interrupted,
            "load_seconds": round((load_stopped or time.monotonic()) - load_started, 1) if load_started else 0,
            "load": {
                "connections": c["connections"],
                "ok": {op: c[f"ok_{op}"] for op in ("short", "keepalive", "bulk_echo", "bulk_gen")},
                "requests": c["requests"],
                "bytes_up": c["bytes_up"],
                "bytes_down": c["bytes_down"],
                "bulk_bytes": c["bulk_bytes"],
            },
            "chaos": dict(self.chaos),
            "errors": {"total": sum(errors.values()), "by_kind": errors, "samples": self.stats.error_samples},
            "expected_cuts": {"total": sum(self.stats.cuts.values()), "by_kind": dict(self.stats.cuts),
                              "samples": self.stats.cut_samples},
            "daemon": {"exit_status": exit_status, "log": str(self.daemon.log_path) if self.daemon else None},
            "samples": self.samples,
        }
        d = rep["daemon"]
        if start:
            d.update(fds_start=start.get("fds"), pipes_start=start.get("pipes"), rss_kb_start=start.get("rss_kb"),
                     threads_start=start.get("threads"))
        if end:
            d.update(fds_end=end.get("fds"), pipes_end=end.get("pipes"), rss_kb_end=end.get("rss_kb"),
                     threads_end=end.get("threads"), cpu_s=end.get("cpu_s"))
        if live:
            d.update(fds_max=max(s["fds"] for s in live), rss_kb_max=max(s.get("rss_kb", 0) for s in live),
                     pipes_max=max(s["pipes"] for s in live))
        # Accounting: every client connect the kernel completed is one accepted connection.
        if end and "connections_total" in end:
            d["connections_total"] = end["connections_total"]
            d["connections_refused"] = end.get("refused")
            d["connect_errors"] = end.get("connect_errors")
            client_connects = c["connections"]
            d["client_connects"] = client_connects
            if end["connections_total"] != client_connects:
                self.failures.append(f"ringlbd counted {end['connections_total']} connections, "
                                     f"clients made {client_connects}")
        if self.daemon:
            log = self.daemon.log()
            d["log_errors"] = [line for line in log.splitlines() if " error " in line or " critical " in line][:50]
            d["reload_refused"] = sum(1 for line in log.splitlines() if "reload refused" in line)
            for line in d["log_errors"]:
                self.failures.append(f"daemon log: {line}")
        reasons = collections.Counter()
        try:
            with open(self.workdir / "access.log", errors="replace") as f:
                for line in f:
                    for field in line.split():
                        if field.startswith("reason="):
                            reasons[field[7:]] += 1
        except OSError:
            pass
        d["access_log_reasons"] = dict(reasons)
        # Verdicts.
        if rep["errors"]["total"]:
            self.failures.append(f"{rep['errors']['total']} client/control errors: {errors}")
        if exit_status is None or (end is None and not interrupted):
            self.failures.append(f"ringlbd did not run to the end (exit {exit_status})")
        elif exit_status != 0:
            self.failures.append(f"ringlbd exited {exit_status} on SIGTERM")
        if start and end and "fds" in start and "fds" in end:
            nonpipe_start = start["fds"] - start["pipes"]
            nonpipe_end = end["fds"] - end["pipes"]
            pipe_limit = max(start["pipes"], 4 * CLIENT_THREADS)
            d["fds_returned"] = nonpipe_end <= nonpipe_start + FD_SLACK and end["pipes"] <= pipe_limit
            d["fd_rule"] = (f"non-pipe fds after the load <= start + {FD_SLACK}; pooled pipe fds <= "
                            f"max(start, {4 * CLIENT_THREADS}) (2 fds x 2 directions x client threads)")
            if not d["fds_returned"]:
                self.failures.append(f"fd leak: {start['fds']} fds ({start['pipes']} pipes) at start, "
                                     f"{end['fds']} ({end['pipes']} pipes) after the load")
            if end.get("threads") != start.get("threads"):
                self.failures.append(f"threads {start.get('threads')} at start, {end.get('threads')} at the end")
        rep["failures"] = self.failures
        rep["result"] = "fail" if self.failures else "pass"
        return rep


def apply_mutation(listeners: dict, mut: tuple) -> None:
    name, what, bid, value = mut
    members = listeners[name]["members"]
    if what == "add":
        members[bid] = {"weight": value, "state": "ready"}
    elif what == "remove":
        del members[bid]
    elif what == "weight":
        members[bid]["weight"] = value
    else:
        members[bid]["state"] = value


def print_report(rep: dict) -> None:
    d, load = rep["daemon"], rep["load"]
    print("\n==== ringlb soak report ====")
    print(f"load duration     {rep['load_seconds']} s (SOAK_SECONDS={rep['soak_seconds']}, seed {rep['seed']})")
    print(f"connections       {load['connections']} (ok: {load['ok']})")
    print(f"requests          {load['requests']}; bytes up {load['bytes_up']:,}, down {load['bytes_down']:,}")
    ch = rep["chaos"]
    print(f"reloads           {ch.get('reloads', 0)} (SIGHUP {ch.get('reloads_sighup', 0)}, "
          f"ringlbctl {ch.get('reloads_ctl', 0)})")
    cli = {k[4:]: v for k, v in ch.items() if k.startswith("cli_") and k != "cli_changes"}
    print(f"ringlbctl changes {ch.get('cli_changes', 0)} {cli}")
    print(f"backend kills     {ch.get('backend_kills', 0)} (restarts {ch.get('backend_restarts', 0)})")
    print(f"errors            {rep['errors']['total']} {rep['errors']['by_kind']}")
    print(f"expected cuts     {rep['expected_cuts']['total']} {rep['expected_cuts']['by_kind']}")
    print(f"fds               start {d.get('fds_start')} (pipes {d.get('pipes_start')}), end {d.get('fds_end')} "
          f"(pipes {d.get('pipes_end')}), max {d.get('fds_max')}; returned: {d.get('fds_returned')}")
    print(f"RSS kB            start {d.get('rss_kb_start')}, end {d.get('rss_kb_end')}, max {d.get('rss_kb_max')}")
    print(f"threads           start {d.get('threads_start')}, end {d.get('threads_end')}; cpu {d.get('cpu_s')} s")
    print(f"ringlbd counted   {d.get('connections_total')} connections (clients {d.get('client_connects')}), "
          f"refused {d.get('connections_refused')}, backend connect errors {d.get('connect_errors')}")
    print(f"access log        {d.get('access_log_reasons')}")
    print(f"ringlbd exit      {d.get('exit_status')}")
    print(f"result            {rep['result'].upper()}")
    for f in rep["failures"]:
        print(f"  - {f}")
    print(f"report            {OUT_DIR / 'report.json'}")


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "backend":
        return backend_main(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    seconds = float(os.environ.get("SOAK_SECONDS") or 600)
    seed = int(os.environ.get("SOAK_SEED") or random.SystemRandom().getrandbits(32))
    for binary in (harness.RINGLBD, RINGLBCTL):
        if not binary.exists():
            print(f"soak: {binary} is missing: run `make -j2` first", file=sys.stderr)
            return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    soak = Soak(seconds, seed)
    print(f"soak: {seconds:.0f} s, seed {seed}, output in {OUT_DIR}", flush=True)
    report = soak.run()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tmp = OUT_DIR / "report.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, OUT_DIR / "report.json")
    print_report(report)
    return 0 if report["result"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
