#!/usr/bin/env bash
# perf/bench.sh — `make bench`: ringlbd (splice never/always/auto, 1 and 2 workers), HAProxy,
# nginx stream and a direct connection on loopback, in one interleaved run; prints the
# proxy's CPU per operation, throughput, latency and memory as ratios to HAProxy and to
# direct, then callgrind instruction counts. Not a test: no pass/fail.
#
# Environment:
#   BENCH_QUICK=1         one round, short durations (checks the harness, not the numbers)
#   BENCH_ROUNDS=N        rounds (default 3; the table shows medians over rounds)
#   BENCH_DURATION=S      seconds per throughput measurement (default 4)
#   BENCH_IDLE="N ..."    sizes for the `idle` workload (default "1000 9500"; quick "1000")
#   BENCH_HOLD=S          seconds the idle connections are held (default 2)
#   BENCH_TARGETS="..."   subset/order of: ringlbd-never ringlbd-always ringlbd-auto
#                         haproxy haproxy-splice nginx direct ringlbd-w1 ringlbd-w2
#                         (also: haproxy-nosplice, ringlbd-wN = workers N, splice auto)
#                         haproxy = option splice-auto (the reference for the ratios);
#                         haproxy-splice = splice-auto + splice-request + splice-response
#   BENCH_WORKLOADS="..." subset/order of: short keepalive scale-short scale-keepalive
#                         bulk-up-1 bulk-up-8 bulk-down-1 bulk-down-8 idle-1000 idle-9500
#                         ceiling; shorthands: scale = both scale-*, bulk = the four bulk-*,
#                         bulk-up / bulk-down = 1 and 8 streams, idle = idle-N for each N in
#                         BENCH_IDLE; any bulk-up-N, bulk-down-N (1..64), idle-N also work.
#                         Which targets run which workload:
#                           scale-*   only ringlbd-wN and direct (all CPUs shared, see below)
#                           ceiling   BENCH_CEILING_TARGETS (default: ringlbd-auto haproxy
#                                     nginx direct), each as far as BENCH_TARGETS has it
#                           others    every target except ringlbd-wN
#   BENCH_PROXY_CPU=0 BENCH_LOAD_CPU=1   CPUs for the proxy and for loadgen + backends
#   BENCH_SCALE_CPUS=0,1  CPUs for everything in scale-* (proxy, 2 loadgen threads, backend)
#   BENCH_CEILING_RESERVE=64  fds left free in each process at the ceiling (see below)
#   BENCH_CEILING_N=N     cap on the ceiling's connections (default: as many as fit)
#   BENCH_CALLGRIND=0     skip the callgrind runs at the end (default 1: ringlbd, haproxy)
#   BENCH_CALLGRIND_CONNS=N  connections per callgrind run (default 2000; quick 200)
#   BENCH_CALLGRIND_TARGETS="ringlbd haproxy"   (nginx also possible)
#   BENCH_QUIET_WAIT=S    before each measurement wait up to S seconds for the machine to
#                         be quiet (other work < 25 % of one CPU); default 0 = don't wait.
#                         The tables show the "other load" seen during each measurement.
#   BENCH_OUT=DIR         where results are kept (default build/perf)
#
# ceiling: each target holds as many idle connections as its open-file limit allows:
# N = (its RLIMIT_NOFILE − the fds it has open once listening − BENCH_CEILING_RESERVE) / 2
# (two sockets per proxied connection), capped by HAProxy's maxconn and nginx's
# worker_connections; direct holds (limit − 16 − reserve) / 2, the same scale. loadgen and
# the backend need one fd per connection, so they fit under the same limit.
#
# Duration on this 2-CPU machine: the default run (3 rounds, 198 measurements, callgrind
# 2 × 2,000 connections) about 16 min on a quiet machine, up to ~22 min when other work
# keeps both CPUs busy; BENCH_QUICK=1 about 3 min (up to 5 when busy).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# ---- settings -------------------------------------------------------------------------
QUICK=${BENCH_QUICK:-0}
if [[ "$QUICK" == 1 ]]; then
  ROUNDS=${BENCH_ROUNDS:-1}; DURATION=${BENCH_DURATION:-1.5}; HOLD=${BENCH_HOLD:-0.5}
