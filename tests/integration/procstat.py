"""What a running process holds, read from /proc, for the fault tests: resident memory,
descriptors by kind, and the send and receive queues of TCP sockets on 127.0.0.1
(they show where bytes wait when a peer stops reading). Linux only; no root needed for
a process of the same user.
"""
from __future__ import annotations

import collections
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

MIB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    """VmRSS of process pid, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def fd_kinds(pid: int) -> collections.Counter:
    """Descriptors of pid by kind: 'socket', 'pipe', 'anon_inode:[io_uring]', 'file', ..."""
    kinds: collections.Counter = collections.Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed while we looked
        if target.startswith("socket:"):
            kinds["socket"] += 1
        elif target.startswith("pipe:"):
            kinds["pipe"] += 1
        elif target.startswith("anon_inode:"):
            kinds[target] += 1
        else:
            kinds["file"] += 1
    return kinds


def settled_fd_kinds(pid: int, samples: int = 10, interval: float = 0.05) -> collections.Counter:
    """The smallest count of each kind over a few samples: a descriptor that exists only
    for a moment (a connect in flight) is not counted."""
    low: Optional[collections.Counter] = None
    for i in range(samples):
        now = fd_kinds(pid)
        low = now if low is None else collections.Counter({k: min(low[k], now[k]) for k in set(low) | set(now)})
        if i + 1 < samples:
            time.sleep(interval)
    return +low


def wait_fds_at_most(pid: int, ceiling: collections.Counter, kinds: tuple[str, ...], timeout: float = 10.0
                     ) -> collections.Counter:
    """Waits (bounded) until, for each of `kinds`, pid holds no more descriptors than
    ceiling says; returns the last counts (the caller asserts on them)."""
    deadline = time.monotonic() + timeout
    while True:
        now = fd_kinds(pid)
        if all(now[k] <= ceiling[k] for k in kinds) or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


class RssWatcher:
    """Samples rss_bytes(pid) every 20 ms on a thread while in a with-block: base is the
    value on entry, peak the largest seen (entry and exit included)."""

    def __init__(self, pid: int, limit_s: float = 120.0):
        self.pid = pid
        self.limit_s = limit_s
        self.base = rss_bytes(pid)
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            self._stop.wait(0.02)

    @property
    def growth(self) -> int:
        return self.peak - self.base

    def __enter__(self) -> "RssWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        try:
            self.peak = max(self.peak, rss_bytes(self.pid))
        except (FileNotFoundError, ProcessLookupError):
            pass


@dataclass(frozen=True)
class TcpSocket:
    local_port: int
    remote_port: int
    state: str          # hex, as in /proc/net/tcp: "01" established, "0A" listen
    tx_queue: int       # write_seq - snd_una: written, not yet acknowledged by the peer
    rx_queue: int       # rcv_nxt - copied_seq: received, not yet read by the owner


def tcp_sockets(where: Callable[[TcpSocket], bool] = lambda s: True, pid: str = "self") -> list[TcpSocket]:
    """IPv4 TCP sockets in the network namespace of pid (default: ours) that match where.

    The kernel writes /proc/net/tcp a page at a time while the table changes, so a
    socket may be listed twice; each (local, remote) pair is kept once."""
    out = []
    seen = set()
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if (fields[1], fields[2]) in seen:
                continue
            seen.add((fields[1], fields[2]))
            tx, rx = (int(x, 16) for x in fields[4].split(":"))
            s = TcpSocket(int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16),
                          fields[3], tx, rx)
            if where(s):
                out.append(s)
    return out
