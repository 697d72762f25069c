#!/usr/bin/env python3
"""perf/bench_report.py — turns perf/bench.sh results (JSON lines) into the tables:
medians over rounds, proxy CPU per operation, ratios to HAProxy and to direct, memory per
idle connection, the fd-ceiling run with its 1,000,000-connection projection, callgrind.
  bench_report.py RESULTS.jsonl        markdown tables on stdout
  bench_report.py --line JSON          one progress line for one measurement
Also reads the results of older runs (workloads bulk-up, bulk-down, idle).
"""
import json
import re
import statistics
import sys

REFERENCE = "haproxy"
DIRECT = "direct"
PROJECT_CONNS = 1_000_000
BUDGET_GIB = 16


def kind(w):
    """latency (short / keep-alive), scale, bulk, idle, ceiling."""
    if w in ("short", "keepalive"):
        return "latency"
    if w.startswith("scale-"):
        return "scale"
    if w.startswith("bulk"):
        return "bulk"
    if w == "idle" or w.startswith("idle-"):
        return "idle"
    if w == "ceiling":
        return "ceiling"
    return "?"


def order_key(w):
    """Report order: short, keepalive, scale, bulk up/down by streams, idle by size, ceiling."""
    k = kind(w)
    rank = {"latency": 0, "scale": 1, "bulk": 2, "idle": 3, "ceiling": 4}.get(k, 5)
    base = w.rsplit("-", 1)[0] if re.search(r"-\d+$", w) else w
    num = int(w.rsplit("-", 1)[1]) if re.search(r"-\d+$", w) else 0
    sub = {"short": 0, "keepalive": 1, "scale-short": 0, "scale-keepalive": 1,
           "bulk-up": 0, "bulk-down": 1}.get(base, 0)
    return (rank, sub, num, w)


def is_op_workload(w):
    return w.endswith("short")


def derived(rec):
    """The figures of one measurement, or None when it produced none."""
    lg = rec.get("loadgen") or {}
    if rec.get("status") not in ("ok", "errors") or not lg:
        return None
    w = rec["workload"]
    k = kind(w)
    cpu = rec.get("cpu_s", 0.0) if rec.get("proxy") else None
    d = {"errors": lg.get("errors", 0)}  # includes idle hold and verify failures
    # Busy CPU of the whole machine that was neither proxy, backend nor loadgen, as a
    # percentage of one CPU: how much other work disturbed this measurement.
    wall = rec.get("wall_s") or lg.get("elapsed_s", 0)  # the window busy_cpu_s covers
    if "busy_cpu_s" in rec and "cpu_s" in lg and wall > 0:
        ours = rec.get("cpu_s", 0.0) + rec.get("backend_cpu_s", 0.0) + lg["cpu_s"]
        d["other_pct"] = max(0.0, rec["busy_cpu_s"] - ours) * 100 / wall
    if k in ("latency", "scale"):
        d["rate"] = lg["rate"]
        d["p50"] = lg["p50_us"]
        d["p99"] = lg["p99_us"]
        if cpu is not None and lg["ops"] > 0:
            d["cpu_per_op"] = cpu * 1e6 / lg["ops"]          # µs per connection / request
    elif k == "bulk":
        d["rate"] = lg["gbit_s"]
        d["streams"] = lg.get("concurrency", 0)
        if cpu is not None and lg["bytes"] > 0:
            d["cpu_per_op"] = cpu * 1e3 / (lg["bytes"] / 1e9)  # ms per GB (10^9 bytes)
    elif k in ("idle", "ceiling"):
        n = lg.get("established", 0)
        if n > 0 and rec.get("memavail_kb_ready", 0) > 0:
            d["sys_kb"] = (rec["memavail_kb_before"] - rec["memavail_kb_ready"]) / n
            if rec.get("slab_kb_ready", 0) > 0:
                d["slab_kb"] = (rec["slab_kb_ready"] - rec["slab_kb_before"]) / n
            if rec.get("proxy"):
                d["rss_kb"] = (rec["rss_kb_ready"] - rec["rss_kb_before"]) / n
            if rec.get("anon_kb_ready", 0) > 0:
                # Anonymous memory that other processes took or gave back meanwhile.
                others = ((rec["anon_kb_ready"] - rec["anon_kb_before"])
                          - (rec["ours_anon_kb_ready"] - rec["ours_anon_kb_before"]))
                d["sys_raw_kb"] = d["sys_kb"]
                d["others_kb"] = others / n
                pcp = rec.get("pcp_free_kb_ready", 0) - rec.get("pcp_free_kb_before", 0)
                d["pcp_kb"] = pcp / n
                d["sys_kb"] = (rec["memavail_kb_before"] - rec["memavail_kb_ready"] - pcp
                               - others) / n
        d["established"] = n
        d["conns"] = lg.get("conns", rec.get("idle_conns", 0))
        for key in ("proxy_nofile", "proxy_fds_ready", "proxy_fds_before", "loadgen_nofile",
                    "loadgen_fds_ready", "backend_nofile", "backend_fds_ready"):
            if rec.get(key):
                d[key] = rec[key]
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
        return f"  {t:<15} {w:<15} {st}: {rec.get('reason', '')}"
    k = kind(w)
    if k in ("latency", "scale"):
        short = is_op_workload(w)
        unit = "conn/s" if short else "req/s"
        s = f"{fmt(d['rate'])} {unit}, p99 {fmt(d['p99'])} µs"
        if "cpu_per_op" in d:
            s += f", proxy CPU {fmt(d['cpu_per_op'])} µs/{'conn' if short else 'req'}"
    elif k == "bulk":
        s = f"{fmt(d['rate'])} Gbit/s"
        if "cpu_per_op" in d:
            s += f", proxy CPU {fmt(d['cpu_per_op'])} ms/GB"
    else:
        s = f"{d['established']}/{d['conns']} conns"
        if "rss_kb" in d:
            s += f", RSS {fmt(d['rss_kb'])} KB/conn"
        if "sys_kb" in d:
            s += f", system {fmt(d['sys_kb'])} KB/conn"
            if "sys_raw_kb" in d:
                s += f" (raw MemAvailable drop {fmt(d['sys_raw_kb'])})"
        if "slab_kb" in d:
            s += f", Slab growth {fmt(d['slab_kb'])} KB/conn"
        if "proxy_fds_ready" in d:
            s += f", proxy fds {d['proxy_fds_ready']}/{d.get('proxy_nofile', '?')}"
    if "other_pct" in d:
        s += f", other load {d['other_pct']:.0f}%"
    return f"  {t:<15} {w:<15} {s}, errors {d['errors']}" + ("" if st == "ok" else f" [{st}]")


