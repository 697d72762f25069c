#!/usr/bin/python3
"""Health-check cost: runs the real build/ringlbd with one listener of N backends
(N real listening sockets on 127.0.0.1, served by a child process that accepts,
answers HTTP when asked, and closes), every backend checked every check_interval,
and reads the CPU time of ringlbd's health-check thread ("ringlb-health") from
/proc/PID/task/TID/{stat,schedstat} over a measured window.

    perf/health_bench.py [--backends 1000] [--interval 1s] [--seconds 30] [--check tcp|http|both] [--haproxy]

--haproxy runs the same checks with HAProxy (one thread) right after, for reference.

Prints one result line per check kind; exit status 1 when a check failed or the
checks did not keep their rate (the figure would then mean nothing).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RINGLBD = REPO / "build" / "ringlbd"
HZ = os.sysconf("SC_CLK_TCK")
HAPROXY = "/usr/sbin/haproxy"

BACKENDS_CHILD = r"""
import selectors, socket, sys, time
count, lifetime = int(sys.argv[1]), float(sys.argv[2])
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
sel = selectors.DefaultSelector()
listeners = []
for _ in range(count):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "listen")
    listeners.append(s)
print(" ".join(str(s.getsockname()[1]) for s in listeners), flush=True)
sel.register(sys.stdin, selectors.EVENT_READ, "stdin")  # EOF: the bench is over
accepted = 0
deadline = time.monotonic() + lifetime
running = True
while running and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=0.2):
        if key.data == "stdin":
            running = False
        elif key.data == "listen":
            for _ in range(16):
                try:
                    conn, _ = key.fileobj.accept()
                except (BlockingIOError, ConnectionAbortedError):
                    break
                except OSError:
                    break
                accepted += 1
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, "conn")
        else:
            conn = key.fileobj
            try:
                data = conn.recv(4096)
                if data:
                    conn.send(RESPONSE)
            except OSError:
                pass
            sel.unregister(conn)
            conn.close()
print(f"accepted {accepted}", flush=True)
"""


def thread_cpu(pid: int, tid: int) -> tuple[float, float]:
    """(utime+stime in s from stat, on-CPU time in s from schedstat) of one thread."""
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])
    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
        ns = int(f.read().split()[0])
    return ticks / HZ, ns / 1e9


def process_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def active_opens() -> int:
    """TCP connects started in this network namespace so far (/proc/net/snmp ActiveOpens)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("ActiveOpens")])


