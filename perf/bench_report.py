#!/usr/bin/env python3
"""perf/bench_report.py — turns perf/bench.sh results (JSON lines) into the tables:
medians over rounds, proxy CPU per operation, ratios to HAProxy and to direct.
  bench_report.py RESULTS.jsonl        markdown tables on stdout
  bench_report.py --line JSON          one progress line for one measurement
"""
import json
import statistics
import sys

REFERENCE = "haproxy"
DIRECT = "direct"
WORKLOADS = ["short", "keepalive", "bulk-up", "bulk-down", "idle"]


def derived(rec):
    """The figures of one measurement, or None when it produced none."""
    lg = rec.get("loadgen") or {}
    if rec.get("status") not in ("ok", "errors") or not lg:
        return None
    w = rec["workload"]
    cpu = rec.get("cpu_s", 0.0) if rec.get("proxy") else None
    d = {"errors": lg.get("errors", 0)}  # includes idle hold and verify failures
    # Busy CPU of the whole machine that was neither proxy, backend nor loadgen, as a
    # percentage of one CPU: how much other work disturbed this measurement.
    wall = rec.get("wall_s") or lg.get("elapsed_s", 0)  # the window busy_cpu_s covers
    if "busy_cpu_s" in rec and "cpu_s" in lg and wall > 0:
        ours = rec.get("cpu_s", 0.0) + rec.get("backend_cpu_s", 0.0) + lg["cpu_s"]
        d["other_pct"] = max(0.0, rec["busy_cpu_s"] - ours) * 100 / wall
    if w in ("short", "keepalive"):
        d["rate"] = lg["rate"]
        d["p50"] = lg["p50_us"]
        d["p99"] = lg["p99_us"]
        if cpu is not None and lg["ops"] > 0:
            d["cpu_per_op"] = cpu * 1e6 / lg["ops"]          # µs per connection / request
    elif w.startswith("bulk"):
        d["rate"] = lg["gbit_s"]
        if cpu is not None and lg["bytes"] > 0:
            d["cpu_per_op"] = cpu * 1e3 / (lg["bytes"] / 1e9)  # ms per GB (10^9 bytes)
    elif w == "idle":
        n = lg.get("established", 0)
        if n > 0 and rec.get("memavail_kb_ready", 0) > 0:
            d["sys_kb"] = (rec["memavail_kb_before"] - rec["memavail_kb_ready"]) / n
            if rec.get("slab_kb_ready", 0) > 0:
                d["slab_kb"] = (rec["slab_kb_ready"] - rec["slab_kb_before"]) / n
            if rec.get("proxy"):
                d["rss_kb"] = (rec["rss_kb_ready"] - rec["rss_kb_before"]) / n
        d["established"] = n
    return d


def fmt(v, digits=None):
    if v is None:
        return "—"
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 100 else 1 if a >= 10 else 2
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}"


def progress_line(rec):
    t, w, st = rec["target"], rec["workload"], rec.get("status")
    d = derived(rec)
    if d is None:
        return f"  {t:<15} {w:<10} {st}: {rec.get('reason', '')}"
    if w in ("short", "keepalive"):
        unit = "conn/s" if w == "short" else "req/s"
        s = f"{fmt(d['rate'])} {unit}, p99 {fmt(d['p99'])} µs"
        if "cpu_per_op" in d:
            s += f", proxy CPU {fmt(d['cpu_per_op'])} µs/{'conn' if w == 'short' else 'req'}"
    elif w.startswith("bulk"):
        s = f"{fmt(d['rate'])} Gbit/s"
        if "cpu_per_op" in d:
            s += f", proxy CPU {fmt(d['cpu_per_op'])} ms/GB"
    else:
        s = f"{d['established']} conns"
        if "rss_kb" in d:
            s += f", RSS {fmt(d['rss_kb'])} KB/conn"
        if "sys_kb" in d:
            s += f", MemAvailable drop {fmt(d['sys_kb'])} KB/conn"
        if "slab_kb" in d:
            s += f", Slab growth {fmt(d['slab_kb'])} KB/conn"
    if "other_pct" in d:
        s += f", other load {d['other_pct']:.0f}%"
    return f"  {t:<15} {w:<10} {s}, errors {d['errors']}" + ("" if st == "ok" else f" [{st}]")


