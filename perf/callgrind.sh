#!/usr/bin/env bash
# perf/callgrind.sh — user-space instructions per forwarded short connection, counted by
# valgrind --tool=callgrind: (Ir of a run with N connections − Ir of an idle start/stop
# run) / N. Kernel work (syscalls, io_uring, TCP) is not counted: compare with care.
#
# Usage: perf/callgrind.sh [ringlbd|haproxy|nginx] [CONNECTIONS]   (default ringlbd 2000)
#   CALLGRIND_SPLICE=auto|always|never   ringlbd's splice mode (default auto)
#   CALLGRIND_LISTENER_EXTRA=FILE       ringlbd: lines appended to its listener section
#   CALLGRIND_KEEP=1                     keep the callgrind.out files (callgrind_annotate)
#   CALLGRIND_RINGLBD=PATH               the ringlbd binary (default build/ringlbd; perf/bench.sh
#                                        passes the copy its own measurements used)
set -uo pipefail
cd "$(dirname "$0")/.."

TARGET=${1:-ringlbd}
CONNS=${2:-2000}
SPLICE=${CALLGRIND_SPLICE:-auto}
BIN=build/perf
RINGLBD=${CALLGRIND_RINGLBD:-build/ringlbd}

command -v valgrind >/dev/null || { echo "callgrind: valgrind missing (make deps-bench)" >&2; exit 1; }
for tool in loadgen bench_backend; do
  [[ -x $BIN/$tool ]] || { echo "callgrind: $BIN/$tool missing — run make first" >&2; exit 1; }
done
[[ "$CONNS" =~ ^[0-9]+$ && "$CONNS" -ge 1 && "$CONNS" -le 1000000 ]] ||
  { echo "callgrind: CONNECTIONS must be 1..1000000" >&2; exit 2; }
case "$TARGET" in
  ringlbd) [[ -x $RINGLBD ]] || { echo "callgrind: $RINGLBD not built" >&2; exit 1; } ;;
  haproxy|nginx) command -v "$TARGET" >/dev/null || { echo "callgrind: $TARGET missing" >&2; exit 1; } ;;
  *) echo "usage: perf/callgrind.sh [ringlbd|haproxy|nginx] [CONNECTIONS]" >&2; exit 2 ;;
esac

WORK=$(mktemp -d /tmp/ringlb-callgrind.XXXXXX)
# Both runs use one copy of the binary, even if build/ringlbd is rebuilt meanwhile.
if [[ "$TARGET" == ringlbd ]]; then cp "$RINGLBD" "$WORK/ringlbd" && RINGLBD=$WORK/ringlbd; fi
PIDS=()
stop_pid() {  # TERM, wait up to 10 s, then KILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}
cleanup() {
  local p
  for p in ${PIDS[@]+"${PIDS[@]}"}; do stop_pid "$p"; done
  if [[ "${CALLGRIND_KEEP:-0}" == 1 ]]; then echo "callgrind: files kept in $WORK" >&2
  else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The counts are taken with `callgrind_control --dump` (through vgdb, which also reaches a
# process whose threads all sit in blocking syscalls) rather than at exit: under
# valgrind 3.19 ringlbd's worker sat in io_cqring_wait holding valgrind's big lock, so
# the signal thread never ran and SIGTERM was never acted on (same symptom as liburing
# issue #657). The dump covers start-up plus the connections, never the shutdown; then
# the process is killed.
listening() {
  grep -q " $(printf '0100007F:%04X' "$1") 00000000:0000 0A " /proc/net/tcp
}

"$BIN/bench_backend" --echo-port 0 --max-seconds 1800 >"$WORK/backend.out" 2>/dev/null &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do
  BPORT=$(sed -n 's/.*"echo":\([0-9]*\).*/\1/p' "$WORK/backend.out")
  [[ -n "$BPORT" ]] && break
  sleep 0.05
done
[[ -n "${BPORT:-}" ]] || { echo "callgrind: backend did not start" >&2; exit 1; }

write_config() {  # write_config LISTEN_PORT -> config path
  local lport=$1
  case "$TARGET" in
    ringlbd) cat >"$WORK/ringlbd.conf" <<EOF
[global]
workers = 1
control_socket = $WORK/ringlbd.sock
log_level = warn

[listener.bench]
bind = 127.0.0.1:$lport
scheduler = leastconn
backend = 127.0.0.1:$BPORT
splice = $SPLICE
idle_timeout = 1h
EOF
      # Extra [listener.bench] lines (allow/deny lists, keepalive...) to price a feature.
      [[ -n "${CALLGRIND_LISTENER_EXTRA:-}" ]] && cat "$CALLGRIND_LISTENER_EXTRA" >>"$WORK/ringlbd.conf"
      echo "$WORK/ringlbd.conf" ;;
    haproxy) cat >"$WORK/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 1000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    option splice-auto
frontend bench
    bind 127.0.0.1:$lport
    default_backend bench
backend bench
    server b1 127.0.0.1:$BPORT
EOF
      echo "$WORK/haproxy.cfg" ;;
    nginx) cat >"$WORK/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 2000; }
stream {
    server {
        listen 127.0.0.1:$lport;
        proxy_pass 127.0.0.1:$BPORT;
        proxy_timeout 1h;
    }
}
EOF
      echo "$WORK/nginx.conf" ;;
  esac
}

