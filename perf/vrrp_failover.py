#!/usr/bin/env python3
"""VRRP failover time of a ringlbd pair and of a keepalived pair (vrrp_version 3) in the
same network-namespace topology: kill -9, kill -9 + `ringlbd --release`, and SIGTERM, at
the advert intervals asked for. Prints a Markdown table (median, min, max per cell).

Failover time = from the kill/stop of the master to the moment the backup has the VIP
configured, seen by polling `ip -4 -o addr show dev eth0` in the backup's namespace every
5 ms. Root only; everything stays in namespaces made here (10.99.61.0/24), deleted on exit.

Usage: perf/vrrp_failover.py [--runs 10] [--runs-1s 10] [--adverts 1s,100ms]
                             [--impls ringlbd,keepalived] [--scenarios kill9,kill9+release,sigterm]
                             [--baseline OTHER/ringlbd] [--out FILE.jsonl]
Implementations and scenarios are interleaved run by run (side by side under the same
load). --baseline adds an implementation "baseline": another ringlbd build (an
older tree), run without --state-file.
"""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/netns"))
from netns_lan import build_lan, delete_lan, kill_everything_in, run, wait_for  # noqa: E402 — needs the path
RINGLBD = ROOT / "build/ringlbd"
PY = "/usr/bin/python3"
VIP = "10.99.61.100"
ADDR = {"sw": "10.99.61.50", "lb1": "10.99.61.11", "lb2": "10.99.61.12",
        "be1": "10.99.61.21", "be2": "10.99.61.22"}
BALANCERS = ("lb1", "lb2")
BACKENDS = ("be1", "be2")
PRIO = {"lb1": 150, "lb2": 100}
VRID = 62
SCENARIOS = ("kill9", "kill9+release", "sigterm")

# Runs in the backup's namespace: polls `ip -o addr` every 5 ms; prints "ready" when it
# has checked that the VIP is absent, then "vip T" (CLOCK_MONOTONIC, shared with the
# caller) the first time it is present. Bounded by MAX_SECONDS.
POLLER = r'''
import subprocess, sys, time
vip, max_seconds = sys.argv[1], float(sys.argv[2])
def present():
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
                         capture_output=True, text=True).stdout
    return f" {vip}/" in out
if present():
    print("already", flush=True)
    sys.exit(1)
print("ready", flush=True)
deadline = time.monotonic() + max_seconds
while time.monotonic() < deadline:
    if present():
        print(f"vip {time.monotonic():.6f}", flush=True)
        sys.exit(0)
    time.sleep(0.005)
print("gave up", flush=True)
'''

BACKEND = r'''
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
s.settimeout(0.5)
deadline = time.monotonic() + 3600  # exits by itself after an hour
while time.monotonic() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.sendall(b"ok\n")
    c.close()
'''

KEEPALIVED_CONF = """global_defs {{
    vrrp_version 3
    script_user root
    enable_script_security
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int {advert}
    virtual_ipaddress {{
        {vip}/24
    }}
}}
"""