class Table:
    def __init__(self, records):
        self.meta = next((r for r in records if r.get("meta")), {})
        self.meta_end = next((r for r in records if r.get("meta_end")), {})
        self.runs = [r for r in records if "workload" in r]
        self.callgrind = [r for r in records if r.get("callgrind")]
        self.all_targets = []
        for r in self.runs:
            if r["target"] not in self.all_targets:
                self.all_targets.append(r["target"])

    def targets(self, workload):
        """Targets that ran this workload, in the order they first appear."""
        ts = [tg for tg in self.all_targets
              if any(r["target"] == tg and r["workload"] == workload for r in self.runs)]
        return [tg for tg in ts if tg != DIRECT] + [tg for tg in ts if tg == DIRECT]

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
        ws = []
        for r in self.runs:
            if r["workload"] not in ws:
                ws.append(r["workload"])
        return sorted(ws, key=order_key)

    def streams(self, workload):
        v = self.values(next(iter(self.targets(workload)), ""), workload, "streams")
        m = re.search(r"-(\d+)$", workload)
        return int(m.group(1)) if m else (int(v[0]) if v else None)

    def idle_size(self, workload):
        m = re.search(r"-(\d+)$", workload)
        return int(m.group(1)) if m else self.meta.get("idle_conns")


def bulk_label(t, w):
    n = t.streams(w)
    direction = "client→backend" if w.startswith("bulk-up") else "backend→client"
    return direction, f"{n} stream{'s' if n != 1 else ''}" if n else "? streams"


