"""Opens N connections through the balancer and counts which backend answered.

Usage: ask.py PORT COUNT [HOST]
"""
import collections
import socket
import sys

port, count = int(sys.argv[1]), int(sys.argv[2])
host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
seen = collections.Counter()
failed = 0
held = []
for _ in range(count):
    try:
        conn = socket.create_connection((host, port), timeout=5)
        name = conn.makefile().readline().strip()
        seen[name or "(closed)"] += 1
        held.append(conn)  # keep it open so leastconn spreads the next ones
    except OSError as error:
        failed += 1
        print(f"  connection failed: {error}")
for conn in held:
    conn.close()
for name, n in sorted(seen.items()):
    print(f"  {name:10s} {'#' * n} {n}")
print(f"  {count - failed}/{count} connections served, {failed} failed")