else
  ROUNDS=${BENCH_ROUNDS:-3}; DURATION=${BENCH_DURATION:-4}; HOLD=${BENCH_HOLD:-2}
fi
# Quick: the 9,500 size is left out (the ceiling still holds ~10,000 connections).
if [[ "$QUICK" == 1 ]]; then IDLE_SIZES=(${BENCH_IDLE:-1000}); else IDLE_SIZES=(${BENCH_IDLE:-1000 9500}); fi
TARGETS=(${BENCH_TARGETS:-ringlbd-never ringlbd-always ringlbd-auto haproxy haproxy-splice nginx direct ringlbd-w1 ringlbd-w2})
WORKLOADS_ASKED=(${BENCH_WORKLOADS:-short keepalive scale bulk idle ceiling})
CEILING_TARGETS=" ${BENCH_CEILING_TARGETS:-ringlbd-auto haproxy nginx direct} "
PROXY_CPU=${BENCH_PROXY_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
SCALE_CPUS=${BENCH_SCALE_CPUS:-0,1}
OUT=${BENCH_OUT:-build/perf}
QUIET_WAIT=${BENCH_QUIET_WAIT:-0}
CEIL_RESERVE=${BENCH_CEILING_RESERVE:-64}
CEIL_CAP=${BENCH_CEILING_N:-1000000}
CALLGRIND=${BENCH_CALLGRIND:-1}
CALLGRIND_TARGETS=(${BENCH_CALLGRIND_TARGETS:-ringlbd haproxy})
if [[ "$QUICK" == 1 ]]; then CALLGRIND_CONNS=${BENCH_CALLGRIND_CONNS:-200}
else CALLGRIND_CONNS=${BENCH_CALLGRIND_CONNS:-2000}; fi
SHORT_CONC=16; KA_CONC=16; KA_SIZE=64
SCALE_THREADS=2; SCALE_CONC=32   # scale-*: loadgen threads, connections at once
CEIL_SOURCES=64; CEIL_SOURCE_BASE=127.1.1.1   # ceiling: clients 127.1.1.1–127.1.1.64

# Expand shorthands into the workloads that run, in the order asked, without repeats.
WORKLOADS=()
add_workload() {
  local w
  for w in "$@"; do [[ " ${WORKLOADS[*]} " == *" $w "* ]] || WORKLOADS+=("$w"); done
}
for w in "${WORKLOADS_ASKED[@]}"; do
  case "$w" in
    scale) add_workload scale-short scale-keepalive ;;
    bulk) add_workload bulk-up-1 bulk-up-8 bulk-down-1 bulk-down-8 ;;
    bulk-up|bulk-down) add_workload "$w-1" "$w-8" ;;
    idle) for n in "${IDLE_SIZES[@]}"; do add_workload "idle-$n"; done ;;
    short|keepalive|scale-short|scale-keepalive|ceiling) add_workload "$w" ;;
    bulk-up-[0-9]*|bulk-down-[0-9]*)
      n=${w##*-}
      [[ "$n" =~ ^[0-9]+$ ]] && (( n >= 1 && n <= 64 )) ||
        { echo "bench: $w: 1..64 streams" >&2; exit 2; }
      add_workload "$w" ;;
    idle-[0-9]*)
      n=${w#idle-}
      [[ "$n" =~ ^[0-9]+$ ]] && (( n >= 1 && n <= 100000 )) ||
        { echo "bench: $w: 1..100000 connections" >&2; exit 2; }
      add_workload "$w" ;;
    *) echo "bench: unknown workload $w" >&2; exit 2 ;;
  esac
done

