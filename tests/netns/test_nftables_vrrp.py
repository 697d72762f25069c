"""The nftables table shipped in packaging/examples (issue 19, item 6): loaded in a host's
namespace with one peer allowed, VRRP (IP protocol 112) from that peer reaches the host,
VRRP from any other host on the LAN is dropped (and counted) before any socket sees it,
and other traffic from that host still passes."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from netns_lan import build_lan, delete_lan, run

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = ROOT / "packaging/examples/ringlb-vrrp.nft"
ADDR = {"a": "10.77.0.1", "b": "10.77.0.2", "c": "10.77.0.3"}   # a: ringlb host, b: peer, c: switch and attacker
PACKETS = 5

# Receives IP protocol PROTO (112: VRRP) for SECONDS and prints each source address.
RECEIVER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(sys.argv[2]))
s.settimeout(0.1)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        data, (source, _) = s.recvfrom(2048)
        print(source, flush=True)
    except socket.timeout:
        pass
"""

# Sends COUNT VRRPv3 adverts (vrid 51, priority 200, one address) to DESTINATION as
# IP protocol PROTO.
SENDER = """
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(sys.argv[3]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
advert = struct.pack("!BBBBHH4s", 0x31, 51, 200, 1, 100, 0, socket.inet_aton("10.77.0.100"))
for _ in range(int(sys.argv[2])):
    s.sendto(advert, (sys.argv[1], 0))
"""


@pytest.fixture
def lan():
    if os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("ip") is None:
        pytest.skip("needs root, nft (nftables) and ip (iproute2)")
    tag = f"rlbn{os.getpid()}"
    namespaces = {h: f"{tag}-{h}" for h in "abc"}
    tmp = tempfile.mkdtemp(prefix=f"ringlb-nft-{os.getpid()}-")
    try:
        build_lan(namespaces, "c", ADDR)
        yield namespaces, tmp
    finally:
        delete_lan(namespaces)
        shutil.rmtree(tmp, ignore_errors=True)


def load_snippet(ns: str, tmp: str) -> None:
    """The shipped file with its two definitions set for this LAN, as an operator edits it."""
    text = SNIPPET.read_text()
    text, n1 = re.subn(r'^define vrrp_interface = .*$', 'define vrrp_interface = "eth0"', text, flags=re.M)
    text, n2 = re.subn(r'^define vrrp_peers = .*$', f'define vrrp_peers = {{ {ADDR["b"]} }}', text, flags=re.M)
    assert n1 == n2 == 1, "the snippet's definitions moved: update this test"
    path = Path(tmp) / "ringlb-vrrp.nft"
    path.write_text(text)
    run("ip", "netns", "exec", ns, "nft", "-f", path)


def counter(ns: str, name: str) -> int:
    out = run("ip", "netns", "exec", ns, "nft", "list", "counter", "inet", "ringlb_vrrp", name).stdout
    return int(re.search(r"packets (\d+)", out).group(1))


def vrrp_sources_seen(namespaces, tmp, protocol: int = 112) -> list[str]:
    """Starts a receiver in a, sends PACKETS adverts from b and from c to a as IP
    protocol `protocol`, returns the sources a's raw socket saw."""
    (Path(tmp) / "receiver.py").write_text(RECEIVER)
    (Path(tmp) / "sender.py").write_text(SENDER)
    receiver = subprocess.Popen(["ip", "netns", "exec", namespaces["a"], "python3", f"{tmp}/receiver.py", "3",
                                 str(protocol)],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        for host in "bc":
            run("ip", "netns", "exec", namespaces[host], "python3", f"{tmp}/sender.py", ADDR["a"], PACKETS, protocol)
        out, _ = receiver.communicate(timeout=10)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    return out.split()


def test_without_the_table_any_host_on_the_lan_reaches_the_vrrp_socket(lan):
    namespaces, tmp = lan
    seen = vrrp_sources_seen(namespaces, tmp)
    assert seen.count(ADDR["b"]) == PACKETS and seen.count(ADDR["c"]) == PACKETS, seen


def test_with_the_shipped_table_only_the_peer_reaches_it_and_the_rest_is_counted_as_dropped(lan):
    namespaces, tmp = lan
    load_snippet(namespaces["a"], tmp)
    seen = vrrp_sources_seen(namespaces, tmp)
    assert seen.count(ADDR["b"]) == PACKETS and ADDR["c"] not in seen, seen
    assert counter(namespaces["a"], "vrrp_from_peer") == PACKETS
    assert counter(namespaces["a"], "vrrp_dropped") == PACKETS
    # Only VRRP is filtered: c's packets of another protocol (253, for experiments) pass.
    other = vrrp_sources_seen(namespaces, tmp, protocol=253)
    assert other.count(ADDR["c"]) == PACKETS, other
    # Loading it again replaces the table (the file deletes it first), counters restart.
    load_snippet(namespaces["a"], tmp)
    assert counter(namespaces["a"], "vrrp_dropped") == 0
