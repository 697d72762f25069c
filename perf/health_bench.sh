#!/usr/bin/env bash
# Health-check cost: 1,000 real listening sockets on 127.0.0.1, every one checked
# every second by build/ringlbd, CPU of its health-check thread measured from
# /proc/PID/task/TID. Options go to perf/health_bench.py (--check tcp|http|both,
# --backends N, --interval 1s, --seconds S, --haproxy for the same checks by HAProxy).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/ringlbd ]] || make -j2 build/ringlbd
exec /usr/bin/python3 perf/health_bench.py "$@"
