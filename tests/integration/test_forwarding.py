"""Byte-exact forwarding through the real ringlbd: bulk in every splice mode, the
copy → splice switch mid-stream, many concurrent connections, half-close and reset
propagation."""
from __future__ import annotations

import hashlib
import random
import selectors
import socket
import struct
import threading
import time

import pytest

import harness
from harness import MIB

SPLICE_MODES = ["never", "always", "auto"]


def one_listener(port, backends, **keys):
    return {"t": {"bind": f"127.0.0.1:{port}", "backends": backends, **keys}}


@pytest.mark.parametrize("splice", SPLICE_MODES)
def test_64_mib_each_way_arrive_byte_exact(splice, servers, ringlbd):
    backend = servers(harness.source_sink_handler, "sink")
    port = harness.free_port()
    daemon = ringlbd(one_listener(port, [backend.addr], splice=splice))

    with harness.PipeWatcher(daemon.pid) as pipes:
        client = harness.bulk_exchange(port, up=64 * MIB, down=64 * MIB, timeout=60)

    (record,) = backend.wait_records(1, timeout=30)
    assert "error" not in record, record
    assert record["tx_errors"] == [] and record["tx_finished"]
    assert record["rx_len"] == client["tx_len"] == 64 * MIB
    assert record["rx_sha"] == client["tx_sha"], "client → backend bytes differ"
    assert client["rx_len"] == record["tx_len"] == 64 * MIB
    assert client["rx_sha"] == record["tx_sha"], "backend → client bytes differ"
    # The mode really is the one configured: splice moves bytes through pipes, copy never does.
    if splice == "never":
        assert pipes.max_pipes == 0, f"splice = never, yet ringlbd held {pipes.max_pipes} pipes"
    else:
        assert pipes.max_pipes > 0, f"splice = {splice}: 64 MiB went through without a pipe, so never spliced"


def test_small_messages_then_bulk_then_small_keep_every_byte_in_order(servers, ringlbd):
    backend = servers(harness.echo_handler, "echo")
    port = harness.free_port()
    daemon = ringlbd(one_listener(port, [backend.addr], splice="auto"))
    rng = random.Random(7)
    sent = hashlib.sha256()
    received = hashlib.sha256()
    sent_len = 0

    def exchanges(s, first, count):
        nonlocal sent_len
        for i in range(first, first + count):
            msg = f"msg {i:06d} ".encode() + rng.randbytes(rng.randint(1, 300))
            s.sendall(msg)
            sent.update(msg)
            sent_len += len(msg)
            echoed = harness.recv_exact(s, len(msg))
            received.update(echoed)
            assert echoed == msg, f"exchange {i}: sent {msg[:20]!r}..., got {echoed[:20]!r}..."

    with harness.connect(port, timeout=60) as s:
        with harness.PipeWatcher(daemon.pid) as pipes:
            exchanges(s, 0, 2000)
        assert pipes.max_pipes == 0, "small messages should be copied, not spliced (no pipe)"

        # Bulk both ways at once: sustained full buffers make each direction switch to splice.
        bulk = 64 * MIB
        bulk_sent, bulk_back = hashlib.sha256(), hashlib.sha256()
        errors = []

        class Both:  # the sender feeds the whole-stream checksum and the bulk-only one
            def update(self, data):
                sent.update(data)
                bulk_sent.update(data)

        def sender():
            try:
                harness.send_random(s, bulk, Both(), seed=11, chunk=256 * 1024)
            except OSError as error:
                errors.append(repr(error))

        with harness.PipeWatcher(daemon.pid) as pipes:
            t = threading.Thread(target=sender, daemon=True)
            t.start()
            got = 0
            while got < bulk:
                chunk = s.recv(min(bulk - got, 1 << 20))
                assert chunk, f"EOF after {got} bulk bytes"
                bulk_back.update(chunk)
                received.update(chunk)
                got += len(chunk)
            t.join(timeout=60)
        assert not errors and not t.is_alive(), errors
        sent_len += bulk
        assert pipes.max_pipes > 0, "64 MiB of bulk never switched auto mode to splice (no pipe used)"
        assert bulk_back.hexdigest() == bulk_sent.hexdigest(), "bulk bytes came back different or out of order"

        exchanges(s, 2000, 500)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(1) == b"", "expected EOF after the echo server saw ours"

    (record,) = backend.wait_records(1, timeout=10)
    assert "error" not in record, record
    assert record["rx_len"] == sent_len
    assert record["rx_sha"] == sent.hexdigest(), "the backend received a different stream than the client sent"
    assert received.hexdigest() == sent.hexdigest()


