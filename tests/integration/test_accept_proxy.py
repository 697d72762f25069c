"""accept_proxy against the real ringlbd, with real PROXY senders in front: nginx
(stream, `proxy_protocol on`, v1) and HAProxy (`send-proxy-v2`), and raw headers for
what they never send. The backend hears of the original client through ringlbd's own
onward PROXY header; the access log, source-hash and per-source limits use the carried
address; a header from outside accept_proxy_from, and truncated, oversized, slow and
malformed ones are closed and counted by reason."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import harness
from test_source_limits import ctl, listener, metrics, sock_of, stats, wait_until  # noqa: F401


def header_handler(server, conn, record):
    """Answers with the PROXY line ringlbd sent (v1), then holds until EOF."""
    line = harness.recv_line(conn)
    record["header"] = line.decode().strip()
    conn.sendall(line)
    record["bytes_in"] = harness.recv_all(conn)


def through(port: int, header: bytes, source: str = "127.0.0.1", payload: bytes = b"") -> str:
    """Sends header (+ payload) to ringlbd from source; returns what the backend echoed
    ("PROXY TCP4 ..."), "reset" or "eof"."""
    s = socket.socket()
    s.settimeout(10)
    try:
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(header + payload)
        return harness.recv_line(s).decode().strip()
    except ConnectionResetError:
        return "reset"
    except EOFError:
        return "eof"
    finally:
        s.close()


def v1(client: str, cport: int = 40000) -> bytes:
    return f"PROXY TCP4 {client} 127.0.0.1 {cport} 80\r\n".encode()


def rejected(sock, reason: str) -> int:
    return stats(sock)["proxy_rejected"][reason]


def test_raw_headers_carry_the_client_to_the_backend_the_log_and_the_per_source_limit(
        servers, ringlbd, sock_of, tmp_path):
    backend = servers(header_handler, "b1")
    port, metrics_port = harness.free_port(), harness.free_port()
    log = tmp_path / "access.log"
    daemon = ringlbd(listener(port, [backend.addr], accept_proxy="any", accept_proxy_from="127.0.0.1",
                              proxy_protocol="v1", max_conn_per_source=1, deny="203.0.113.66"),
                     metrics=f"127.0.0.1:{metrics_port}", access_log=str(log))
    sock = sock_of(daemon)

    # The client named in the header is the client; bytes after the header reach the backend.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(v1("203.0.113.7") + b"hello")
    assert harness.recv_line(s).decode().startswith("PROXY TCP4 203.0.113.7 127.0.0.1 40000 ")
    # max_conn_per_source = 1 counts 203.0.113.7, not the balancer 127.0.0.1.
    assert through(port, v1("203.0.113.7", 40001)) == "reset"
    assert through(port, v1("203.0.113.8")).startswith("PROXY TCP4 203.0.113.8 ")
    # deny applies to the carried address too.
    assert through(port, v1("203.0.113.66")) == "reset"
    s.close()
    web = stats(sock)
    assert web["rejected_conn_limit"] == 1 and web["denied"] == 1
    wait_until(lambda: backend.records and backend.records[0].get("bytes_in") == 5, "the payload after the header")
    wait_until(lambda: log.exists() and "203.0.113.7" in log.read_text(), "the access log line")

    # Only balancers in accept_proxy_from may speak for a client.
    assert through(port, v1("203.0.113.9"), source="127.0.0.2") == "reset"
    assert rejected(sock, "untrusted") == 1
    assert daemon.wait_log(r"127\.0\.0\.2 is not in accept_proxy_from")
    # Malformed, truncated (EOF mid-header), oversized: closed, each counted by reason.
    assert through(port, b"GET / HTTP/1.0\r\n\r\n") in ("reset", "eof")
    assert rejected(sock, "invalid") == 1
    t = socket.create_connection(("127.0.0.1", port), timeout=10)
    t.sendall(v1("203.0.113.10")[:15])
    t.shutdown(socket.SHUT_WR)
    with pytest.raises((ConnectionResetError, EOFError)):
        harness.recv_line(t)
    t.close()
    wait_until(lambda: rejected(sock, "truncated") == 1, "the truncated header to be counted")
    assert through(port, b"PROXY TCP4 " + b"1" * 200) in ("reset", "eof")
    assert rejected(sock, "oversized") == 1
    samples = metrics(metrics_port)
    assert samples['ringlb_proxy_rejected_total{listener="web",reason="invalid"}'] == 1
    assert samples['ringlb_proxy_rejected_total{listener="web",reason="untrusted"}'] == 1


def test_a_header_that_does_not_arrive_whole_within_the_timeout_is_closed_and_counted(servers, ringlbd, sock_of):
    backend = servers(header_handler, "b1")
    port = harness.free_port()
    daemon = ringlbd(listener(port, [backend.addr], accept_proxy="v1", accept_proxy_from="127.0.0.0/8",
                              accept_proxy_timeout="1s", proxy_protocol="v1"))
    sock = sock_of(daemon)
    # The daemon's timeout runs from its accept, which may come before create_connection
    # returns: measured from before the connect. Its clock is read in whole milliseconds,
    # so "not before the timeout" is allowed 10 ms of rounding (TSan CI saw 0.9997 s when
    # measured from after the connect).
    began = time.monotonic()
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow.sendall(v1("203.0.113.11")[:20])   # half a header, then nothing
    with pytest.raises((ConnectionResetError, EOFError)):
        harness.recv_line(slow)
    took = time.monotonic() - began
    slow.close()
    assert took >= 0.99, took
    assert rejected(sock, "timeout") == 1
    # v2 on a v1-only listener: the wrong version.
    v2 = bytes.fromhex("0d0a0d0a000d0a515549540a") + bytes([0x21, 0x11, 0, 12]) + bytes(12)
    assert through(port, v2) in ("reset", "eof")
    assert rejected(sock, "version") == 1
    assert backend.accepted == 0


def test_source_hash_follows_the_carried_client(servers, ringlbd):
    b1, b2 = servers(header_handler, "b1"), servers(header_handler, "b2")
    port = harness.free_port()
    ringlbd(listener(port, [b1.addr, b2.addr], scheduler="source-hash", accept_proxy="v1",
                     accept_proxy_from="127.0.0.1", proxy_protocol="v1"))
    # Each client always lands on the same backend, and clients spread over both:
    # with the balancer's address hashed, all of them would share one.
    landed = {}
    for i in range(40):
        client = f"198.51.100.{i}"
        for _ in range(2):
            before = (b1.accepted, b2.accepted)
            assert through(port, v1(client)).startswith(f"PROXY TCP4 {client} ")
            after = (b1.accepted, b2.accepted)
            name = "b1" if after[0] > before[0] else "b2"
            assert landed.setdefault(client, name) == name, client
    assert set(landed.values()) == {"b1", "b2"}


# ------------------------------------------------------------- nginx and HAProxy in front


def start_front(tmp_path: Path, kind: str, listen_port: int, ringlb_port: int) -> subprocess.Popen:
    if kind == "nginx":
        module = "/usr/lib/nginx/modules/ngx_stream_module.so"
        conf = tmp_path / "nginx.conf"
        conf.write_text(f"""load_module {module};