def render_cpu_headline(t, ws, out):
    lat = [w for w in ws if kind(w) == "latency"]
    bulk = [w for w in ws if kind(w) == "bulk"]
    heads = {"short": "µs / new conn", "keepalive": "µs / request"}
    for cols, title, labels in (
            (lat, "Proxy CPU per connection and per request", [heads[w] for w in lat]),
            (bulk, "Proxy CPU per GB (10⁹ bytes) moved",
             ["ms / GB " + " ".join(bulk_label(t, w)) for w in bulk])):
        if not cols:
            continue
        targets = [tg for tg in t.all_targets
                   if tg != DIRECT and any(tg in t.targets(w) for w in cols)]
        out.append(f"### {title} (lower is better; × = ratio to HAProxy)")
        out.append("")
        out.append("| target | " + " | ".join(f"{lb} | ×" for lb in labels) + " |")
        out.append("|---|" + "---:|---:|" * len(cols))
        for tg in targets:
            cells = []
            for w in cols:
                v = t.median(tg, w, "cpu_per_op")
                st = t.status(tg, w)
                cells.append(st[:40] if v is None and st else fmt(v))
                cells.append(ratio(v, t.median(REFERENCE, w, "cpu_per_op")))
            out.append(f"| {tg} | " + " | ".join(cells) + " |")
        out.append("")


def render_rate_table(t, w, out):
    m = t.meta
    k = kind(w)
    if k == "latency":
        title, what = {"short": ("Short connections", m.get("short", "")),
                       "keepalive": ("Keep-alive requests", m.get("keepalive", ""))}[w]
        unit, cunit = ("conn/s", "µs/conn") if w == "short" else ("req/s", "µs/req")
        ref = REFERENCE
        ref_name = "HAProxy"
    elif k == "scale":
        short = w == "scale-short"
        title = ("Workers scaling, short connections" if short
                 else "Workers scaling, keep-alive requests")
        what = m.get("scale_short" if short else "scale_keepalive", "")
        unit, cunit = ("conn/s", "µs/conn") if short else ("req/s", "µs/req")
        ref = next((tg for tg in t.targets(w) if tg.startswith("ringlbd-w")), None)
        ref_name = ref or "—"
    else:
        direction, streams = bulk_label(t, w)
        title = f"Bulk {direction}" + (" (headline direction)" if direction.startswith("client")
                                        else "")
        what = f"{streams}, {m.get('bulk', '64 KiB writes')}"
        if "streams" in m.get("bulk", ""):   # older runs: "4 streams, 64 KiB writes"
            what = m["bulk"]
        unit, cunit = "Gbit/s", "ms/GB"
        ref = REFERENCE
        ref_name = "HAProxy"
    out.append(f"### {title} — {what}")
    out.append("")
    if k == "scale":
        out.append(f"Proxy, loadgen ({m.get('scale_threads', '?')} threads) and backend all share CPUs {m.get('scale_cpus', '0,1')}, the whole machine: "
                   "a second worker can only use what the load generator and the backend leave "
                   "free, so throughput here is bounded by the machine, not by ringlbd; CPU per "
                   "operation shows what the second worker costs or saves. × = "
                   f"ratio to {ref_name}.")
        out.append("")
    lat = k in ("latency", "scale")
    out.append(f"| target | {unit} | ×{ref_name} | ×direct | proxy CPU {cunit} | ×{ref_name} |"
               + (f" p50 µs | p99 µs | p99 ×{ref_name} |" if lat else "")
               + " errors | runs | other load |")
    out.append("|---|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if lat else "")
               + "---:|---:|---:|")
    for tg in t.targets(w):
        st = t.status(tg, w)
        if st:
            out.append(f"| {tg} | {st} |")
            continue
        rate = t.median(tg, w, "rate")
        cpu = t.median(tg, w, "cpu_per_op")
        row = [tg, fmt(rate) + t.spread(tg, w, "rate"),
               ratio(rate, t.median(ref, w, "rate")),
               ratio(rate, t.median(DIRECT, w, "rate")),
               fmt(cpu) + (t.spread(tg, w, "cpu_per_op") if cpu is not None else ""),
               ratio(cpu, t.median(ref, w, "cpu_per_op"))]
        if lat:
            p99 = t.median(tg, w, "p99")
            row += [fmt(t.median(tg, w, "p50")), fmt(p99),
                    ratio(p99, t.median(ref, w, "p99"))]
        row += [str(t.errors(tg, w)), str(t.nruns(tg, w)), t.other_load(tg, w)]
        out.append("| " + " | ".join(row) + " |")
    out.append("")