# Which targets a workload runs (see the header).
applies() {  # applies TARGET WORKLOAD
  local target=$1 workload=$2
  case "$workload" in
    scale-*) [[ "$target" == ringlbd-w[0-9]* || "$target" == direct ]] ;;
    ceiling) [[ "$CEILING_TARGETS" == *" $target "* ]] ;;
    *) [[ "$target" != ringlbd-w[0-9]* ]] ;;
  esac
}

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
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  for k in $kids; do
    for ((i = 0; i < 150; i++)); do
      kill -0 "$k" 2>/dev/null || break
      ((i == 0)) && kill -TERM "$k" 2>/dev/null
      sleep 0.02
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
  # An interrupted run keeps what it measured: perf/bench_report.py reads a partial file.
  if [[ -z "${BENCH_DONE:-}" && -s "${RESULTS:-}" ]]; then
    mkdir -p "$OUT" && cp "$RESULTS" "$OUT/bench-$(date -u +%Y%m%dT%H%M%SZ)-partial.jsonl" &&
      echo "bench: partial results kept in $OUT/bench-*-partial.jsonl" >&2
  fi
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
fd_count() {  # the most fds any process of the tree has open
  local max=0 p n
  for p in $(proc_tree "$1"); do
    n=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
    (( n > max )) && max=$n
  done
  echo "$max"
}
nofile() {  # the smallest soft open-files limit in the tree (RLIMIT_NOFILE)
  local min="" p v
  for p in $(proc_tree "$1"); do
    v=$(awk '/^Max open files/ {print $4}' "/proc/$p/limits" 2>/dev/null)
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    [[ -z "$min" ]] || (( v < min )) && min=$v
  done
  echo "${min:-0}"
}
mem_kb() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
# MemAvailable, AnonPages, Shmem, Slab in one read, so the four belong to one moment; then
# the free pages held on the per-CPU lists (kB), which MemFree and MemAvailable leave out:
# since Linux 6.7 these lists grow to hundreds of MB after a burst of frees (the previous
# measurement's sockets), and the next measurement's sockets are served from them
# without MemFree moving at all.
meminfo() {
  echo "$(awk '$1 ~ /^(MemAvailable|AnonPages|Shmem|Slab):$/ {v[$1] = $2}
    END {print v["MemAvailable:"], v["AnonPages:"], v["Shmem:"], v["Slab:"]}' /proc/meminfo)" \
    "$(awk '$1 == "count:" {n += $2} END {print n * 4}' /proc/zoneinfo)"
}
anon_kb() {  # anon_kb PID...: RssAnon summed over the processes and their children
  local total=0 pid p v
  for pid in "$@"; do
    for p in $(proc_tree "$pid"); do
      v=$(awk '/^RssAnon:/ {print $2}' "/proc/$p/status" 2>/dev/null)
      total=$((total + ${v:-0}))
    done
  done
  echo "$total"
}
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
start_backend() {  # start_backend echo|sink|source CPUS
  local role=$1 cpus=$2 out=$WORK/backend.out i
  : >"$out"
  taskset -c "$cpus" "$BIN/bench_backend" "--$role-port" 0 --max-seconds 900 \
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
# HAProxy refuses to start unless maxconn × 2 sockets + maxpipes × 2 fit under the fd
# limit; 256 pipes are plenty for 8 bulk streams and leave room for 9,500 idle
# connections. At the ceiling, where no byte is spliced, 8 pipes leave room for the most.
haproxy_maxpipes() { [[ "$1" == ceiling ]] && echo 8 || echo 256; }
haproxy_maxconn() { echo $(( ($(ulimit -n) - 2 * $(haproxy_maxpipes "$1") - CEIL_RESERVE) / 2 )); }
nginx_worker_connections() { echo $(( $(ulimit -n) - CEIL_RESERVE )); }
conn_cap() {  # conn_cap TARGET WORKLOAD: connections the proxy's own configuration allows
  case "$1" in
    haproxy*) haproxy_maxconn "$2" ;;
    # worker_connections counts both sockets of a connection, and the listener.
    nginx) echo $(( ($(nginx_worker_connections) - 8) / 2 )) ;;
    *) echo 1000000 ;;
  esac
}