daemon off; master_process off; worker_processes 1;
pid {tmp_path}/nginx.pid; error_log {tmp_path}/nginx.err info;
events {{ worker_connections 64; }}
stream {{ server {{ listen 127.0.0.1:{listen_port}; proxy_pass 127.0.0.1:{ringlb_port}; proxy_protocol on; }} }}
""")
        args = ["nginx", "-p", str(tmp_path), "-c", str(conf)]
    else:
        conf = tmp_path / "haproxy.cfg"
        conf.write_text(f"""global
  maxconn 64
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend front
  bind 127.0.0.1:{listen_port}
  default_backend ringlb
backend ringlb
  server r 127.0.0.1:{ringlb_port} send-proxy-v2
""")
        args = ["haproxy", "-db", "-f", str(conf)]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("front,mode", [("nginx", "v1"), ("haproxy", "v2")])
def test_a_real_balancer_in_front_passes_the_client_to_the_backend_and_the_log(
        front, mode, servers, ringlbd, sock_of, tmp_path):
    if shutil.which(front) is None:
        pytest.skip(f"{front} is not installed (tests/install-deps.sh test)")
    backend = servers(header_handler, "b1")
    port, front_port = harness.free_port(), harness.free_port()
    log = tmp_path / "access.log"
    daemon = ringlbd(listener(port, [backend.addr], accept_proxy=mode, accept_proxy_from="127.0.0.1",
                              proxy_protocol="v1"), access_log=str(log))
    sock = sock_of(daemon)
    proc = start_front(tmp_path, front, front_port, port)
    try:
        deadline = time.monotonic() + 10
        answer = None
        while answer is None:
            try:
                answer = through(front_port, b"", source="127.0.0.77", payload=b"hi")
            except ConnectionRefusedError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        # The client is 127.0.0.77, which connected to the front balancer; ringlbd was
        # reached from 127.0.0.1 and still tells the backend the client's address.
        assert answer.startswith("PROXY TCP4 127.0.0.77 "), answer
        wait_until(lambda: log.exists() and "127.0.0.77" in log.read_text(), "the access log line")
        # The same balancer's address is not trusted on a listener whose list lacks it.
        assert sum(stats(sock)["proxy_rejected"].values()) == 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
