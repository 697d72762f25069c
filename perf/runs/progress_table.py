# Medians over rounds 1-2 of a perf/bench.sh progress log (run C in perf/RESULTS.md):
#   python3 perf/runs/progress_table.py perf/runs/run-C-progress.log
import re, statistics, sys, collections
rows = collections.defaultdict(lambda: collections.defaultdict(list))
rnd = 0
for line in open(sys.argv[1]):
    m = re.match(r"== round (\d+)/", line)
    if m: rnd = int(m.group(1)); continue
    m = re.match(r"\s+(\S+)\s+(\S+)\s+(.*)$", line)
    if not m or rnd == 0 or rnd > 2: continue
    t, w, rest = m.groups()
    if "errors" not in rest: continue
    def num(pat):
        x = re.search(pat, rest)
        return float(x.group(1).replace(",", "")) if x else None
    d = rows[(w, t)]
    for key, pat in [("rate", r"^([\d,.]+) (?:conn/s|req/s)"), ("gbit", r"^([\d.]+) Gbit/s"), ("p99", r"p99 ([\d,]+) µs"),
                     ("cpu", r"proxy CPU ([\d,.]+) (?:µs|ms)"), ("rss", r"RSS ([\d.]+) KB"), ("sys", r"system ([\d.-]+) KB"),
                     ("slab", r"Slab growth ([\d.]+) KB"), ("other", r"other load (\d+)%"), ("err", r"errors (\d+)"),
                     ("conns", r"^(\d+)/")]:
        v = num(pat)
        if v is not None: d[key].append(v)
def med(w, t, k):
    v = rows.get((w, t), {}).get(k)
    return statistics.median(v) if v else None
targets = ["ringlbd-never", "ringlbd-always", "ringlbd-auto", "haproxy", "haproxy-splice", "nginx", "direct"]
def fmt(x, d=0):
    if x is None: return "—"
    return f"{x:,.{d}f}"
print("| target | µs/new conn | × | conn/s | p99 µs | µs/keep-alive req | × | req/s | p99 µs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
h1, h2 = med("short","haproxy","cpu"), med("keepalive","haproxy","cpu")
for t in targets:
    c1, c2 = med("short",t,"cpu"), med("keepalive",t,"cpu")
    print(f"| {t} | {fmt(c1)} | {fmt(c1/h1 if c1 else None,2)} | {fmt(med('short',t,'rate'))} | {fmt(med('short',t,'p99'))} | {fmt(c2,1)} | {fmt(c2/h2 if c2 else None,2)} | {fmt(med('keepalive',t,'rate'))} | {fmt(med('keepalive',t,'p99'))} |")
print()
print("| target | " + " | ".join(f"{w}: Gbit/s, ms/GB" for w in ["bulk-up-1","bulk-up-8","bulk-down-1","bulk-down-8"]) + " |")
print("|---|" + "---:|"*4)
for t in targets:
    cells = []
    for w in ["bulk-up-1","bulk-up-8","bulk-down-1","bulk-down-8"]:
        g, c = med(w,t,"gbit"), med(w,t,"cpu")
        gh, gd, ch = med(w,"haproxy","gbit"), med(w,"direct","gbit"), med(w,"haproxy","cpu")
        if g is None: cells.append("—"); continue
        s = f"{g:.2f} ({g/gh:.2f}× HAProxy, {g/gd:.2f}× direct)"
        if c: s += f", {c:,.0f} ({c/ch:.2f}×)"
        cells.append(s)
    print(f"| {t} | " + " | ".join(cells) + " |")
print()
print("| target | idle-1000 RSS KB/conn | system KB/conn | idle-9500 RSS | system | ceiling conns (errors) | RSS | system | Slab |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for t in targets:
    print(f"| {t} | {fmt(med('idle-1000',t,'rss'),2)} | {fmt(med('idle-1000',t,'sys'),1)} | {fmt(med('idle-9500',t,'rss'),2)} | {fmt(med('idle-9500',t,'sys'),1)} | {fmt(med('ceiling',t,'conns'))} ({fmt(med('ceiling',t,'err'))}) | {fmt(med('ceiling',t,'rss'),2)} | {fmt(med('ceiling',t,'sys'),1)} | {fmt(med('ceiling',t,'slab'),1)} |")
print()
print("| target | scale-short conn/s | µs/conn | p99 | scale-keepalive req/s | µs/req | p99 |")
print("|---|---:|---:|---:|---:|---:|---:|")
for t in ["ringlbd-w1","ringlbd-w2","direct"]:
    print(f"| {t} | {fmt(med('scale-short',t,'rate'))} | {fmt(med('scale-short',t,'cpu'))} | {fmt(med('scale-short',t,'p99'))} | {fmt(med('scale-keepalive',t,'rate'))} | {fmt(med('scale-keepalive',t,'cpu'),1)} | {fmt(med('scale-keepalive',t,'p99'))} |")
oth = [v for d in rows.values() for v in d.get("other", [])]
print(); print(f"other load over all measurements: median {statistics.median(oth):.0f}% of one CPU, range {min(oth):.0f}–{max(oth):.0f}%")
print("rounds per cell:", collections.Counter(len(d.get('err',[])) for d in rows.values()))