write_config() {  # write_config TARGET LISTEN_PORT BACKEND_PORT WORKLOAD -> path on stdout
  local target=$1 lport=$2 bport=$3 workload=$4 conf
  case "$target" in
    ringlbd-*)
      local workers=1 splice=${target#ringlbd-}
      if [[ "$target" == ringlbd-w[0-9]* ]]; then workers=${target#ringlbd-w}; splice=auto; fi
      conf=$WORK/$target.conf
      cat >"$conf" <<EOF
[global]
workers = $workers
control_socket = $WORK/ringlbd.sock
log_level = warn

[listener.bench]
bind = 127.0.0.1:$lport
scheduler = leastconn
backend = 127.0.0.1:$bport
splice = $splice
idle_timeout = 1h
EOF
      ;;
    haproxy*)
      local splice="option splice-auto"
      [[ "$target" == haproxy-nosplice ]] && splice=""
      [[ "$target" == haproxy-splice ]] &&
        splice=$'option splice-auto\n    option splice-request\n    option splice-response'
      local maxpipes maxconn
      maxpipes=$(haproxy_maxpipes "$workload"); maxconn=$(haproxy_maxconn "$workload")
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
      local conns
      conns=$(nginx_worker_connections)
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
start_proxy() {  # start_proxy TARGET LISTEN_PORT BACKEND_PORT WORKLOAD CPUS; sets PROXY_PID or PROXY_ERR
  local target=$1 lport=$2 bport=$3 workload=$4 cpus=$5 conf i
  PROXY_PID=""; PROXY_ERR=""
  if [[ "$target" == ringlbd-* && ! -x $RINGLBD ]]; then
    PROXY_ERR="$RINGLBD not built"; return 1
  fi
  conf=$(write_config "$target" "$lport" "$bport" "$workload")
  PROXY_LOG=$WORK/$target.log
  case "$target" in
    ringlbd-*) taskset -c "$cpus" "$RINGLBD" -c "$conf" >>"$PROXY_LOG" 2>&1 & ;;
    haproxy*) taskset -c "$cpus" haproxy -db -f "$conf" >>"$PROXY_LOG" 2>&1 & ;;
    nginx) taskset -c "$cpus" nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$conf" \
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
    printf '  %-15s %-15s skipped (%s)\n' "$target" "$workload" "${BROKEN[$target]:0:80}"
    return
  fi
  # scale-*: a second worker needs a second CPU, so everything shares both (see header).
  local proxy_cpus=$PROXY_CPU load_cpus=$LOAD_CPU
  [[ "$workload" == scale-* ]] && { proxy_cpus=$SCALE_CPUS; load_cpus=$SCALE_CPUS; }
  case "$workload" in bulk-up-*) role=sink ;; bulk-down-*) role=source ;; esac
  wait_quiet
  start_backend "$role" "$load_cpus" ||
    { record "{$head,\"status\":\"failed\",\"reason\":\"backend\"}"; return; }

  port=$BACKEND_PORT
  if [[ "$target" != direct ]]; then
    lport=$(free_port)
    if ! start_proxy "$target" "$lport" "$BACKEND_PORT" "$workload" "$proxy_cpus"; then
      BROKEN[$target]=$PROXY_ERR
      record "{$head,\"status\":\"failed\",\"reason\":\"$PROXY_ERR\"}"
      printf '  %-15s %-15s FAILED: %s\n' "$target" "$workload" "$PROXY_ERR"
      stop_backend
      return
    fi
    port=$lport
  fi

  # Open files: the proxy's limit and what it holds once listening, before any client.
  local p_nofile=0 p_fds0=0 ceil_n=0
  if [[ -n "$PROXY_PID" ]]; then p_nofile=$(nofile "$PROXY_PID"); p_fds0=$(fd_count "$PROXY_PID"); fi
  if [[ "$workload" == ceiling ]]; then
    if [[ -n "$PROXY_PID" ]]; then
      ceil_n=$(( (p_nofile - p_fds0 - CEIL_RESERVE) / 2 ))
      local cap
      cap=$(conn_cap "$target" ceiling)
      (( cap < ceil_n )) && ceil_n=$cap
    else
      ceil_n=$(( ($(ulimit -n) - 16 - CEIL_RESERVE) / 2 ))
    fi
    (( CEIL_CAP < ceil_n )) && ceil_n=$CEIL_CAP
  fi

  local args=() idle_n=0
  case "$workload" in
    short) args=(short --concurrency "$SHORT_CONC" --size 64 --duration "$DURATION" --sources 4) ;;
    keepalive) args=(keepalive --concurrency "$KA_CONC" --size "$KA_SIZE" --duration "$DURATION") ;;
    scale-short) args=(short --threads "$SCALE_THREADS" --concurrency "$SCALE_CONC" --size 64
                       --duration "$DURATION" --sources 4) ;;
    scale-keepalive) args=(keepalive --threads "$SCALE_THREADS" --concurrency "$SCALE_CONC"
                           --size "$KA_SIZE" --duration "$DURATION") ;;
    bulk-up-*) args=(bulk --direction up --concurrency "${workload##*-}" --duration "$DURATION") ;;
    bulk-down-*) args=(bulk --direction down --concurrency "${workload##*-}" --duration "$DURATION") ;;
    idle-*) idle_n=${workload#idle-}
            args=(idle --conns "$idle_n" --hold "$HOLD" --sources 16 --setup-timeout 30) ;;
    ceiling) idle_n=$ceil_n
             args=(idle --conns "$ceil_n" --hold "$HOLD" --sources "$CEIL_SOURCES"
                   --source-base "$CEIL_SOURCE_BASE" --setup-timeout 60) ;;
  esac
  (( idle_n > 0 )) && { rm -f "$ready"; args+=(--ready-file "$ready"); }

  local t0=0 t1=0 b0 b1 busy0 busy1 rss0=0 rss1=0 mem0 mem1=0 slab0 slab1=0 lg_pid status=ok i
  local p_fds1=0 lg_fds=0 lg_nofile=0 b_fds=0 b_nofile anon0=0 anon1=0 shm0=0 shm1=0
  local ours0=0 ours1=0 pcp0=0 pcp1=0
  [[ -n "$PROXY_PID" ]] && { t0=$(cpu_ticks "$PROXY_PID"); rss0=$(rss_kb "$PROXY_PID"); }
  b0=$(cpu_ticks "$BACKEND_PID"); b_nofile=$(nofile "$BACKEND_PID")
  # The anonymous memory of everything else on the machine (compilers coming and going)
  # moves MemAvailable too: AnonPages minus our own processes' RssAnon tells it apart.
  ours0=$(anon_kb $PROXY_PID "$BACKEND_PID")
  read -r mem0 anon0 shm0 slab0 pcp0 < <(meminfo)
  busy0=$(busy_ticks); local wall0=$EPOCHREALTIME
  taskset -c "$load_cpus" "$BIN/loadgen" "${args[@]}" --target "127.0.0.1:$port" \
    >"$lg_out" 2>>"$WORK/loadgen.err" &
  lg_pid=$!
  PIDS+=("$lg_pid")
  if (( idle_n > 0 )); then
    # Sample memory while every connection is open and idle (setup may take up to 60 s).
    for ((i = 0; i < 1400; i++)); do
      [[ -s "$ready" ]] && break
      kill -0 "$lg_pid" 2>/dev/null || break
      sleep 0.05
    done
    if [[ -s "$ready" ]]; then
      read -r mem1 anon1 shm1 slab1 pcp1 < <(meminfo)
      ours1=$(anon_kb $PROXY_PID "$BACKEND_PID" "$lg_pid")
      [[ -n "$PROXY_PID" ]] && { rss1=$(rss_kb "$PROXY_PID"); p_fds1=$(fd_count "$PROXY_PID"); }
      lg_fds=$(fd_count "$lg_pid"); lg_nofile=$(nofile "$lg_pid"); b_fds=$(fd_count "$BACKEND_PID")
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
\"proxy_cpus\":\"$proxy_cpus\",\"load_cpus\":\"$load_cpus\",\
\"cpu_s\":$(secs "$t0" "$t1"),\"backend_cpu_s\":$(secs "$b0" "$b1"),\"busy_cpu_s\":$(secs "$busy0" "$busy1"),\"wall_s\":$(awk -v a="$wall0" -v b="$wall1" 'BEGIN {printf "%.3f", b - a}'),\
\"rss_kb_before\":$rss0,\"rss_kb_ready\":$rss1,\"memavail_kb_before\":$mem0,\"memavail_kb_ready\":$mem1,\
\"slab_kb_before\":$slab0,\"slab_kb_ready\":$slab1,\
\"pcp_free_kb_before\":${pcp0:-0},\"pcp_free_kb_ready\":${pcp1:-0},\"anon_kb_before\":$anon0,\"anon_kb_ready\":$anon1,\"shmem_kb_before\":$shm0,\"shmem_kb_ready\":$shm1,\
\"ours_anon_kb_before\":$ours0,\"ours_anon_kb_ready\":$ours1,\
\"proxy_nofile\":$p_nofile,\"proxy_fds_before\":$p_fds0,\"proxy_fds_ready\":$p_fds1,\
\"loadgen_nofile\":$lg_nofile,\"loadgen_fds_ready\":$lg_fds,\"backend_nofile\":${b_nofile:-0},\"backend_fds_ready\":$b_fds,\
\"idle_conns\":$idle_n,\"loadgen\":$lg}"
  "$PY" perf/bench_report.py --line "$(tail -n 1 "$RESULTS")"
}

