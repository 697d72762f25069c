#!/usr/bin/env bash
# perf/bench.sh — `make bench`: ringlbd (splice never/always/auto), HAProxy, nginx stream
# and a direct connection on loopback, in one interleaved run; prints the proxy's CPU per
# operation and throughput as ratios to HAProxy and to direct. Not a test: no pass/fail.
#
# Environment:
#   BENCH_QUICK=1         one round, short durations (checks the harness, not the numbers)
#   BENCH_ROUNDS=N        rounds (default 3; the table shows medians over rounds)
#   BENCH_DURATION=S      seconds per throughput measurement (default 4)
#   BENCH_IDLE=N          idle connections for the memory measurement (default 1000)
#   BENCH_HOLD=S          seconds the idle connections are held (default 2)
#   BENCH_TARGETS="..."   subset/order of: ringlbd-never ringlbd-always ringlbd-auto
#                         haproxy haproxy-splice nginx direct  (also: haproxy-nosplice)
#                         haproxy = option splice-auto (the reference for the ratios);
#                         haproxy-splice = splice-auto + splice-request + splice-response
#   BENCH_WORKLOADS="..." subset of: short keepalive bulk-up bulk-down idle
#   BENCH_PROXY_CPU=0 BENCH_LOAD_CPU=1   CPUs for the proxy and for loadgen + backends
#   BENCH_QUIET_WAIT=S    before each measurement wait up to S seconds for the machine to
#                         be quiet (other work < 25 % of one CPU); default 0 = don't wait.
#                         The tables show the "other load" seen during each measurement.
#   BENCH_OUT=DIR         where results are kept (default build/perf)
set -uo pipefail
cd "$(dirname "$0")/.."

# ---- settings -------------------------------------------------------------------------
QUICK=${BENCH_QUICK:-0}
if [[ "$QUICK" == 1 ]]; then
  ROUNDS=${BENCH_ROUNDS:-1}; DURATION=${BENCH_DURATION:-1.5}; HOLD=${BENCH_HOLD:-0.5}
else
  ROUNDS=${BENCH_ROUNDS:-3}; DURATION=${BENCH_DURATION:-4}; HOLD=${BENCH_HOLD:-2}
