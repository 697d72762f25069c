#!/usr/bin/env bash
# The balancer pair, for real, on this machine: network namespaces for two
# balancers running ringlbd with VRRP, three backends and a client, joined by a
# bridge (10.99.60.0/24, only inside the namespaces made here). Shows connections
# spread across the backends through the VIP, kills the master with SIGKILL, and
# shows the VIP moving to the backup while the client carries on. Everything it
# creates is removed on exit. Root only; tests/demo.sh decides.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
tag="rlbdemo$$"
work=$(mktemp -d /tmp/ringlb-demo.XXXXXX)
VIP=10.99.60.100
declare -A ADDR=([sw]=10.99.60.50 [lb1]=10.99.60.11 [lb2]=10.99.60.12
                 [be1]=10.99.60.21 [be2]=10.99.60.22 [be3]=10.99.60.23)
hosts=(lb1 lb2 be1 be2 be3)
ns() { echo "$tag-$1"; }
in_ns() { local host=$1; shift; ip netns exec "$(ns "$host")" "$@"; }

cleanup() {
  set +e
  exec 2>/dev/null   # bash's "Killed" job notices are noise here
  for host in sw "${hosts[@]}"; do
    for pid in $(ip netns pids "$(ns "$host")" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$(ns "$host")" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== ringlb demo: a balancer pair in network namespaces"
ip netns add "$(ns sw)"
in_ns sw ip link set lo up
in_ns sw ip link add br0 type bridge
in_ns sw ip link set br0 type bridge stp_state 0 mcast_snooping 0
in_ns sw ip addr add "${ADDR[sw]}/24" dev br0
in_ns sw ip link set br0 up
for host in "${hosts[@]}"; do
  ip netns add "$(ns "$host")"
  in_ns "$host" ip link set lo up
  ip link add eth0 netns "$(ns "$host")" type veth peer name "p-$host" netns "$(ns sw)"
  in_ns sw ip link set "p-$host" master br0
  in_ns sw ip link set "p-$host" up
  in_ns "$host" ip addr add "${ADDR[$host]}/24" dev eth0
  in_ns "$host" ip link set eth0 up
done
echo "-- hosts: client ${ADDR[sw]}, balancers ${ADDR[lb1]} (priority 150) and ${ADDR[lb2]} (priority 100),"
echo "   backends ${ADDR[be1]} ${ADDR[be2]} ${ADDR[be3]}; VIP $VIP"

names=(alpha beta gamma)
for i in 1 2 3; do
  (in_ns "be$i" "$PY" tests/demo/named_backend.py "${names[$((i - 1))]}" 8080 120 "${ADDR[be$i]}" &)
done

for lb in lb1 lb2; do
  priority=$([[ $lb == lb1 ]] && echo 150 || echo 100)
  cat > "$work/$lb.conf" <<CONF
[global]
workers = 1
control_socket = $work/$lb.sock
log_level = info

[listener.web]
bind = $VIP:80
scheduler = leastconn
backend = ${ADDR[be1]}:8080
backend = ${ADDR[be2]}:8080
backend = ${ADDR[be3]}:8080
connect_timeout = 1s

[vrrp.vip1]
interface = eth0
vrid = 60
priority = $priority
advert_interval = 100ms
vip = $VIP/24
CONF
  # Not through in_ns: $! must be ringlbd itself (ip netns exec execs it).
  ip netns exec "$(ns "$lb")" build/ringlbd -c "$work/$lb.conf" --state-file "$work/$lb.vips" 2> "$work/$lb.log" &
  echo $! > "$work/$lb.pid"
done

has_vip() { in_ns "$1" ip -4 -o addr show dev eth0 | grep -q " $VIP/"; }
holder() {
  local who=""
  for lb in lb1 lb2; do has_vip "$lb" && who+="$lb "; done
  echo "${who:-none}"
}
for _ in $(seq 100); do has_vip lb1 && break; sleep 0.05; done
echo "-- the VIP is on: $(holder)"
for _ in $(seq 50); do
  in_ns sw "$PY" -c "import socket; socket.create_connection(('$VIP', 80), timeout=1).close()" 2>/dev/null && break
  sleep 0.1
done

echo "-- 30 connections held open through $VIP:80 (leastconn spreads them):"
in_ns sw "$PY" tests/demo/ask.py 80 30 "$VIP"

echo "-- a client connecting every 100 ms; after 1 s the master (lb1) is killed with SIGKILL:"
in_ns sw "$PY" tests/demo/watch.py "$VIP" 80 3 0.1 &
watcher=$!
sleep 1
killed_at=$(date +%s.%N)
kill -9 "$(cat "$work/lb1.pid")"
wait "$(cat "$work/lb1.pid")" 2>/dev/null || true
for _ in $(seq 300); do has_vip lb2 && break; sleep 0.01; done
moved_at=$(date +%s.%N)
wait "$watcher"
echo "-- lb2 took the VIP $("$PY" -c "print(round(($moved_at - $killed_at) * 1000))") ms after the kill"
echo "   (Master_Down_Interval = 3 × 100 ms + skew; its gratuitous ARP moves the client over)."
echo "   ringlb is a full proxy: connections open through lb1 ended with it; new ones land on lb2."
echo "-- the VIP is now configured on: $(holder)(a killed daemon cannot remove it)"

echo "-- ringlbd --release on lb1 (what systemd's ExecStopPost does after a crash):"
in_ns lb1 build/ringlbd --release -c "$work/lb1.conf" --state-file "$work/lb1.vips" 2>&1 | sed 's/^/   /' || true
echo "-- the VIP is now configured on: $(holder)"

echo "-- ringlbctl vrrp status on lb2:"
in_ns lb2 build/ringlbctl --socket "$work/lb2.sock" vrrp status 2>&1 | sed 's/^/   /' || true
echo "-- ringlbctl status on lb2:"
in_ns lb2 build/ringlbctl --socket "$work/lb2.sock" status 2>&1 | sed 's/^/   /' || true
echo "-- lb2 log:"
grep -E "vrrp|listener" "$work/lb2.log" | sed 's/^/   /'
echo "-- removing the namespaces"
