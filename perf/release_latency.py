#!/usr/bin/env python3
"""How long `ringlbd --release` takes to put its priority-0 advert on the wire: from the
start of `ip netns exec NS ringlbd --release` to the advert's arrival at a raw socket
on the other end of the veth, and the whole run, for this tree's ringlbd (advert from
the state file, before the config) and, with --baseline, another build (an older tree:
config, netlink and sockets first), interleaved run by run under the same load.

With --rtnl-busy, a loop in the second namespace runs `ip -o addr show` every 5 ms
meanwhile, as perf/vrrp_failover.py's poller does (rtnetlink dumps share one lock across
namespaces: a release that asks netlink before it sends waits for it).

Root only; two namespaces made here (10.77.0.0/24 on one veth pair), deleted on exit.
Usage: perf/release_latency.py [--runs 20] [--baseline OTHER/ringlbd] [--rtnl-busy]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RINGLBD = ROOT / "build/ringlbd"
PY = "/usr/bin/python3"

# Joins 224.0.0.18 on eth1, prints "ready", then the CLOCK_MONOTONIC time of the first
# VRRP packet (bounded: 3 s).
LISTENER = r'''
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth1")
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.18") + socket.inet_aton("10.77.0.2"))
s.settimeout(3)
print("ready", flush=True)
s.recv(100)
print(time.monotonic(), flush=True)
'''
CONFIG = ("[global]\ncontrol_socket = {tmp}/x.sock\n\n[listener.web]\nbind = 10.77.0.100:80\n"
          "backend = 10.77.0.5:80\n\n[vrrp.vip1]\ninterface = eth0\nvrid = 61\npriority = 150\n"
          "advert_interval = 100ms\nvip = 10.77.0.100/24\n")
STATE = ("instance vip1 dev=eth0 vrid=61 source=10.77.0.1 interval_cs=10 peers=- announce=10.77.0.100 "
         "held=10.77.0.100/24\n")


def sh(*args, check=True):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check, timeout=10)


def one(ns, tmp, binary, with_state):
    sh("ip", "-n", ns[0], "addr", "add", "10.77.0.100/24", "dev", "eth0")
    cmd = ["ip", "netns", "exec", ns[0], str(binary), "--release", "-c", f"{tmp}/r.conf"]
    if with_state:
        Path(f"{tmp}/s.vips").write_text(STATE)
        cmd += ["--state-file", f"{tmp}/s.vips"]
    listener = subprocess.Popen(["ip", "netns", "exec", ns[1], PY, f"{tmp}/listener.py"], stdout=subprocess.PIPE,
                                text=True)
    assert listener.stdout.readline().strip() == "ready"
    start = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    whole = time.monotonic() - start
    heard = listener.communicate(timeout=5)[0].strip()
    if "1 VRRP instance(s) released" not in result.stdout or not heard:
        raise RuntimeError(f"release failed: {result.stdout!r} {result.stderr!r} heard={heard!r}")
    return (float(heard) - start) * 1000, whole * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--baseline", default="")
    ap.add_argument("--rtnl-busy", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("release_latency: needs root for ip netns", file=sys.stderr)
        return 2
    ns = (f"rlrl{os.getpid()}-a", f"rlrl{os.getpid()}-b")
    impls = [("ringlbd", RINGLBD, True)] + ([("baseline", Path(args.baseline), False)] if args.baseline else [])
    samples = {name: [] for name, _, _ in impls}
    with tempfile.TemporaryDirectory(prefix="ringlb-release.") as tmp:
        Path(f"{tmp}/r.conf").write_text(CONFIG.format(tmp=tmp))
        Path(f"{tmp}/listener.py").write_text(LISTENER)
        try:
            for n in ns:
                sh("ip", "netns", "add", n)
            sh("ip", "-n", ns[0], "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", ns[1])
            sh("ip", "-n", ns[0], "link", "set", "eth0", "up")
            sh("ip", "-n", ns[1], "link", "set", "eth1", "up")
            sh("ip", "-n", ns[0], "addr", "add", "10.77.0.1/24", "dev", "eth0")
            sh("ip", "-n", ns[1], "addr", "add", "10.77.0.2/24", "dev", "eth1")
            busy = None
            if args.rtnl_busy:   # bounded: killed below, and exits by itself after 10 minutes
                busy = subprocess.Popen(["ip", "netns", "exec", ns[1], "sh", "-c",
                                         "end=$(($(date +%s)+600)); while [ $(date +%s) -lt $end ]; do "
                                         "ip -4 -o addr show dev eth1 >/dev/null; sleep 0.005; done"])
            try:
                for _ in range(args.runs):
                    for name, binary, with_state in impls:
                        samples[name].append(one(ns, tmp, binary, with_state))
            finally:
                if busy:
                    busy.kill()
                    busy.wait(timeout=5)
        finally:
            for n in ns:
                sh("ip", "netns", "del", n, check=False)
    for name, values in samples.items():
        advert = [a for a, _ in values]
        whole = [w for _, w in values]
        print(f"{name:9} start -> advert heard: median {statistics.median(advert):6.1f} ms "
              f"({min(advert):.1f}–{max(advert):.1f}); whole run median {statistics.median(whole):6.1f} ms "
              f"(n={len(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