fi
IDLE_N=${BENCH_IDLE:-1000}
TARGETS=(${BENCH_TARGETS:-ringlbd-never ringlbd-always ringlbd-auto haproxy haproxy-splice nginx direct})
WORKLOADS=(${BENCH_WORKLOADS:-short keepalive bulk-up bulk-down idle})
PROXY_CPU=${BENCH_PROXY_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
OUT=${BENCH_OUT:-build/perf}
QUIET_WAIT=${BENCH_QUIET_WAIT:-0}
SHORT_CONC=16; KA_CONC=16; KA_SIZE=64; BULK_STREAMS=4

BIN=build/perf
RINGLBD=build/ringlbd
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
HZ=$(getconf CLK_TCK)

for tool in loadgen bench_backend; do
  [[ -x $BIN/$tool ]] || { echo "bench: $BIN/$tool missing — run make first" >&2; exit 1; }
done
if (( $(nproc) < 2 )); then
  echo "bench: only one CPU; proxy and load share it, the figures mean little" >&2
  PROXY_CPU=0; LOAD_CPU=0
fi

WORK=$(mktemp -d /tmp/ringlb-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
# One ringlbd binary for the whole run, even if build/ringlbd is rebuilt meanwhile.
if [[ -x $RINGLBD ]]; then
  cp "$RINGLBD" "$WORK/ringlbd" && RINGLBD_SRC=$RINGLBD && RINGLBD=$WORK/ringlbd
fi
: >"$RESULTS"
mkdir -p "$OUT"

# ---- process bookkeeping: everything we start is stopped by PID ----------------------
PIDS=()
stop_pid() {  # stop_pid PID: TERM, wait up to 3 s, then KILL; then its children the same
  local pid=$1 i kids k
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  # nginx's worker outlives a master that had to be killed: note the children first.
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ')
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  for k in $kids; do
    for ((i = 0; i < 30; i++)); do
      kill -0 "$k" 2>/dev/null || break
      ((i == 0)) && kill -TERM "$k" 2>/dev/null
      sleep 0.1
    done
    kill -0 "$k" 2>/dev/null && kill -KILL "$k" 2>/dev/null
  done
  return 0
}
forget_pid() {
  local p keep=()
  for p in ${PIDS[@]+"${PIDS[@]}"}; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  PIDS=(${keep[@]+"${keep[@]}"})
}
cleanup() {
  local p
  for p in ${PIDS[@]+"${PIDS[@]}"}; do stop_pid "$p"; done
  PIDS=()
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "bench: work files kept in $WORK" >&2
  else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

# ---- /proc readers -------------------------------------------------------------------
proc_tree() {  # the PID and its children (nginx master + worker)
  echo "$1"
  ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}
cpu_ticks() {  # utime + stime of the tree, in clock ticks
  local total=0 p f
  for p in $(proc_tree "$1"); do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }            # the fields after "(comm) "; comm may hold spaces
    set -- $f
    total=$((total + ${12} + ${13}))  # fields 14 and 15 of stat: utime, stime
  done
  echo "$total"
}
rss_kb() {
  local total=0 p v
  for p in $(proc_tree "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
busy_ticks() {  # every CPU's non-idle time (user nice system irq softirq steal), in ticks
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}
mem_kb() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
mem_available_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
listening() {  # listening PORT: true once a socket listens on 127.0.0.1:PORT
  local hex
  hex=$(printf '0100007F:%04X' "$1")
  grep -q " $hex 00000000:0000 0A " /proc/net/tcp
}
free_port() { "$BIN/bench_backend" --free-ports 1; }

# ---- backends ----------------------------------------------------------------------------
# One fresh backend per measurement on a fresh port, so TIME_WAIT sockets left by the
# previous target never share a 4-tuple space with this one.
BACKEND_PID=""; BACKEND_PORT=""
start_backend() {  # start_backend echo|sink|source
  local role=$1 out=$WORK/backend.out i
  : >"$out"
  taskset -c "$LOAD_CPU" "$BIN/bench_backend" "--$role-port" 0 --max-seconds 900 \
    >"$out" 2>>"$WORK/backend.err" &
  BACKEND_PID=$!
  PIDS+=("$BACKEND_PID")
  for ((i = 0; i < 50; i++)); do
    BACKEND_PORT=$(sed -n "s/.*\"$role\":\([0-9]*\).*/\1/p" "$out")
    [[ -n "$BACKEND_PORT" ]] && return 0
    sleep 0.05
  done
  echo "bench: backend did not start" >&2
  return 1
}
stop_backend() {
  [[ -n "$BACKEND_PID" ]] || return 0
  stop_pid "$BACKEND_PID"; forget_pid "$BACKEND_PID"; BACKEND_PID=""
}

# ---- proxies -----------------------------------------------------------------------------
PROXY_PID=""; PROXY_LOG=""; PROXY_ERR=""
write_config() {  # write_config TARGET LISTEN_PORT BACKEND_PORT -> path on stdout
  local target=$1 lport=$2 bport=$3 conf
  case "$target" in
    ringlbd-*)
      conf=$WORK/$target.conf
      cat >"$conf" <<EOF
[global]
workers = 1
control_socket = $WORK/ringlbd.sock
log_level = warn

[listener.bench]
bind = 127.0.0.1:$lport
scheduler = leastconn
backend = 127.0.0.1:$bport
splice = ${target#ringlbd-}
idle_timeout = 1h
EOF
      ;;
    haproxy*)
      local splice="option splice-auto"
      [[ "$target" == haproxy-nosplice ]] && splice=""
      [[ "$target" == haproxy-splice ]] &&
        splice=$'option splice-auto\n    option splice-request\n    option splice-response'
      # HAProxy refuses to start unless maxconn × 2 sockets + maxpipes × 2 fit under the
      # fd limit; 256 pipes are plenty for 4 bulk streams and leave room for 9,500 idle.
      local maxpipes=256
      local maxconn=$(( ($(ulimit -n) - 2 * maxpipes - 200) / 2 ))
      conf=$WORK/haproxy.cfg
      cat >"$conf" <<EOF
global
    nbthread 1
    maxconn $maxconn
    maxpipes $maxpipes

defaults
    mode tcp
    maxconn $maxconn
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    $splice

frontend bench
    bind 127.0.0.1:$lport
    default_backend bench

backend bench
    server b1 127.0.0.1:$bport
EOF
      ;;
    nginx)
      local conns=$(( $(ulimit -n) - 100 ))
      conf=$WORK/nginx.conf
      cat >"$conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
worker_rlimit_nofile $(ulimit -n);
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;

events {
    worker_connections $conns;
}

stream {
    server {
        listen 127.0.0.1:$lport;
        proxy_pass 127.0.0.1:$bport;
        proxy_connect_timeout 5s;
        proxy_timeout 1h;
    }
}
EOF
      ;;
  esac
  echo "$conf"
}

log_excerpt() {  # the lines of a log that say what went wrong, on one line, JSON-safe
  { grep -m 2 -iE 'alert|emerg|error|fatal|fail' "$1" || tail -n 2 "$1"; } 2>/dev/null |
    tr '\n\t"\\' '    ' | cut -c1-300
}
start_proxy() {  # start_proxy TARGET LISTEN_PORT BACKEND_PORT; sets PROXY_PID or PROXY_ERR
  local target=$1 lport=$2 bport=$3 conf i
  PROXY_PID=""; PROXY_ERR=""
  if [[ "$target" == ringlbd-* && ! -x $RINGLBD ]]; then
    PROXY_ERR="$RINGLBD not built"; return 1
  fi
  conf=$(write_config "$target" "$lport" "$bport")
  PROXY_LOG=$WORK/$target.log
  case "$target" in
    ringlbd-*) taskset -c "$PROXY_CPU" "$RINGLBD" -c "$conf" >>"$PROXY_LOG" 2>&1 & ;;
    haproxy*) taskset -c "$PROXY_CPU" haproxy -db -f "$conf" >>"$PROXY_LOG" 2>&1 & ;;
    nginx) taskset -c "$PROXY_CPU" nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$conf" \
             -g 'daemon off;' >>"$PROXY_LOG" 2>&1 & ;;
  esac
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$PROXY_PID" 2>/dev/null; then
      wait "$PROXY_PID" 2>/dev/null
      PROXY_ERR="exited at start (status $?): $(log_excerpt "$PROXY_LOG")"
      forget_pid "$PROXY_PID"; PROXY_PID=""
      return 1
    fi
    if listening "$lport"; then
      # nginx: the master listens before its worker runs; let it come up.
      [[ "$target" == nginx ]] && sleep 0.2
      return 0
    fi
    sleep 0.05
  done
  PROXY_ERR="not listening on 127.0.0.1:$lport after 5 s: $(log_excerpt "$PROXY_LOG")"
  stop_proxy
  return 1
}
stop_proxy() {
  [[ -n "$PROXY_PID" ]] || return 0
  stop_pid "$PROXY_PID"; forget_pid "$PROXY_PID"; PROXY_PID=""
}