def find_thread(pid: int, name: str, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                if Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() == name:
                    return int(tid)
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"ringlbd has no thread named {name}")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_one(kind: str, backends: int, interval: str, interval_s: float, seconds: float, workdir: Path) -> dict:
    lifetime = seconds + 30
    child = subprocess.Popen([sys.executable, "-c", BACKENDS_CHILD, str(backends), str(lifetime)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    daemon = None
    try:
        ports = child.stdout.readline().split()
        if len(ports) != backends:
            raise RuntimeError(f"backend process opened {len(ports)} of {backends} sockets")
        check = "tcp" if kind == "tcp" else "http GET /health expect 200"
        lines = ["[global]", "workers = 1", f"control_socket = {workdir}/bench.sock", "log_level = info", "",
                 "[listener.bench]", f"bind = 127.0.0.1:{free_port()}", f"check = {check}",
                 f"check_interval = {interval}", "check_timeout = 1s", "rise = 2", "fall = 3"]
        lines += [f"backend = 127.0.0.1:{p}" for p in ports]
        conf = workdir / f"bench-{kind}.conf"
        conf.write_text("\n".join(lines) + "\n")
        log_path = workdir / f"bench-{kind}.log"
        log = open(log_path, "wb")
        started = time.monotonic()
        daemon = subprocess.Popen([str(RINGLBD), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        tid = find_thread(daemon.pid, "ringlb-health")
        time.sleep(max(3.0, 2 * interval_s))  # every backend checked at least once, spread settled
        opens0 = active_opens()
        t0, (stat0, sched0), proc0 = time.monotonic(), thread_cpu(daemon.pid, tid), process_cpu(daemon.pid)
        time.sleep(seconds)
        t1, (stat1, sched1), proc1 = time.monotonic(), thread_cpu(daemon.pid, tid), process_cpu(daemon.pid)
        opens1 = active_opens()
        wall = t1 - t0
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        ran = time.monotonic() - started
        log.close()
        text = log_path.read_text(errors="replace")
        downs = len(re.findall(r" DOWN \(", text))
        child.stdin.close()
        accepted = int(child.stdout.readline().split()[1])
        return {
            "kind": kind, "backends": backends, "interval": interval, "seconds": wall,
            "cpu_pct_stat": 100 * (stat1 - stat0) / wall, "cpu_pct_sched": 100 * (sched1 - sched0) / wall,
            "process_pct": 100 * (proc1 - proc0) / wall, "downs": downs,
            "checks_per_s": backends / interval_s,
            "accepted_per_s": accepted / ran,
            "opens_per_s": (opens1 - opens0) / wall,
            "us_per_check": 1e6 * (sched1 - sched0) / (wall * backends / interval_s),
        }
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        if child.poll() is None:
            child.kill()
        child.wait()


def run_haproxy(kind: str, backends: int, interval: str, interval_s: float, seconds: float, workdir: Path) -> dict:
    """The same checks by HAProxy (one thread), for reference: its whole process CPU."""
    child = subprocess.Popen([sys.executable, "-c", BACKENDS_CHILD, str(backends), str(seconds + 30)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proxy = None
    try:
        ports = child.stdout.readline().split()
        lines = ["global", "    nbthread 1", "defaults", "    mode tcp",
                 "    timeout connect 1s", "    timeout client 10s", "    timeout server 10s", "    timeout check 1s",
                 "backend b", "    balance leastconn"]
        if kind == "http":
            lines.append("    option httpchk GET /health")
        lines.append(f"    default-server check inter {interval} rise 2 fall 3")
        lines += [f"    server s{i} 127.0.0.1:{p}" for i, p in enumerate(ports)]
        lines += ["frontend f", f"    bind 127.0.0.1:{free_port()}", "    default_backend b"]
        conf = workdir / f"haproxy-{kind}.cfg"
        conf.write_text("\n".join(lines) + "\n")
        log = open(workdir / f"haproxy-{kind}.log", "wb")
        started = time.monotonic()
        proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        time.sleep(max(3.0, 2 * interval_s))
        opens0, t0, cpu0 = active_opens(), time.monotonic(), process_cpu(proxy.pid)
        time.sleep(seconds)
        t1, cpu1, opens1 = time.monotonic(), process_cpu(proxy.pid), active_opens()
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=30)
        ran = time.monotonic() - started
        child.stdin.close()
        accepted = int(child.stdout.readline().split()[1])
        return {"cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0), "accepted_per_s": accepted / ran,
                "opens_per_s": (opens1 - opens0) / (t1 - t0)}
    finally:
        if proxy and proxy.poll() is None:
            proxy.kill()
            proxy.wait()
        if child.poll() is None:
            child.kill()
        child.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", type=int, default=1000)
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--check", choices=["tcp", "http", "both"], default="both")
    ap.add_argument("--haproxy", action="store_true", help="also run the same checks with HAProxy, for reference")
    args = ap.parse_args()
    if not RINGLBD.exists():
        print(f"{RINGLBD} missing: run make -j2 build/ringlbd", file=sys.stderr)
        return 1
    m = re.fullmatch(r"(\d+)(ms|s)", args.interval)
    if not m:
        print("--interval takes NNNms or NNs", file=sys.stderr)
        return 1
    interval_s = int(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.backends + 1024)), hard))
    failed = False
    with tempfile.TemporaryDirectory(prefix="rlb-hb-") as tmp:
        for kind in (["tcp", "http"] if args.check == "both" else [args.check]):
            r = run_one(kind, args.backends, args.interval, interval_s, args.seconds, Path(tmp))
            print(f"health checks {r['kind']}: {r['backends']} backends every {r['interval']} "
                  f"({r['checks_per_s']:.0f} checks/s; TCP connects opened {r['opens_per_s']:.0f}/s, "
                  f"backends accepted {r['accepted_per_s']:.0f}/s), "
                  f"{r['seconds']:.1f} s measured: "
                  f"health thread {r['cpu_pct_sched']:.2f}% of one core (schedstat; "
                  f"{r['cpu_pct_stat']:.1f}% from stat ticks), {r['us_per_check']:.1f} us CPU per check; "
                  f"whole ringlbd {r['process_pct']:.1f}%; DOWN transitions: {r['downs']}", flush=True)
            # A DOWN, or far fewer connects than checks, would make the figure meaningless.
            # (A tcp check never completes the handshake, so backends accept nothing;
            # ActiveOpens counts the whole namespace, so it can only be too high.)
            if r["downs"] or r["opens_per_s"] < 0.85 * r["checks_per_s"]:
                failed = True
            if args.haproxy and os.path.exists(HAPROXY):
                h = run_haproxy(kind, args.backends, args.interval, interval_s, args.seconds, Path(tmp))
                print(f"  HAProxy {kind} checks, same backends (TCP connects opened {h['opens_per_s']:.0f}/s, "
                      f"backends accepted {h['accepted_per_s']:.0f}/s): "
                      f"{h['cpu_pct']:.2f}% of one core (whole process, one thread)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
