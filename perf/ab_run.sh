#!/usr/bin/env bash
# perf/ab_run.sh — one measurement of one proxy binary (or HAProxy, or a direct
# connection) with the CPU of every process involved: for A/B comparisons of a change,
# where the full `make bench` is too slow to repeat. Same placement as bench.sh: the proxy
# on CPU 0, loadgen and bench_backend on CPU 1. Not part of make bench; no pass/fail.
#
#   perf/ab_run.sh TARGET SECONDS -- LOADGEN-ARGS...
#     TARGET: a ringlbd binary (path), `haproxy` or `direct`
#     e.g. perf/ab_run.sh build/ringlbd 4 -- keepalive --concurrency 16 --size 64
#          perf/ab_run.sh direct 4 -- bulk --direction up --concurrency 1
#   AB_SPLICE=never|always|auto (ringlbd; default auto)
#
# Prints one line: ops, Gbit/s, p50/p99, and utime + stime per operation (µs) or per GB
# (ms) of the proxy, loadgen and the backend, from /proc/PID/stat around the load.
set -uo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 3 && $3 == "--" ]] || { sed -n 7,12p "$0" >&2; exit 2; }
TARGET=$1; DURATION=$2; shift 3
LOADGEN_ARGS=("$@")
BIN=build/perf
for tool in "$BIN/loadgen" "$BIN/bench_backend"; do
  [[ -x $tool ]] || { echo "ab_run: $tool missing — run make first" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/ringlb-ab.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Which backend port the workload needs: bulk up → sink, bulk down → source, else echo.
role=echo
case " ${LOADGEN_ARGS[*]} " in
  *" bulk "*" down "*) role=source ;;
  *" bulk "*) role=sink ;;
esac
taskset -c 1 "$BIN/bench_backend" --echo-port 0 --sink-port 0 --source-port 0 \
  --max-seconds $((DURATION + 30)) >"$WORK/backend.json" 2>/dev/null &
backend=$!; PIDS+=("$backend")
for _ in $(seq 50); do [[ -s $WORK/backend.json ]] && break; sleep 0.05; done
bport=$(/usr/bin/python3 -c "import json; print(json.load(open('$WORK/backend.json'))['$role'])")
lport=$("$BIN/bench_backend" --free-ports 1 | head -n 1)

proxy=
case "$TARGET" in
  direct) lport=$bport ;;
  haproxy)
    printf 'global\n    nbthread 1\n    maxconn 5000\n    maxpipes 256\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n    option splice-auto\nfrontend bench\n    bind 127.0.0.1:%s\n    default_backend bench\nbackend bench\n    server b1 127.0.0.1:%s\n' \
      "$lport" "$bport" >"$WORK/haproxy.cfg"
    taskset -c 0 haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/proxy.log" 2>&1 &
    proxy=$! ;;
  *)
    [[ -x $TARGET ]] || { echo "ab_run: $TARGET is not an executable, haproxy or direct" >&2; exit 2; }
    printf '[global]\nworkers = 1\nlog_level = warn\n[listener.ab]\nbind = 127.0.0.1:%s\nscheduler = leastconn\nsplice = %s\nidle_timeout = 1h\nbackend = 127.0.0.1:%s\n' \
      "$lport" "${AB_SPLICE:-auto}" "$bport" >"$WORK/ringlbd.conf"
    taskset -c 0 "$TARGET" -c "$WORK/ringlbd.conf" >"$WORK/proxy.log" 2>&1 &
    proxy=$! ;;
esac
[[ -n $proxy ]] && PIDS+=("$proxy")
sleep 0.5
p0=0; [[ -n $proxy ]] && p0=$(ticks "$proxy")
b0=$(ticks "$backend")
taskset -c 1 "$BIN/loadgen" "${LOADGEN_ARGS[@]}" --duration "$DURATION" --target "127.0.0.1:$lport" \
  >"$WORK/loadgen.json" 2>"$WORK/loadgen.err" || { cat "$WORK/loadgen.err" >&2; exit 1; }
p1=0; [[ -n $proxy ]] && p1=$(ticks "$proxy")
b1=$(ticks "$backend")
/usr/bin/python3 - "$WORK/loadgen.json" "$(getconf CLK_TCK)" "$((p1 - p0))" "$((b1 - b0))" "$TARGET" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
hz, proxy_ticks, backend_ticks, target = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
proxy_s, backend_s, loadgen_s = proxy_ticks / hz, backend_ticks / hz, d["cpu_s"]
line = f"{target}: {d['mode']} errors {d['errors']}"
if d["mode"].startswith("bulk"):
    gb = d["bytes"] / 1e9
    line += (f", {d['gbit_s']:.2f} Gbit/s, ms/GB proxy {proxy_s * 1e3 / gb:.0f}"
             f" loadgen {loadgen_s * 1e3 / gb:.0f} backend {backend_s * 1e3 / gb:.0f}")
else:
    ops = max(1, d["ops"])
    line += (f", {d['rate']:.0f} ops/s, p50 {d['p50_us']:.0f} µs p99 {d['p99_us']:.0f} µs, µs/op proxy"
             f" {proxy_s * 1e6 / ops:.1f} loadgen {loadgen_s * 1e6 / ops:.1f} backend {backend_s * 1e6 / ops:.1f}")
print(line)
EOF