wait_quiet() {  # wait_quiet: up to QUIET_WAIT s until others use < 25 % of one CPU
  local deadline=$((SECONDS + ${QUIET_WAIT%.*})) b0 b1
  (( ${QUIET_WAIT%.*} > 0 )) || return 0
  while (( SECONDS < deadline )); do
    b0=$(busy_ticks); sleep 0.5; b1=$(busy_ticks)
    (( (b1 - b0) * 100 * 2 < HZ * 25 )) && return 0
  done
  echo "  (machine still busy after ${QUIET_WAIT}s; measuring anyway)"
}

# ---- one measurement -------------------------------------------------------------------
record() { echo "$1" >>"$RESULTS"; }

declare -A BROKEN=()

measure() {  # measure ROUND TARGET WORKLOAD
  local round=$1 target=$2 workload=$3
  local role=echo lport port lg_out=$WORK/loadgen.out ready=$WORK/ready.json
  local head="\"round\":$round,\"target\":\"$target\",\"workload\":\"$workload\""
  if [[ -n "${BROKEN[$target]:-}" ]]; then
    record "{$head,\"status\":\"skipped\",\"reason\":\"${BROKEN[$target]}\"}"
    printf '  %-15s %-10s skipped (%s)\n' "$target" "$workload" "${BROKEN[$target]:0:80}"
    return
  fi
  case "$workload" in bulk-up) role=sink ;; bulk-down) role=source ;; esac
  wait_quiet
  start_backend "$role" || { record "{$head,\"status\":\"failed\",\"reason\":\"backend\"}"; return; }

  port=$BACKEND_PORT
  if [[ "$target" != direct ]]; then
    lport=$(free_port)
    if ! start_proxy "$target" "$lport" "$BACKEND_PORT"; then
      BROKEN[$target]=$PROXY_ERR
      record "{$head,\"status\":\"failed\",\"reason\":\"$PROXY_ERR\"}"
      printf '  %-15s %-10s FAILED: %s\n' "$target" "$workload" "$PROXY_ERR"
      stop_backend
      return
    fi
    port=$lport
  fi

  local args=()
  case "$workload" in
    short) args=(short --concurrency "$SHORT_CONC" --size 64 --duration "$DURATION" --sources 4) ;;
    keepalive) args=(keepalive --concurrency "$KA_CONC" --size "$KA_SIZE" --duration "$DURATION") ;;
    bulk-up) args=(bulk --direction up --concurrency "$BULK_STREAMS" --duration "$DURATION") ;;
    bulk-down) args=(bulk --direction down --concurrency "$BULK_STREAMS" --duration "$DURATION") ;;
    idle) rm -f "$ready"
          args=(idle --conns "$IDLE_N" --hold "$HOLD" --sources 16 --setup-timeout 20
                --ready-file "$ready") ;;
  esac

  local t0=0 t1=0 b0 b1 busy0 busy1 rss0=0 rss1=0 mem0 mem1=0 slab0 slab1=0 lg_pid status=ok i
  [[ -n "$PROXY_PID" ]] && { t0=$(cpu_ticks "$PROXY_PID"); rss0=$(rss_kb "$PROXY_PID"); }
  b0=$(cpu_ticks "$BACKEND_PID")
  mem0=$(mem_available_kb); slab0=$(mem_kb Slab)
  busy0=$(busy_ticks); local wall0=$EPOCHREALTIME
  taskset -c "$LOAD_CPU" "$BIN/loadgen" "${args[@]}" --target "127.0.0.1:$port" \
    >"$lg_out" 2>>"$WORK/loadgen.err" &
  lg_pid=$!
  PIDS+=("$lg_pid")
  if [[ "$workload" == idle ]]; then
    # Sample memory while every connection is open and idle.
    for ((i = 0; i < 1400; i++)); do
      [[ -s "$ready" ]] && break
      kill -0 "$lg_pid" 2>/dev/null || break
      sleep 0.05
    done
    if [[ -s "$ready" ]]; then
      mem1=$(mem_available_kb); slab1=$(mem_kb Slab)
      [[ -n "$PROXY_PID" ]] && rss1=$(rss_kb "$PROXY_PID")
    fi
  fi
  wait "$lg_pid"
  local lg_status=$?
  forget_pid "$lg_pid"
  busy1=$(busy_ticks); local wall1=$EPOCHREALTIME
  b1=$(cpu_ticks "$BACKEND_PID")
  if [[ -n "$PROXY_PID" ]]; then
    t1=$(cpu_ticks "$PROXY_PID")
    if ! kill -0 "$PROXY_PID" 2>/dev/null; then
      wait "$PROXY_PID" 2>/dev/null
      local rc=$?
      status=crashed
      BROKEN[$target]="died during $workload (exit status $rc$( ((rc > 128)) && echo ", signal $((rc - 128))")): $(log_excerpt "$PROXY_LOG")"
    fi
  fi
  stop_proxy
  stop_backend

  local lg
  lg=$(tail -n 1 "$lg_out")
  [[ "$lg" == \{* ]] || { lg="{}"; status=failed; }
  [[ $lg_status -ne 0 && "$status" == ok ]] && status=errors
  # A proxy that forwards nothing at all is not measured further: every later workload
  # would only wait for its timeouts.
  if [[ "$status" != crashed && "$target" != direct && "$lg" == *'"ops":0,'* &&
        "$lg" == *'"bytes":0,'* ]]; then
    status=failed
    BROKEN[$target]="forwarded nothing in $workload"
  fi
  secs() { awk -v a="$1" -v b="$2" -v hz="$HZ" 'BEGIN {printf "%.3f", (b - a) / hz}'; }
  local reason=""
  [[ "$status" == failed || "$status" == crashed ]] && reason=",\"reason\":\"${BROKEN[$target]:-no loadgen result}\""
  record "{$head,\"status\":\"$status\"$reason,\"proxy\":$([[ "$target" == direct ]] && echo false || echo true),\
\"cpu_s\":$(secs "$t0" "$t1"),\"backend_cpu_s\":$(secs "$b0" "$b1"),\"busy_cpu_s\":$(secs "$busy0" "$busy1"),\"wall_s\":$(awk -v a="$wall0" -v b="$wall1" 'BEGIN {printf "%.3f", b - a}'),\
\"rss_kb_before\":$rss0,\"rss_kb_ready\":$rss1,\"memavail_kb_before\":$mem0,\"memavail_kb_ready\":$mem1,\
\"slab_kb_before\":$slab0,\"slab_kb_ready\":$slab1,\"loadgen\":$lg}"
  "$PY" perf/bench_report.py --line "$(tail -n 1 "$RESULTS")"
}

