"""A client that keeps connecting: every INTERVAL seconds for SECONDS, one connection
to HOST:PORT, printing which backend answered or why it failed.

Usage: watch.py HOST PORT SECONDS INTERVAL
"""
import socket
import sys
import time

host, port, seconds, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
start = time.monotonic()
served = failed = 0
while time.monotonic() - start < seconds:
    t = time.monotonic() - start
    try:
        with socket.create_connection((host, port), timeout=1) as conn:
            name = conn.makefile().readline().strip()
        print(f"  +{t:5.2f}s  served by {name}", flush=True)
        served += 1
    except OSError as error:
        print(f"  +{t:5.2f}s  failed: {error.__class__.__name__}", flush=True)
        failed += 1
    time.sleep(interval)
print(f"  {served} served, {failed} failed", flush=True)