# callgrind_run TARGET: perf/callgrind.sh on the same ringlbd copy; one JSON line recorded.
callgrind_run() {
  local target=$1 out=$WORK/callgrind-$1.out line t0=$SECONDS
  echo "  callgrind $target, $CALLGRIND_CONNS connections (one at a time, under valgrind)"
  CALLGRIND_RINGLBD=$RINGLBD perf/callgrind.sh "$target" "$CALLGRIND_CONNS" \
    >"$out" 2>"$WORK/callgrind-$target.err"
  line=$(grep -m 1 '^{' "$out")
  if [[ -n "$line" ]]; then
    record "{\"callgrind\":true,\"status\":\"ok\",\"seconds\":$((SECONDS - t0)),${line#\{}"
    echo "  $(tail -n 1 "$out")"
  else
    local why
    why=$(tail -n 2 "$WORK/callgrind-$target.err" | tr '\n\t"\\' '    ' | cut -c1-200)
    record "{\"callgrind\":true,\"target\":\"$target\",\"status\":\"failed\",\"reason\":\"$why\"}"
    echo "  callgrind $target FAILED: $why"
  fi
}

# ---- the run -----------------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)" 2>/dev/null
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
json_list() { local x out=""; for x in "$@"; do out+="${out:+,}\"$x\""; done; echo "[$out]"; }
{
  echo "{\"meta\":true,\"date\":\"$(date -u '+%Y-%m-%d %H:%M:%S UTC')\","
  echo "\"command\":\"$(printf '%s ' "BENCH_QUICK=$QUICK BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$DURATION BENCH_IDLE='${IDLE_SIZES[*]}' BENCH_HOLD=$HOLD BENCH_WORKLOADS='${WORKLOADS[*]}' BENCH_TARGETS='${TARGETS[*]}' BENCH_CALLGRIND=$CALLGRIND" perf/bench.sh)\","
  echo "\"kernel\":\"$(uname -r)\",\"cpu\":\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\",\"cpus\":$(nproc),"
  echo "\"haproxy\":\"$(haproxy -v 2>/dev/null | head -n 1)\",\"nginx\":\"$(nginx -v 2>&1 | head -n 1)\","
  echo "\"ringlbd\":\"$( [[ -x $RINGLBD ]] && echo "$("$RINGLBD" --version 2>/dev/null | head -n 1), sha256 $(sha256sum "$RINGLBD" | cut -c1-12), built $(date -u -r "${RINGLBD_SRC:-$RINGLBD}" '+%Y-%m-%d %H:%M UTC')" || echo 'not built')\","
  echo "\"rounds\":$ROUNDS,\"duration_s\":$DURATION,\"hold_s\":$HOLD,"
  echo "\"workloads\":$(json_list "${WORKLOADS[@]}"),\"targets\":$(json_list "${TARGETS[@]}"),"
  echo "\"short\":\"$SHORT_CONC connections at once, 64 B request echoed, then close\","
  echo "\"keepalive\":\"$KA_CONC connections, $KA_SIZE B request/response in a loop\","
  echo "\"scale_short\":\"$SCALE_CONC connections at once from $SCALE_THREADS loadgen threads, 64 B echoed, then close\","
  echo "\"scale_keepalive\":\"$SCALE_CONC connections from $SCALE_THREADS loadgen threads, $KA_SIZE B request/response in a loop\","
  echo "\"scale_cpus\":\"$SCALE_CPUS\",\"scale_threads\":$SCALE_THREADS,\"bulk\":\"64 KiB writes\","
  echo "\"ceiling_reserve\":$CEIL_RESERVE,\"ceiling_sources\":\"$CEIL_SOURCES addresses from $CEIL_SOURCE_BASE\","
  echo "\"proxy_cpu\":$PROXY_CPU,\"load_cpu\":$LOAD_CPU,\"nofile\":$(ulimit -n),\"nofile_hard\":$(ulimit -Hn),"
  echo "\"nr_open\":$(cat /proc/sys/fs/nr_open),\"mem_total_kb\":$(mem_kb MemTotal),"
  echo "\"loadavg_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
} | tr -d '\n' >"$WORK/meta.json"
echo >>"$WORK/meta.json"
cat "$WORK/meta.json" >>"$RESULTS"

