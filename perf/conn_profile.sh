#!/usr/bin/env bash
# perf/conn_profile.sh — where the CPU time of one new connection goes, ringlbd against
# HAProxy: the short-connection workload of perf/bench.sh (16 at once, 64 B echoed, client
# closes first) with `perf record -g` on the proxy, then perf/conn_breakdown.py sorts the
# samples by kernel entry point (connect, send, shutdown, close, …) and prints µs per
# connection for each. Not part of make bench; needs perf(1) and root.
#
#   perf/conn_profile.sh [SECONDS] [TARGETS...]      default: 4 s, ringlbd haproxy
#   PROFILE_WORKLOAD=keepalive perf/conn_profile.sh  the keep-alive workload instead (16
#                                                    connections, 64 B request/response in
#                                                    a loop): µs per request, not per connection
#
# Same placement as bench.sh: proxy on CPU 0, loadgen and the echo backend on CPU 1.
set -uo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-4}; shift || true
WORKLOAD=${PROFILE_WORKLOAD:-short}
case "$WORKLOAD" in
  short) UNIT=connection ;;
  keepalive) UNIT=request ;;
  *) echo "conn_profile: PROFILE_WORKLOAD is short or keepalive, not $WORKLOAD" >&2; exit 2 ;;
esac
TARGETS=("$@")
[[ $# -eq 0 ]] && TARGETS=(ringlbd haproxy)
BIN=build/perf
command -v perf >/dev/null || { echo "conn_profile: perf is not installed" >&2; exit 1; }
for tool in "$BIN/loadgen" "$BIN/bench_backend" build/ringlbd; do
  [[ -x $tool ]] || { echo "conn_profile: $tool missing — run make first" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/ringlb-connprof.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done; }
trap cleanup EXIT
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

free_port() { "$BIN/bench_backend" --free-ports 1 | head -n 1; }

for target in "${TARGETS[@]}"; do
  taskset -c 1 "$BIN/bench_backend" --echo-port 0 --max-seconds $((DURATION + 30)) >"$WORK/backend.json" 2>/dev/null &
  backend=$!; PIDS+=("$backend")
  for _ in $(seq 50); do [[ -s $WORK/backend.json ]] && break; sleep 0.05; done
  bport=$(/usr/bin/python3 -c "import json; print(json.load(open('$WORK/backend.json'))['echo'])")
  lport=$(free_port)
  case "$target" in
    ringlbd)
      printf '[global]\nworkers = 1\nlog_level = warn\n[listener.bench]\nbind = 127.0.0.1:%s\nscheduler = leastconn\nidle_timeout = 1h\nbackend = 127.0.0.1:%s\n' \
        "$lport" "$bport" >"$WORK/ringlbd.conf"
      taskset -c 0 build/ringlbd -c "$WORK/ringlbd.conf" >"$WORK/proxy.log" 2>&1 & ;;
    haproxy)
      printf 'global\n    nbthread 1\n    maxconn 5000\n    maxpipes 256\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n    option splice-auto\nfrontend bench\n    bind 127.0.0.1:%s\n    default_backend bench\nbackend bench\n    server b1 127.0.0.1:%s\n' \
        "$lport" "$bport" >"$WORK/haproxy.cfg"
      taskset -c 0 haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/proxy.log" 2>&1 & ;;
    *) echo "conn_profile: unknown target $target" >&2; exit 2 ;;
  esac
  proxy=$!; PIDS+=("$proxy")
  sleep 0.5
  t0=$(cpu_ticks "$proxy")
  perf record -q -g -p "$proxy" -o "$WORK/$target.data" -- sleep "$DURATION" >/dev/null 2>&1 &
  recorder=$!
  taskset -c 1 "$BIN/loadgen" "$WORKLOAD" --concurrency 16 --size 64 --sources 4 --duration "$DURATION" \
    --target "127.0.0.1:$lport" >"$WORK/$target.loadgen.json"
  wait "$recorder"
  t1=$(cpu_ticks "$proxy")
  kill "$proxy" "$backend" 2>/dev/null; wait "$proxy" "$backend" 2>/dev/null
  # ops: connections (short) or requests (keepalive) that completed.
  read -r ops errors < <(/usr/bin/python3 -c "import json; d=json.load(open('$WORK/$target.loadgen.json')); print(d['ops'], d['errors'])")
  us=$(/usr/bin/python3 -c "print(round(($t1 - $t0) / $HZ * 1e6 / max(1, $ops), 1))")
  echo "$target: $ops ${UNIT}s, $errors errors, proxy CPU $us µs per $UNIT (utime+stime)"
  perf script -i "$WORK/$target.data" 2>/dev/null | /usr/bin/python3 perf/conn_breakdown.py --us-per-conn "$us" --label "$target"
done
echo "raw data: $WORK"
trap - EXIT
