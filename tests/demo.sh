#!/usr/bin/env bash
# make demo: as root, the balancer pair with VIP failover in network namespaces
# (tests/demo_netns.sh); otherwise ringlbd balancing real backends on this machine
# and a backend failing without clients noticing. Everything runs on 127.0.0.1 and
# is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
work=$(mktemp -d /tmp/ringlb-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [[ $(id -u) -eq 0 ]] && ip netns list >/dev/null 2>&1; then
  exec tests/demo_netns.sh
fi
echo "== ringlb demo (loopback)"
if [[ $(id -u) -ne 0 ]]; then
  echo "   (not root: the balancer-pair demo needs network namespaces and VRRP's raw sockets;"
  echo "    this one shows the balancer and a backend failing, on 127.0.0.1)"
else
  echo "   (ip netns is unavailable here: showing the balancer on 127.0.0.1 instead)"
fi
listen_port=$(free_port)
ports=()
for name in alpha beta gamma; do
  port=$(free_port)
  ports+=("$port")
  "$PY" tests/demo/named_backend.py "$name" "$port" 120 &
  pids+=($!)
done
cat > "$work/ringlb.conf" <<CONF
[global]
workers = 2
control_socket = $work/ringlbd.sock
log_level = info

[listener.demo]
bind = 127.0.0.1:$listen_port
scheduler = leastconn
backend = 127.0.0.1:${ports[0]}
backend = 127.0.0.1:${ports[1]}
backend = 127.0.0.1:${ports[2]}
connect_timeout = 1s
retries = 2
CONF
echo "-- config ($work/ringlb.conf):"
sed 's/^/   /' "$work/ringlb.conf"
build/ringlbd --check -c "$work/ringlb.conf"
build/ringlbd -c "$work/ringlb.conf" 2> "$work/ringlbd.log" &
daemon=$!
pids+=("$daemon")
for _ in $(seq 50); do
  "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $listen_port), timeout=1).close()" 2>/dev/null && break
  sleep 0.1
done

echo "-- 30 connections held open through 127.0.0.1:$listen_port (leastconn spreads them):"
"$PY" tests/demo/ask.py "$listen_port" 30

echo "-- backend beta (port ${ports[1]}) dies; 30 more connections:"
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
"$PY" tests/demo/ask.py "$listen_port" 30

echo "-- SIGTERM: ringlbd stops gracefully"
kill -TERM "$daemon"
wait "$daemon" && echo "   ringlbd exited 0"
echo "-- ringlbd log:"
sed 's/^/   /' "$work/ringlbd.log"