def memory_of(t, tg, w):
    """tg's medians in workload w, KB per connection: (RSS, system, Slab, system − direct,
    Slab − direct); the differences are None for direct itself or when a value is missing."""
    rss, sysv, slab = (t.median(tg, w, key) for key in ("rss_kb", "sys_kb", "slab_kb"))

    def minus_direct(value, key):
        base = t.median(DIRECT, w, key)
        return None if tg == DIRECT or value is None or base is None else value - base
    return rss, sysv, slab, minus_direct(sysv, "sys_kb"), minus_direct(slab, "slab_kb")


def with_spread(t, tg, w, value, key):
    """The median as a cell, with the run-to-run spread when there is a value."""
    return fmt(value, 2) + (t.spread(tg, w, key) if value is not None else "")


def render_idle(t, w, out):
    m = t.meta
    n = t.idle_size(w)
    out.append(f"### Memory per idle connection — {fmt(n, 0) if isinstance(n, int) else n} connections held "
               f"{m.get('hold_s')} s")
    out.append("")
    out.append("RSS = growth of the proxy's VmRSS / connections. " + system_text(t) +
               " Slab = growth of the kernel's slab memory (sockets, files, epoll items) / "
               "connections, machine-wide too. RSS + Slab − direct is the proxy's own "
               "memory plus its two sockets.")
    out.append("")
    out.append("| target | RSS KB/conn | ×HAProxy | system KB/conn | system − direct "
               "KB/conn | ×HAProxy | Slab KB/conn | Slab − direct | RSS + Slab − direct "
               "| ×HAProxy | errors | runs | other load |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ref_rss, _, _, ref_extra, ref_slab_extra = memory_of(t, REFERENCE, w)

    def proxy_total(rss, slab_extra):
        return None if rss is None or slab_extra is None else rss + slab_extra
    for tg in t.targets(w):
        st = t.status(tg, w)
        if st:
            out.append(f"| {tg} | {st} |")
            continue
        rss, sysv, slab, extra, slab_extra = memory_of(t, tg, w)
        out.append("| " + " | ".join([
            tg, with_spread(t, tg, w, rss, "rss_kb"), ratio(rss, ref_rss),
            with_spread(t, tg, w, sysv, "sys_kb"), fmt(extra, 2), ratio(extra, ref_extra),
            with_spread(t, tg, w, slab, "slab_kb"), fmt(slab_extra, 2),
            fmt(proxy_total(rss, slab_extra), 2),
            ratio(proxy_total(rss, slab_extra), proxy_total(ref_rss, ref_slab_extra)),
            str(t.errors(tg, w)), str(t.nruns(tg, w)), t.other_load(tg, w)]) + " |")
    out.append("")


SYSTEM_TEXT = (
    "System = drop of MemAvailable / connections (client, proxy and backend sockets, proxy "
    "memory), corrected for the free pages parked on the per-CPU lists (/proc/zoneinfo "
    "`count`, which MemAvailable leaves out and which serve the new sockets after the "
    "previous measurement freed its own) and for the anonymous memory other processes took "
    "or gave back meanwhile (AnonPages − our processes' RssAnon); the raw drop is in the "
    "JSON. Minus direct = what the proxy adds, user space and kernel. MemAvailable counts "
    "the reclaimable slab (socket inodes, dentries: about a quarter of a socket's slab) as "
    "available although an open socket pins it, so system − direct runs below "
    "RSS + Slab − direct.")
SYSTEM_TEXT_RAW = (
    "System = drop of MemAvailable / connections (client, proxy and backend sockets, proxy "
    "memory; uncorrected: these results predate the correction for per-CPU free lists and "
    "other processes); minus direct = what the proxy adds, user space and kernel.")


def system_text(t):
    corrected = any(r.get("anon_kb_ready") for r in t.runs)
    return SYSTEM_TEXT if corrected else SYSTEM_TEXT_RAW


def gib(kib_per_conn):
    return kib_per_conn * PROJECT_CONNS / 1024 ** 2


def render_ceiling(t, out):
    w = "ceiling"
    m = t.meta
    nofile = m.get("nofile_hard", m.get("nofile", "?"))
    out.append(f"### Idle connections at the open-files ceiling ({fmt(nofile, 0) if isinstance(nofile, int) else nofile} per process)")
    out.append("")
    out.append(f"Each target holds as many idle connections as its open-file limit allows: "
               f"N = (limit − fds it holds once listening − {m.get('ceiling_reserve', 64)} "
               "spare) / 2, two sockets per proxied connection, capped by HAProxy's maxconn "
               "(maxpipes 8 here) and nginx's worker_connections; direct holds (limit − 16 − "
               f"spare) / 2 for the baseline. Clients from {m.get('ceiling_sources', '?')}; "
               "each connection verified with a 64 B echo before and after the hold. "
               "Zero errors required. KB = KiB (/proc reports kB of 1,024 bytes). "
               + system_text(t))
    out.append("")
    out.append("| target | connections | established | errors | zero errors | proxy fds / limit "
               "| loadgen fds / limit | backend fds / limit | RSS KB/conn | system KB/conn "
               "| system − direct | Slab − direct | runs | other load |")
    out.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    def mx(tg, key):
        v = t.values(tg, w, key)
        return max(v) if v else None

    def fds(tg, who):
        used, lim = mx(tg, f"{who}_fds_ready"), mx(tg, f"{who}_nofile")
        return "—" if used is None else f"{used:,} / {lim:,}" if lim else f"{used:,}"
    rows = {}
    for tg in t.targets(w):
        st = t.status(tg, w)
        if st:
            out.append(f"| {tg} | {st} |")
            continue
        rss, sysv, _, extra, slab_extra = memory_of(t, tg, w)
        conns = t.values(tg, w, "conns")
        est = t.values(tg, w, "established")
        errs = t.errors(tg, w)
        clean = errs == 0 and est and all(e == c for e, c in zip(est, conns))
        rows[tg] = (rss, extra, slab_extra)
        out.append("| " + " | ".join([
            tg, f"{int(min(conns)):,}" + ("" if min(conns) == max(conns) else f"–{int(max(conns)):,}"),
            f"{int(min(est)):,}" if est else "—", str(errs), "yes" if clean else "**NO**",
            fds(tg, "proxy") if tg != DIRECT else "—", fds(tg, "loadgen"), fds(tg, "backend"),
            with_spread(t, tg, w, rss, "rss_kb"), with_spread(t, tg, w, sysv, "sys_kb"),
            fmt(extra, 2), fmt(slab_extra, 2), str(t.nruns(tg, w)), t.other_load(tg, w)])
            + " |")
    out.append("")

    proxies = [tg for tg in rows if tg != DIRECT]
    if not proxies:
        return
    out.append(f"#### Projection to {PROJECT_CONNS:,} connections")
    out.append("")
    out.append(f"memory = (RSS/conn + kernel/conn) × {PROJECT_CONNS:,}, from the medians above; "
               "1 GiB = 1,048,576 KiB. Kernel/conn is counted two ways: from MemAvailable "
               "(system − direct − RSS: everything the proxy adds beyond its RSS — sockets, "
               "slab, page tables — but see above on reclaimable slab), and from Slab "
               "(Slab − direct: the proxy's sockets, files, epoll items, all of the slab, "
               "nothing outside it). Only the proxy's memory: the clients and backends are "
               "elsewhere in production.")
    out.append("")
    out.append(f"| target | RSS KB/conn | kernel KB/conn (MemAvailable) | total GiB | fits "
               f"{BUDGET_GIB} GiB | kernel KB/conn (Slab) | total GiB | fits {BUDGET_GIB} GiB |")
    out.append("|---|---:|---:|---:|---|---:|---:|---|")
    lines = []
    for tg in proxies:
        rss, extra, slab_extra = rows[tg]
        kern_a = None if extra is None or rss is None else extra - rss
        # A negative kernel share means MemAvailable moved by more than the signal (other
        # work on the machine): no total is shown for it.
        tot_a = None if kern_a is None or kern_a < 0 else gib(rss + kern_a)
        tot_b = None if slab_extra is None or rss is None else gib(rss + slab_extra)

        def fits(tot, kern):
            if kern is not None and kern < 0:
                return "n/a (kernel < 0: noise)"
            if tot is None:
                return "—"
            return "yes" if tot <= BUDGET_GIB else "**no**"
        out.append("| " + " | ".join([
            tg, fmt(rss, 2), fmt(kern_a, 2), fmt(tot_a, 2), fits(tot_a, kern_a),
            fmt(slab_extra, 2), fmt(tot_b, 2), fits(tot_b, slab_extra)]) + " |")
        if tot_a is not None:
            lines.append(f"- {tg}, MemAvailable: ({rss:.2f} + {kern_a:.2f}) KiB × "
                         f"{PROJECT_CONNS:,} = {(rss + kern_a) * PROJECT_CONNS / 1024:,.0f} MiB"
                         f" = {tot_a:.2f} GiB → {fits(tot_a, kern_a)}")
        if tot_b is not None:
            lines.append(f"- {tg}, Slab: ({rss:.2f} + {slab_extra:.2f}) KiB × "
                         f"{PROJECT_CONNS:,} = {(rss + slab_extra) * PROJECT_CONNS / 1024:,.0f} MiB"
                         f" = {tot_b:.2f} GiB → {fits(tot_b, slab_extra)}")
    out.append("")
    out.extend(lines)
    nr_open = m.get("nr_open")
    out.append("")
    out.append(f"A linear extrapolation from ~{int(t.median(proxies[0], w, 'conns') or 0):,} "
               f"connections; the memory only. {PROJECT_CONNS:,} proxied connections also need "
               f"{2 * PROJECT_CONNS:,} fds in the proxy (workers share one fd table)"
               + (f", more than this kernel's fs.nr_open ({nr_open:,})" if nr_open else "")
               + f" and the {fmt(nofile, 0) if isinstance(nofile, int) else nofile} allowed here, "
               "and enough (source address, port) pairs towards each backend (about 28,000 "
               "ephemeral ports per pair).")
    out.append("")


def render_callgrind(t, out):
    if not t.callgrind:
        return
    out.append("### callgrind — user-space instructions per forwarded connection")
    out.append("")
    out.append("N short connections one at a time (64 B echo) under `valgrind --tool=callgrind`; "
               "(Ir with N connections − Ir of an idle start) / N. Kernel work is not counted: "
               "ringlbd hands much of its per-connection work to io_uring, so compare CPU time "
               "above for the full cost.")
    out.append("")
    out.append("| target | version | connections | errors | Ir idle start | Ir with connections "
               "| Ir per connection | ×HAProxy |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|")
    ref = next((r.get("ir_per_connection") for r in t.callgrind
                if r.get("target") == "haproxy" and r.get("status") == "ok"), None)
    for r in t.callgrind:
        if r.get("status") != "ok":
            out.append(f"| {r.get('target')} | failed: {r.get('reason', '')[:80]} |")
            continue
        name = r["target"] + (f" (splice = {r['splice']})" if r.get("splice") not in
                              (None, "n/a") else "")
        out.append("| " + " | ".join([
            name, r.get("version", "?"), f"{r['connections']:,}", str(r.get("errors", "?")),
            f"{r['ir_idle']:,}", f"{r['ir_load']:,}", f"{r['ir_per_connection']:,}",
            ratio(r["ir_per_connection"], ref)]) + " |")
    out.append("")


def render(records):
    t = Table(records)
    m = t.meta
    out = []
    out.append(f"ringlb benchmark — {m.get('date', '?')}")
    out.append("")
    out.append(f"- effective settings: `{m.get('command', '?')}`")
    out.append(f"- kernel {m.get('kernel', '?')}, CPU {m.get('cpu', '?')} × {m.get('cpus', '?')}; "
               f"proxy pinned to CPU {m.get('proxy_cpu')}, loadgen + backends to CPU "
               f"{m.get('load_cpu')}"
               + (f" (scale-*: everything on CPUs {m['scale_cpus']})" if "scale_cpus" in m else "")
               + f"; loadavg {m.get('loadavg_start', '?')} at start, "
               f"{t.meta_end.get('loadavg_end', '?')} at end"
               + (f"; took {t.meta_end['seconds'] // 60} min {t.meta_end['seconds'] % 60} s"
                  if "seconds" in t.meta_end else ""))
    out.append(f"- {m.get('haproxy', '?')}; {m.get('nginx', '?')}; ringlbd {m.get('ringlbd', '?')}")
    out.append(f"- {m.get('rounds')} rounds, {m.get('duration_s')} s per measurement, medians "
               "over rounds (range in brackets); proxy CPU = utime + stime of the proxy "
               "process(es) over the measurement")
    out.append("")

    ws = t.workloads()
    render_cpu_headline(t, ws, out)
    for w in ws:
        if kind(w) in ("latency", "scale", "bulk"):
            render_rate_table(t, w, out)
    for w in ws:
        if kind(w) == "idle":
            render_idle(t, w, out)
    if "ceiling" in ws:
        render_ceiling(t, out)
    render_callgrind(t, out)
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