echo "bench: ${#TARGETS[@]} targets, workloads ${WORKLOADS[*]}; $ROUNDS rounds," \
     "${DURATION}s each; proxy on CPU $PROXY_CPU, load on CPU $LOAD_CPU (scale-*: all on" \
     "$SCALE_CPUS); work dir $WORK"
for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round/$ROUNDS"
  for workload in "${WORKLOADS[@]}"; do
    run_targets=()
    for target in "${TARGETS[@]}"; do
      applies "$target" "$workload" && run_targets+=("$target")
    done
    # Rotate the target order each round so no target always runs first.
    n=${#run_targets[@]}
    for ((k = 0; k < n; k++)); do
      measure "$round" "${run_targets[$(( (k + round - 1) % n ))]}" "$workload"
    done
  done
done

if [[ "$CALLGRIND" != 0 ]]; then
  echo "== callgrind (user-space instructions per forwarded connection)"
  for target in "${CALLGRIND_TARGETS[@]}"; do callgrind_run "$target"; done
fi

echo "{\"meta_end\":true,\"loadavg_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"seconds\":$SECONDS}" >>"$RESULTS"
cp "$RESULTS" "$OUT/bench-$STAMP.jsonl" && BENCH_DONE=1
echo
"$PY" perf/bench_report.py "$RESULTS" | tee "$OUT/bench-$STAMP.md"
echo
echo "bench: took $((SECONDS / 60)) min $((SECONDS % 60)) s; raw results $OUT/bench-$STAMP.jsonl, table $OUT/bench-$STAMP.md"