# ---- the run -----------------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)" 2>/dev/null
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
{
  echo "{\"meta\":true,\"date\":\"$(date -u '+%Y-%m-%d %H:%M:%S UTC')\","
  echo "\"command\":\"$(printf '%s ' "BENCH_QUICK=$QUICK BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$DURATION BENCH_IDLE=$IDLE_N BENCH_HOLD=$HOLD" perf/bench.sh)\","
  echo "\"kernel\":\"$(uname -r)\",\"cpu\":\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\",\"cpus\":$(nproc),"
  echo "\"haproxy\":\"$(haproxy -v 2>/dev/null | head -n 1)\",\"nginx\":\"$(nginx -v 2>&1 | head -n 1)\","
  echo "\"ringlbd\":\"$( [[ -x $RINGLBD ]] && echo "$("$RINGLBD" --version 2>/dev/null | head -n 1), sha256 $(sha256sum "$RINGLBD" | cut -c1-12), built $(date -u -r "${RINGLBD_SRC:-$RINGLBD}" '+%Y-%m-%d %H:%M UTC')" || echo 'not built')\","
  echo "\"rounds\":$ROUNDS,\"duration_s\":$DURATION,\"idle_conns\":$IDLE_N,\"hold_s\":$HOLD,"
  echo "\"short\":\"$SHORT_CONC connections at once, 64 B request echoed, then close\","
  echo "\"keepalive\":\"$KA_CONC connections, $KA_SIZE B request/response in a loop\","
  echo "\"bulk\":\"$BULK_STREAMS streams, 64 KiB writes\","
  echo "\"proxy_cpu\":$PROXY_CPU,\"load_cpu\":$LOAD_CPU,\"nofile\":$(ulimit -n),"
  echo "\"loadavg_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
} | tr -d '\n' >"$WORK/meta.json"
echo >>"$WORK/meta.json"
cat "$WORK/meta.json" >>"$RESULTS"

echo "bench: ${#TARGETS[@]} targets × ${#WORKLOADS[@]} workloads × $ROUNDS rounds," \
     "${DURATION}s each; proxy on CPU $PROXY_CPU, load on CPU $LOAD_CPU; work dir $WORK"
for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round/$ROUNDS"
  for workload in "${WORKLOADS[@]}"; do
    # Rotate the target order each round so no target always runs first.
    n=${#TARGETS[@]}
    for ((k = 0; k < n; k++)); do
      measure "$round" "${TARGETS[$(( (k + round - 1) % n ))]}" "$workload"
    done
  done
done

echo "{\"meta_end\":true,\"loadavg_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$RESULTS"
cp "$RESULTS" "$OUT/bench-$STAMP.jsonl"
echo
"$PY" perf/bench_report.py "$RESULTS" | tee "$OUT/bench-$STAMP.md"
echo
echo "bench: raw results $OUT/bench-$STAMP.jsonl, table $OUT/bench-$STAMP.md"