class Lab:
    def __init__(self, tmp):
        self.tmp = tmp
        tag = f"rlbf{os.getpid()}"
        self.ns = {h: f"{tag}-{h}" for h in ("sw", *BALANCERS, *BACKENDS)}
        self.procs = {}            # balancer -> Popen (its own session: pgid == pid)
        self.backends = []
        self.starts = 0
        self.baseline = None       # another ringlbd build, for --baseline

    def build(self):
        build_lan(self.ns, "sw", ADDR)
        Path(f"{self.tmp}/poller.py").write_text(POLLER)
        Path(f"{self.tmp}/backend.py").write_text(BACKEND)
        for h in BACKENDS:
            self.backends.append(subprocess.Popen(
                ["ip", "netns", "exec", self.ns[h], PY, f"{self.tmp}/backend.py", ADDR[h], "8080"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def destroy(self):
        for h in list(self.procs):
            self.kill(h, signal.SIGKILL)
        for p in self.backends:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=5)
        delete_lan(self.ns)  # and anything still inside: only this script starts processes there

    def kill_leftovers(self):
        """Whatever still runs in a balancer namespace (a keepalived child still exiting):
        only this script starts processes there."""
        for h in BALANCERS:
            for _ in range(100):
                if kill_everything_in(self.ns[h]) == 0:
                    break
                time.sleep(0.01)

    def has_vip(self, h):
        return f" {VIP}/" in run("ip", "-n", self.ns[h], "-4", "-o", "addr", "show", "dev", "eth0").stdout

    def clear_vips(self):
        for h in BALANCERS:
            run("ip", "-n", self.ns[h], "addr", "del", f"{VIP}/24", "dev", "eth0", check=False)

    def conf(self, impl, h, advert_ms):
        path = f"{self.tmp}/{impl}-{h}-{advert_ms}.conf"
        if impl in ("ringlbd", "baseline"):
            backends = "".join(f"backend = {ADDR[b]}:8080\n" for b in BACKENDS)
            text = (f"[global]\nworkers = 1\ncontrol_socket = {self.tmp}/{h}.sock\nlog_level = warn\n\n"
                    f"[listener.web]\nbind = {VIP}:80\n{backends}\n"
                    f"[vrrp.vip1]\ninterface = eth0\nvrid = {VRID}\npriority = {PRIO[h]}\n"
                    f"advert_interval = {advert_ms}ms\nvip = {VIP}/24\n")
        else:
            text = KEEPALIVED_CONF.format(vrid=VRID, priority=PRIO[h], advert=advert_ms / 1000, vip=VIP)
        Path(path).write_text(text)
        return path

    def ringlbd(self, impl, *args):
        """The command line of this tree's ringlbd (with its own state file per host) or
        of the baseline build."""
        if impl == "baseline":
            return [str(self.baseline), *args]
        return [str(RINGLBD), *args, "--state-file", f"{self.tmp}/{args[-1].rsplit('/', 1)[-1]}.vips"]

    def start(self, impl, h, advert_ms):
        conf = self.conf(impl, h, advert_ms)
        if impl in ("ringlbd", "baseline"):
            cmd = self.ringlbd(impl, "-c", conf)
        else:
            # Fresh pid files each start: a killed keepalived leaves its own behind.
            self.starts += 1
            pid = f"{self.tmp}/keepalived-{h}-{self.starts}"
            cmd = ["keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", f"{pid}.pid", "-r", f"{pid}.vrrp.pid"]
        log = open(f"{self.tmp}/{impl}-{h}.log", "a")
        # ip netns exec execs the daemon: pid == the daemon, pgid == pid (new session), so a
        # signal to the group reaches keepalived's VRRP child too.
        self.procs[h] = subprocess.Popen(["ip", "netns", "exec", self.ns[h], *cmd], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def kill(self, h, sig, group=True):
        p = self.procs.pop(h)
        if p.poll() is None:
            try:
                if group:
                    os.killpg(p.pid, sig)
                else:
                    p.send_signal(sig)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)

    def one_run(self, impl, scenario, advert_ms):
        """Starts a fresh pair (lb1 master, lb2 backup), stops lb1 the scenario's way and
        returns the seconds until the VIP is on lb2."""
        advert = advert_ms / 1000
        for h in list(self.procs):
            self.kill(h, signal.SIGKILL)
        self.kill_leftovers()
        self.clear_vips()
        self.start(impl, "lb1", advert_ms)
        try:
            wait_for("lb1 to own the VIP", lambda: self.has_vip("lb1"), 3 * advert + 3)
        except TimeoutError:
            print(Path(f"{self.tmp}/{impl}-lb1.log").read_text()[-3000:], file=sys.stderr)
            raise
        self.start(impl, "lb2", advert_ms)
        time.sleep(2 * advert + 0.3)   # lb2 up and hearing lb1's adverts
        if self.has_vip("lb2") or not self.has_vip("lb1"):
            raise RuntimeError("the pair did not settle with lb1 master and lb2 backup")
        poller = subprocess.Popen(["ip", "netns", "exec", self.ns["lb2"], PY, f"{self.tmp}/poller.py", VIP,
                                   str(4 * advert + 3)], stdout=subprocess.PIPE, text=True)
        first = poller.stdout.readline().strip()
        if first != "ready":
            raise RuntimeError(f"poller: {first!r}")
        time.sleep(random.uniform(0, advert))   # the kill lands anywhere between two adverts
        if scenario == "sigterm":
            stopped = time.monotonic()
            self.procs["lb1"].send_signal(signal.SIGTERM)
        else:
            stopped = time.monotonic()
            self.kill("lb1", signal.SIGKILL)
            if scenario == "kill9+release":
                run("ip", "netns", "exec", self.ns["lb1"],
                    *self.ringlbd(impl, "--release", "-c", self.conf(impl, "lb1", advert_ms)), check=False)
        out, _ = poller.communicate(timeout=4 * advert + 10)
        if "lb1" in self.procs:
            self.kill("lb1", signal.SIGTERM, group=False)
        for line in out.splitlines():
            if line.startswith("vip "):
                return float(line.split()[1]) - stopped
        raise RuntimeError(f"the backup never got the VIP: {out!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per cell at 100ms")
    ap.add_argument("--runs-1s", type=int, default=10, help="runs per cell at 1s")
    ap.add_argument("--adverts", default="1s,100ms")
    ap.add_argument("--impls", default="ringlbd,keepalived")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--baseline", default="", help="another ringlbd binary, run as impl 'baseline'")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("vrrp_failover: needs root for ip netns", file=sys.stderr)
        return 2
    impls = args.impls.split(",") + (["baseline"] if args.baseline else [])
    scenarios = [sc for sc in SCENARIOS if sc in args.scenarios.split(",")]
    if "keepalived" in impls and shutil.which("keepalived") is None:
        print("vrrp_failover: keepalived not installed (apt-get install -y keepalived)", file=sys.stderr)
        return 2
    adverts = [int(a[:-2]) if a.endswith("ms") else int(float(a[:-1]) * 1000) for a in args.adverts.split(",")]
    out_path = args.out or str(ROOT / f"build/perf/vrrp-failover-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.jsonl")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="ringlb-failover.") as tmp, open(out_path, "w") as raw:
        lab = Lab(tmp)
        lab.baseline = args.baseline or None
        try:
            lab.build()
            for advert_ms in adverts:
                runs = args.runs_1s if advert_ms >= 1000 else args.runs
                wanted = {impl: [sc for sc in scenarios if not (impl == "keepalived" and sc == "kill9+release")]
                          for impl in impls}   # keepalived has no --release
                times = {(impl, sc): [] for impl in impls for sc in wanted[impl]}
                for i in range(runs):
                    for impl in impls:               # side by side: one run of each in turn
                        for scenario in wanted[impl]:
                            took = lab.one_run(impl, scenario, advert_ms)
                            times[(impl, scenario)].append(took)
                            raw.write(json.dumps({"impl": impl, "scenario": scenario, "advert_ms": advert_ms,
                                                  "run": i, "seconds": round(took, 6)}) + "\n")
                            raw.flush()
                for (impl, scenario), t in times.items():
                    results[(impl, scenario, advert_ms)] = t
                    print(f"{impl:10} {scenario:14} {advert_ms:5} ms: median {statistics.median(t) * 1000:7.1f} ms"
                          f"  min {min(t) * 1000:7.1f}  max {max(t) * 1000:7.1f}  (n={len(t)})",
                          file=sys.stderr, flush=True)
        finally:
            lab.destroy()

    def cell(impl, scenario, advert_ms):
        times = results.get((impl, scenario, advert_ms))
        if times is None:
            return "n/a" if impl == "keepalived" and scenario == "kill9+release" else "—"
        return (f"**{statistics.median(times) * 1000:.0f}** "
                f"({min(times) * 1000:.0f}–{max(times) * 1000:.0f}, n={len(times)})")

    print(f"raw results: {out_path}\n")
    shown = ("ringlbd", "keepalived") + (("baseline",) if args.baseline else ())
    print("| advert_interval | stop | RFC 5798 expectation (backup priority 100) | "
          + " | ".join(f"{impl} pair, ms" for impl in shown) + " |")
    print("|---|---|---|" + "---:|" * len(shown))
    names = {"kill9": "`kill -9`", "kill9+release": "`kill -9` + `ringlbd --release`", "sigterm": "SIGTERM"}
    for advert_ms in adverts:
        skew_ms = (256 - PRIO["lb2"]) * advert_ms / 256
        expect = {"kill9": f"Master_Down_Interval − phase: {3 * advert_ms + skew_ms - advert_ms:.0f}–{3 * advert_ms + skew_ms:.0f}",
                  "kill9+release": f"release run time + skew ({skew_ms:.0f})",
                  "sigterm": f"shutdown time + skew ({skew_ms:.0f})"}
        label = f"{advert_ms} ms" if advert_ms < 1000 else f"{advert_ms / 1000:g} s"
        for scenario in scenarios:
            print(f"| {label} | {names[scenario]} | {expect[scenario]} | "
                  + " | ".join(cell(impl, scenario, advert_ms) for impl in shown) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