# run_once NAME CONNS -> sets RUN_IR (total Ir); CONNS 0 = start, wait until listening, stop.
# Runs in this shell, not a subshell, so the EXIT trap still knows every PID.
run_once() {
  local name=$1 conns=$2 lport conf pid out=$WORK/$1.callgrind i ir=""
  lport=$("$BIN/bench_backend" --free-ports 1)
  conf=$(write_config "$lport")
  local cmd=()
  case "$TARGET" in
    ringlbd) cmd=("$RINGLBD" -c "$conf") ;;
    haproxy) cmd=(haproxy -db -f "$conf") ;;
    nginx) cmd=(nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$conf") ;;
  esac
  valgrind --tool=callgrind --vgdb-prefix="$WORK/vgdb" --callgrind-out-file="$out" "${cmd[@]}" \
    >"$WORK/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for ((i = 0; i < 1200; i++)); do   # valgrind starts slowly: up to 60 s
    listening "$lport" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! listening "$lport"; then
    echo "callgrind: $TARGET did not listen under valgrind; log:" >&2
    tail -n 5 "$WORK/$name.log" >&2
    stop_pid "$pid"
    return 1
  fi
  if (( conns > 0 )); then
    # One connection at a time: valgrind serialises everything anyway.
    "$BIN/loadgen" short --target "127.0.0.1:$lport" --concurrency 1 --max-ops "$conns" \
      --duration 600 --timeout 30 >"$WORK/$name.loadgen" 2>&1
  fi
  timeout 60 callgrind_control --vgdb-prefix="$WORK/vgdb" --dump "$pid" >"$WORK/$name.control" 2>&1
  for ((i = 0; i < 600; i++)); do   # the dump is written asynchronously
    ir=$(awk '/^totals:/ {print $2; exit}' "$out.1" 2>/dev/null)
    [[ -n "$ir" ]] && break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [[ -n "$ir" ]] || { echo "callgrind: no dump in $out.1" >&2; tail -n 5 "$WORK/$name.log" "$WORK/$name.control" >&2; return 1; }
  RUN_IR=$ir
}

echo "callgrind: $TARGET, $CONNS short connections (64 B echo), one at a time" >&2
run_once idle 0 || exit 1
IDLE_IR=$RUN_IR
run_once load "$CONNS" || exit 1
LOAD_IR=$RUN_IR
LOADGEN=$(tail -n 1 "$WORK/load.loadgen")
DONE=$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' <<<"$LOADGEN")
ERRORS=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$LOADGEN")
[[ -n "$DONE" && "$DONE" -gt 0 ]] || { echo "callgrind: no connection completed: $LOADGEN" >&2; exit 1; }
PER=$(( (LOAD_IR - IDLE_IR) / DONE ))
case "$TARGET" in
  ringlbd) VERSION="$("$RINGLBD" --version | head -n 1), sha256 $(sha256sum "$RINGLBD" | cut -c1-12)" ;;
  haproxy) VERSION=$(haproxy -v | head -n 1 | cut -d' ' -f1-3) ;;
  nginx) VERSION=$(nginx -v 2>&1 | head -n 1) ;;
esac
echo "{\"target\":\"$TARGET\",\"version\":\"$VERSION\",\"splice\":\"$([[ $TARGET == ringlbd ]] && echo "$SPLICE" || echo n/a)\",\"connections\":$DONE,\"errors\":$ERRORS,\"ir_idle\":$IDLE_IR,\"ir_load\":$LOAD_IR,\"ir_per_connection\":$PER}"
echo "$TARGET: $PER instructions (user space) per forwarded connection" \
     "($LOAD_IR − $IDLE_IR Ir over $DONE connections, $ERRORS errors)"