def test_1000_concurrent_connections_all_complete(echo_server, ringlbd):
    port = harness.free_port()
    ringlbd(one_listener(port, [echo_server.addr]))
    count = 1000
    rng = random.Random(3)
    payloads = [f"connection {i:04d} ".encode() + rng.randbytes(rng.randint(16, 2048)) for i in range(count)]
    sel = selectors.DefaultSelector()
    socks, got = [], [bytearray() for _ in range(count)]
    deadline = time.monotonic() + 60
    try:
        for i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, i)
        to_send = {i: memoryview(payloads[i]) for i in range(count)}
        complete = set()
        failed = {}
        while len(complete) + len(failed) < count and time.monotonic() < deadline:
            for key, events in sel.select(timeout=0.5):
                i, s = key.data, key.fileobj
                try:
                    if events & selectors.EVENT_WRITE and i in to_send:
                        n = s.send(to_send[i])
                        to_send[i] = to_send[i][n:]
                        if not len(to_send[i]):
                            del to_send[i]
                            sel.modify(s, selectors.EVENT_READ, i)
                    if events & selectors.EVENT_READ:
                        chunk = s.recv(65536)
                        if not chunk:
                            failed[i] = f"EOF after {len(got[i])} bytes"
                            sel.unregister(s)
                            continue
                        got[i] += chunk
                        if len(got[i]) >= len(payloads[i]):
                            complete.add(i)
                            sel.unregister(s)
                except BlockingIOError:
                    pass
                except OSError as error:
                    failed[i] = repr(error)
                    sel.unregister(s)
        # Every connection was open at once until here.
        assert not failed, f"{len(failed)} connections failed, e.g. {list(failed.items())[:5]}"
        assert len(complete) == count, f"only {len(complete)} of {count} completed within 60 s"
        wrong = [i for i in range(count) if bytes(got[i]) != payloads[i]]
        assert not wrong, f"{len(wrong)} connections got other bytes back, e.g. #{wrong[0]}"
        assert echo_server.accepted == count
    finally:
        sel.close()
        for s in socks:
            s.close()


@pytest.mark.parametrize("splice", SPLICE_MODES)
def test_client_half_close_still_gets_the_whole_reply(splice, servers, ringlbd):
    backend = servers(harness.reply_after_eof_handler, "replier")
    port = harness.free_port()
    ringlbd(one_listener(port, [backend.addr], splice=splice))
    reply = 16 * MIB

    with harness.connect(port, timeout=30) as s:
        s.sendall(struct.pack("!Q", reply))
        sent = hashlib.sha256()
        harness.send_random(s, 3 * MIB, sent, seed=5, chunk=256 * 1024)
        s.shutdown(socket.SHUT_WR)
        header = harness.recv_line(s).decode().split()
        tail = hashlib.sha256()
        tail_len = harness.recv_all(s, tail)

    assert header == [str(3 * MIB), sent.hexdigest()], "the backend did not read exactly what was sent before EOF"
    (record,) = backend.wait_records(1, timeout=10)
    assert "error" not in record, record
    assert record["saw_eof"]
    assert tail_len == record["tx_len"] == reply
    assert tail.hexdigest() == record["tx_sha"]


@pytest.mark.parametrize("splice", SPLICE_MODES)
def test_backend_half_close_still_gets_the_whole_request(splice, servers, ringlbd):
    backend = servers(harness.server_closes_first_handler, "closer")
    port = harness.free_port()
    ringlbd(one_listener(port, [backend.addr], splice=splice))

    with harness.connect(port, timeout=30) as s:
        first = hashlib.sha256()
        first_len = harness.recv_all(s, first)  # the backend's EOF arrives, our side stays open
        sent = hashlib.sha256()
        harness.send_random(s, 2 * MIB, sent, seed=9, chunk=128 * 1024)
        s.shutdown(socket.SHUT_WR)
        (record,) = backend.wait_records(1, timeout=10)

    assert "error" not in record, record
    assert first_len == record["tx_len"] and first.hexdigest() == record["tx_sha"]
    assert record["rx_len"] == 2 * MIB and record["rx_sha"] == sent.hexdigest()


@pytest.mark.parametrize("splice", SPLICE_MODES)
def test_backend_reset_reaches_the_client_as_a_reset(splice, servers, ringlbd):
    backend = servers(harness.reset_handler, "resetter")
    port = harness.free_port()
    ringlbd(one_listener(port, [backend.addr], splice=splice))

    with harness.connect(port, timeout=5) as s:
        s.sendall(b"x")
        (record,) = backend.wait_records(1, timeout=5)
        assert record.get("reset_sent"), record
        with pytest.raises(ConnectionResetError):
            data = s.recv(4096)
            # A clean EOF (b"") instead of a reset is the bug this test is for.
            raise AssertionError(f"client saw {data!r} (clean EOF or data), not a reset")


@pytest.mark.parametrize("splice", SPLICE_MODES)
def test_client_reset_reaches_the_backend_as_a_reset(splice, servers, ringlbd):
    backend = servers(harness.expect_reset_handler, "watcher")
    port = harness.free_port()
    ringlbd(one_listener(port, [backend.addr], splice=splice))

    s = harness.connect(port, timeout=5)
    s.sendall(b"hello")
    # Reset only once "hello" has reached the backend: the connection is fully up.
    backend.wait_progress("first", timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    (record,) = backend.wait_records(1, timeout=5)
    assert record.get("ended_by") == "reset", record