class Table:
    def __init__(self, records):
        self.meta = next((r for r in records if r.get("meta")), {})
        self.meta_end = next((r for r in records if r.get("meta_end")), {})
        self.runs = [r for r in records if "workload" in r]
        self.targets = []
        for r in self.runs:
            if r["target"] not in self.targets:
                self.targets.append(r["target"])

    def values(self, target, workload, key):
        out = []
        for r in self.runs:
            if r["target"] == target and r["workload"] == workload:
                d = derived(r)
                if d is not None and d.get(key) is not None:
                    out.append(d[key])
        return out

    def median(self, target, workload, key):
        v = self.values(target, workload, key)
        return statistics.median(v) if v else None

    def spread(self, target, workload, key):
        v = self.values(target, workload, key)
        if len(v) < 2:
            return ""
        return f" ({fmt(min(v))}–{fmt(max(v))})"

    def status(self, target, workload):
        st = [r.get("status") for r in self.runs
              if r["target"] == target and r["workload"] == workload]
        bad = [s for s in st if s not in ("ok", "errors")]
        if not st:
            return "not run"
        if len(bad) == len(st):
            reason = next((r.get("reason", "") for r in self.runs
                           if r["target"] == target and r["workload"] == workload
                           and r.get("reason")), "")
            return f"{bad[0]}: {reason}"[:70]
        return ""

    def errors(self, target, workload):
        return int(sum(self.values(target, workload, "errors")))

    def nruns(self, target, workload):
        return len(self.values(target, workload, "errors"))

    def other_load(self, target, workload):
        v = self.values(target, workload, "other_pct")
        return f"{max(v):.0f}%" if v else "—"

    def workloads(self):
        return [w for w in WORKLOADS if any(r["workload"] == w for r in self.runs)]


