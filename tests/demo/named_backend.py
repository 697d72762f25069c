"""A demo backend: answers every connection with its own name, then echoes.

Usage: named_backend.py NAME PORT MAX_SECONDS [HOST]  (exits by itself after MAX_SECONDS)
"""
import socket
import sys
import threading
import time

name, port, max_seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
host = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen(256)
server.settimeout(0.2)


def serve(conn):
    with conn:
        try:
            conn.sendall(name.encode() + b"\n")
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)
        except OSError:
            return  # the client (or the balancer in front of it) went away


deadline = time.monotonic() + max_seconds
while time.monotonic() < deadline:
    try:
        conn, _ = server.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