def render(records):
    t = Table(records)
    m = t.meta
    out = []
    out.append(f"ringlb benchmark — {m.get('date', '?')}")
    out.append("")
    out.append(f"- effective settings: `{m.get('command', '?')}`")
    out.append(f"- kernel {m.get('kernel', '?')}, CPU {m.get('cpu', '?')} × {m.get('cpus', '?')}; "
               f"proxy pinned to CPU {m.get('proxy_cpu')}, loadgen + backends to CPU "
               f"{m.get('load_cpu')}; loadavg {m.get('loadavg_start', '?')} at start, "
               f"{t.meta_end.get('loadavg_end', '?')} at end")
    out.append(f"- {m.get('haproxy', '?')}; {m.get('nginx', '?')}; ringlbd {m.get('ringlbd', '?')}")
    out.append(f"- {m.get('rounds')} rounds, {m.get('duration_s')} s per measurement, medians "
               "over rounds (range in brackets); proxy CPU = utime + stime of the proxy "
               "process(es) over the measurement")
    out.append("")

    ws = t.workloads()
    # Headline: proxy CPU per operation.
    heads = {"short": "µs / new conn", "keepalive": "µs / request",
             "bulk-up": "ms / GB client→backend", "bulk-down": "ms / GB backend→client"}
    cols = [w for w in ws if w in heads]
    if cols:
        out.append("### Proxy CPU per operation (lower is better; × = ratio to HAProxy)")
        out.append("")
        out.append("| target | " + " | ".join(f"{heads[w]} | ×" for w in cols) + " |")
        out.append("|---|" + "---:|---:|" * len(cols))
        for tg in t.targets:
            if tg == DIRECT:
                continue
            cells = []
            for w in cols:
                v = t.median(tg, w, "cpu_per_op")
                st = t.status(tg, w)
                cells.append(st[:40] if v is None and st else fmt(v))
                cells.append(ratio(v, t.median(REFERENCE, w, "cpu_per_op")))
            out.append(f"| {tg} | " + " | ".join(cells) + " |")
        out.append("")

    titles = {
        "short": ("Short connections", m.get("short", ""), "conn/s", "µs/conn"),
        "keepalive": ("Keep-alive requests", m.get("keepalive", ""), "req/s", "µs/req"),
        "bulk-up": ("Bulk client→backend (headline direction)", m.get("bulk", ""), "Gbit/s",
                    "ms/GB"),
        "bulk-down": ("Bulk backend→client", m.get("bulk", ""), "Gbit/s", "ms/GB"),
    }
    for w in ws:
        if w == "idle":
            continue
        title, what, unit, cunit = titles[w]
        out.append(f"### {title} — {what}")
        out.append("")
        lat = w in ("short", "keepalive")
        out.append(f"| target | {unit} | ×HAProxy | ×direct | proxy CPU {cunit} | ×HAProxy |"
                   + (" p50 µs | p99 µs |" if lat else "") + " errors | runs | other load |")
        out.append("|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if lat else "")
                   + "---:|---:|---:|")
        for tg in t.targets:
            st = t.status(tg, w)
            if st:
                out.append(f"| {tg} | {st} |")
                continue
            rate = t.median(tg, w, "rate")
            cpu = t.median(tg, w, "cpu_per_op")
            row = [tg, fmt(rate) + t.spread(tg, w, "rate"),
                   ratio(rate, t.median(REFERENCE, w, "rate")),
                   ratio(rate, t.median(DIRECT, w, "rate")),
                   fmt(cpu) + (t.spread(tg, w, "cpu_per_op") if cpu is not None else ""),
                   ratio(cpu, t.median(REFERENCE, w, "cpu_per_op"))]
            if lat:
                row += [fmt(t.median(tg, w, "p50")), fmt(t.median(tg, w, "p99"))]
            row += [str(t.errors(tg, w)), str(t.nruns(tg, w)), t.other_load(tg, w)]
            out.append("| " + " | ".join(row) + " |")
        out.append("")

    if "idle" in ws:
        out.append(f"### Memory per idle connection — {m.get('idle_conns')} connections held "
                   f"{m.get('hold_s')} s")
        out.append("")
        out.append("RSS = growth of the proxy's VmRSS / connections. System = drop of "
                   "MemAvailable / connections (client, proxy and backend sockets, proxy "
                   "memory); minus direct = what the proxy adds. Slab = growth of the kernel's "
                   "slab memory (sockets, files, epoll items) / connections. Both are "
                   "machine-wide, so anything else running shifts them; Slab much less than "
                   "MemAvailable (page cache). RSS + Slab − direct is the proxy's own "
                   "memory plus its two sockets, the steadiest total.")
        out.append("")
        out.append("| target | RSS KB/conn | ×HAProxy | system KB/conn | system − direct "
                   "KB/conn | ×HAProxy | Slab KB/conn | Slab − direct | RSS + Slab − direct "
                   "| ×HAProxy | errors | runs | other load |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        direct_sys = t.median(DIRECT, "idle", "sys_kb")
        ref_sys = t.median(REFERENCE, "idle", "sys_kb")
        ref_extra = None if ref_sys is None or direct_sys is None else ref_sys - direct_sys
        direct_slab = t.median(DIRECT, "idle", "slab_kb")

        def proxy_total(tg):
            rss = t.median(tg, "idle", "rss_kb")
            slab = t.median(tg, "idle", "slab_kb")
            if tg == DIRECT or None in (rss, slab, direct_slab):
                return None
            return rss + slab - direct_slab
        for tg in t.targets:
            st = t.status(tg, "idle")
            if st:
                out.append(f"| {tg} | {st} |")
                continue
            rss = t.median(tg, "idle", "rss_kb")
            sysv = t.median(tg, "idle", "sys_kb")
            slab = t.median(tg, "idle", "slab_kb")
            extra = None
            if tg != DIRECT and sysv is not None and direct_sys is not None:
                extra = sysv - direct_sys
            out.append("| " + " | ".join([
                tg, fmt(rss, 2) + (t.spread(tg, "idle", "rss_kb") if rss is not None else ""),
                ratio(rss, t.median(REFERENCE, "idle", "rss_kb")),
                fmt(sysv, 2) + (t.spread(tg, "idle", "sys_kb") if sysv is not None else ""),
                fmt(extra, 2), ratio(extra, ref_extra),
                fmt(slab, 2) + (t.spread(tg, "idle", "slab_kb") if slab is not None else ""),
                fmt(None if tg == DIRECT or slab is None or direct_slab is None
                    else slab - direct_slab, 2),
                fmt(proxy_total(tg), 2), ratio(proxy_total(tg), proxy_total(REFERENCE)),
                str(t.errors(tg, "idle")), str(t.nruns(tg, "idle")),
                t.other_load(tg, "idle")]) + " |")
        out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) == 3 and argv[1] == "--line":
        print(progress_line(json.loads(argv[2])), flush=True)
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    print(render(records))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
