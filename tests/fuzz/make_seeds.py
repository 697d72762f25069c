#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/TARGET/) from the project's own
examples: docs/configuration.md and packaging/ringlb.conf.example for the config parser,
every DESIGN §7 command for the control protocol, the keepalived captures in
tests/fixtures/vrrp for the VRRP decoder, and the PROXY spec's header shapes. Run from
the repository root; it replaces only the files it writes. Inputs the fuzzers found
later are merged by hand (see docs/RELIABILITY.md), not by this script."""

import json
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/fuzz/corpus"


def write(target: str, name: str, data) -> None:
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


# ---------------------------------------------------------------- config

LISTENER_HEAD = "[listener.web]\nbind = 192.0.2.100:80\nbackend = 10.0.1.11:8080\n"
VRRP_HEAD = "[vrrp.vip1]\ninterface = eth0\nvrid = 51\nvip = 192.0.2.100/24\n"


REPEATABLE = ("backend", "vip", "unicast_peer")


# The docs show alternatives (three `check` lines, two `bind`s); a seed that parses
# keeps the first of each single-valued key and one line per backend address.
def first_of_each_key(text: str) -> str:
    seen, out = set(), []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        tag = line.split("#")[0].split()[:3] if key in REPEATABLE else key
        if "=" in line and str(tag) in seen:
            continue
        seen.add(str(tag))
        out.append(line)
    return "\n".join(out) + "\n"


def config_seeds() -> None:
    docs = (ROOT / "docs/configuration.md").read_text()
    blocks = re.findall(r"```ini\n(.*?)```", docs, re.S)
    # Whole sections as the docs show them, then the key fragments under a section
    # that takes them (listener keys until the [vrrp] part of the page, vrrp keys after).
    whole = [b for b in blocks if b.lstrip().startswith(("[", "#"))]
    for i, block in enumerate(whole):
        write("config", f"docs_section_{i + 1}", block)
    fragments = [b for b in blocks if b not in whole]
    listener_text = LISTENER_HEAD
    vrrp_text = "[global]\n\n" + LISTENER_HEAD + "\n" + VRRP_HEAD
    in_vrrp = False
    for block in fragments:
        if block.startswith("interface"):
            in_vrrp = True
        if not in_vrrp and not block.startswith("bind"):
            listener_text += block
        elif in_vrrp and not block.startswith(("interface", "vrid")):
            vrrp_text += block
    write("config", "docs_every_listener_key", first_of_each_key(listener_text))
    write("config", "docs_every_vrrp_key", first_of_each_key(vrrp_text))
    write("config", "packaging_example", (ROOT / "packaging/ringlb.conf.example").read_text())

    write("config", "design_section_6",
          "[global]\nworkers = auto\ncontrol_socket = /run/ringlb/ringlbd.sock\nmetrics = 127.0.0.1:9650\n"
          "log_level = info\naccess_log = /var/log/ringlb/access.log\n\n"
          "[listener.web]\nbind = 192.0.2.100:80\nscheduler = leastconn\n"
          "backend = 10.0.1.11:8080 weight=3\nbackend = 10.0.1.12:8080\nbackend = 10.0.1.13:8080 backup\n"
          "check = http GET /health expect 200\ncheck_port = 8081\ncheck_interval = 2s\ncheck_timeout = 1s\n"
          "rise = 2\nfall = 3\nconnect_timeout = 3s\nidle_timeout = 15m\nhalf_close_timeout = 30s\n"
          "splice = auto\nretries = 2\nmax_connections = 0\nproxy_protocol = off\n\n"
          "[vrrp.vip1]\ninterface = eth0\nvrid = 51\npriority = 150\nadvert_interval = 100ms\n"
          "vip = 192.0.2.100/24\npreempt = true\nunicast_peer = 192.0.2.3\ntrack_listener = web\n"
          "notify = /etc/ringlb/notify.sh\n")
    write("config", "integration_harness",
          "[global]\nworkers = 2\nlog_level = info\nshutdown_grace = 5s\ncontrol_socket = /tmp/x/ctl.sock\n\n"
          "[listener.pp2]\nbind = 127.0.0.1:40001\nbackend = 127.0.0.1:40002\nbackend = 127.0.0.1:40003\n"
          "scheduler = source-hash\nhash_table_size = 1009\nproxy_protocol = v2\nmax_connections = 1\n"
          "queue_timeout = 0\n")
    write("config", "netns_daemon_pair",
          "[global]\nworkers = 1\ncontrol_socket = /tmp/a.sock\nlog_level = info\nmetrics = 127.0.0.1:9650\n"
          "shutdown_grace = 1s\n\n[listener.web]\nbind = 10.99.61.100:8080\nscheduler = roundrobin\n"
          "backend = 10.99.61.11:9000\nbackend = 10.99.61.12:9000\nconnect_timeout = 1s\n\n"
          "[vrrp.vip1]\ninterface = eth0\nvrid = 61\npriority = 200\nadvert_interval = 300ms\n"
          "vip = 10.99.61.100/24\n")
    write("config", "ipv6_and_states",
          "[global]\nworkers = 4\n\n[listener.v6]\nbind = [2001:db8::1]:443\nscheduler = roundrobin\n"
          "backend = [2001:db8::10]:8443 weight=256 state=drain\nbackend = 10.0.0.1:1 backup state=maint\n"
          "check = http HEAD /ready expect 200-399 host www.example.com\nagent_port = 9777\n"
          "agent_interval = 1h\nslow_start = 90s\nsplice = never\n")
    write("config", "two_listeners_two_vrrp",
          "[listener.a]\nbind = 127.0.0.1:1\nbackend = 127.0.0.1:2\n[listener.b]\nbind = 127.0.0.1:3\n"
          "backend = 127.0.0.1:4\n[vrrp.x]\ninterface = eth0\nvrid = 1\nvip = 10.0.0.1\n[vrrp.y]\n"
          "interface = eth1\nvrid = 1\nvip = 10.0.0.2/32\nunicast_peer = 10.0.0.3\nunicast_peer = 10.0.0.4\n"
          "source_address = 10.0.0.5\npreempt = false\n")
    write("config", "lifecycle_errors",
          "[global]\ncontrol_socket = /tmp/x.sock\n[listener.web]\nbind = 127.0.0.1:8080\n"
          "backend = 127.0.0.1:9000\nscheduler = fastest\nidle_timeout = 1.5s\n")
    write("config", "syntax_errors",
          "key = before section\n[global]\n; not a comment\n[]\n[listener]\n[listener.bad name]\n"
          "[global]\nworkers = many\nno equals sign\n = value\n[bogus.x]\nk = v\n")
    write("config", "duplicates",
          "[listener.a]\nbind = 127.0.0.1:1\nbind = 127.0.0.1:2\nbackend = 127.0.0.1:2\n"
          "backend = 127.0.0.1:2\n[listener.a]\nbind = 127.0.0.1:1\nbackend = 127.0.0.1:3 weight=1 weight=2\n"
          "[vrrp.v]\ninterface = eth0\nvrid = 9\nvip = 10.1.1.1\nvip = 10.1.1.1\n[vrrp.w]\ninterface = eth0\n"
          "vrid = 9\nvip = 10.1.1.1\n")
    write("config", "crlf_and_comments",
          "# comment\r\n[global]   # trailing\r\n\tworkers\t=\t3\t\r\nlog_level = debug # x\r\n\r\n"
          "[listener.w-1_x]\r\nbind=127.0.0.1:80\r\nbackend=127.0.0.1:81 weight=2\r\n")


# --------------------------------------------------------------- control

def control_seeds() -> None:
    requests = {
        "status": {"command": "status"},
        "listener_list": {"command": "listener list"},
        "listener_show": {"command": "listener show", "listener": "web"},
        "listener_add": {"command": "listener add", "listener": "web-2_b", "bind": "192.0.2.100:80",
                         "scheduler": "source-hash", "check": "http GET /health expect 200-399",
                         "backends": [{"address": "10.0.1.11:8080", "weight": 3},
                                      {"address": "[2001:db8::1]:80", "backup": True}]},
        "listener_add_minimal": {"command": "listener add", "listener": "a", "bind": "127.0.0.1:1",
                                 "backends": [{"address": "127.0.0.1:2"}]},
        "listener_remove": {"command": "listener remove", "listener": "web"},
        "backend_add": {"command": "backend add", "listener": "web", "address": "10.0.1.14:8080",
                        "weight": 2, "backup": True},
        "backend_remove": {"command": "backend remove", "listener": "web", "address": "[::1]:8080"},
        "backend_set_state": {"command": "backend set", "listener": "web", "address": "10.0.1.11:8080",
                              "state": "drain"},
        "backend_set_weight": {"command": "backend set", "listener": "web", "address": "10.0.1.11:8080",
                               "weight": 256, "state": "maint"},
        "stats": {"command": "stats"},
        "stats_listener": {"command": "stats", "listener": "web"},
        "vrrp_status": {"command": "vrrp status"},
        "reload": {"command": "reload"},
    }
    for name, request in requests.items():
        write("control_request", name, json.dumps(request, separators=(",", ":")))
    # Refused lines, one per kind of mistake parse_request names.
    write("control_request", "bad_unknown_command", '{"command":"listener rename","listener":"web"}')
    write("control_request", "bad_unknown_field", '{"command":"status","verbose":true}')
    write("control_request", "bad_types", '{"command":"backend set","listener":"web","address":"1.2.3.4:5",'
                                          '"weight":-1.5,"state":7}')
    write("control_request", "bad_nesting", '{"command":"status","x":' + "[" * 12 + "]" * 12 + "}")
    write("control_request", "bad_not_json", '{"command":"status",')
    write("control_request", "bad_config_injection",
          '{"command":"listener add","listener":"x]\\n[global","bind":"127.0.0.1:1",'
          '"backends":[{"address":"1.1.1.1:1"}]}')
    write("control_request", "bad_check_hash", '{"command":"listener add","listener":"x","bind":"127.0.0.1:1",'
                                               '"check":"tcp # x","backends":[{"address":"1.1.1.1:1"}]}\r')
    write("control_request", "bad_unicode", '{"command":"listener show","listener":"w\\u00e9b\\ud83d"}')


# ------------------------------------------------------------------ vrrp

def vrrp_seeds() -> None:
    seen = set()
    capture = ROOT / "tests/fixtures/vrrp/keepalived_adverts.hex"
    for line in capture.read_text().splitlines():
        fields = line.split()
        if len(fields) != 3 or fields[1] != "ip" or fields[2] in seen:
            continue
        seen.add(fields[2])
        packet = bytes.fromhex(fields[2])
        kind = "priority0" if packet[20 + 2] == 0 else "advert"
        write("vrrp_packet", f"keepalived_{fields[0]}_{kind}_{len(seen)}", packet)
    # The first multicast advert, mangled one field at a time (each a different verdict).
    base = bytearray(bytes.fromhex(next(iter(sorted(seen)))))
    for name, offset, value in [("ttl_64", 8, 64), ("protocol_tcp", 9, 6), ("vrrp_v2", 20, 0x21),
                                ("type_2", 20, 0x32), ("count_0", 23, 0), ("ihl_6", 0, 0x46)]:
        mangled = bytearray(base)
        mangled[offset] = value
        write("vrrp_packet", f"mangled_{name}", bytes(mangled))
    write("vrrp_packet", "truncated", bytes(base[:30]))
    write("vrrp_packet", "padded_to_46", bytes(base) + bytes(46 - len(base)))


# ----------------------------------------------------------------- proxy

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(command: int, family: int, block: bytes) -> bytes:
    return SIGNATURE + bytes([0x20 | command, family]) + struct.pack(">H", len(block)) + block


def proxy_seeds() -> None:
    v4 = bytes([192, 168, 0, 1, 192, 168, 0, 11]) + struct.pack(">HH", 56324, 443)
    v6 = (bytes.fromhex("20010db8000000000000000000000001") + bytes.fromhex("20010db8000000000000000000000011")
          + struct.pack(">HH", 56324, 443))
    tlvs = b"\x01\x00\x02h2" + b"\x02\x00\x0bexample.com" + b"\x04\x00\x00"
    seeds = {
        "v1_tcp4_spec_example": b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n",
        "v1_tcp6": b"PROXY TCP6 2001:db8::1 2001:db8::11 56324 443\r\n",
        "v1_tcp6_mapped": b"PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1234 443\r\n",
        "v1_unknown": b"PROXY UNKNOWN\r\n",
        "v1_unknown_with_addresses": b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
        "v1_longest": b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                      b"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
        "v1_partial": b"PROXY TCP4 10.0.0.1 10.0.",
        "v1_bad_leading_zero_port": b"PROXY TCP4 10.0.0.1 10.0.0.2 080 80\r\n",
        "v2_tcp4": v2(1, 0x11, v4),
        "v2_tcp6_with_tlvs": v2(1, 0x21, v6 + tlvs),
        "v2_udp4": v2(1, 0x12, v4) + b"payload",
        "v2_local": v2(0, 0x00, b""),
        "v2_local_with_block": v2(0, 0x11, v4),
        "v2_unix": v2(1, 0x31, b"/run/a.sock".ljust(108, b"\0") + b"/run/b.sock".ljust(108, b"\0")),
        "v2_unspec": v2(1, 0x00, b""),
        "v2_partial": v2(1, 0x21, v6)[:30],
        "v2_bad_tlv_overrun": v2(1, 0x11, v4 + b"\x01\x00\x09ab"),
        # Read as addresses by the encoder half: selector byte, 2 × (16 address bytes + port).
        "encode_ipv4_pair": bytes([0x00]) + bytes([10, 0, 0, 1]) + bytes(12) + b"\x1f\x90"
                            + bytes([10, 0, 0, 2]) + bytes(12) + b"\x00\x50",
        "encode_mixed": bytes([0x01]) + bytes.fromhex("20010db8000000000000000000000001") + b"\xff\xff"
                        + bytes([192, 0, 2, 1]) + bytes(12) + b"\x00\x00",
        "encode_unspec": bytes([0x0a]) + bytes(36),
    }
    for name, data in seeds.items():
        write("proxy_header", name, data)


def main() -> int:
    config_seeds()
    control_seeds()
    vrrp_seeds()
    proxy_seeds()
    for target in sorted(p.name for p in CORPUS.iterdir()):
        files = list((CORPUS / target).iterdir())
        print(f"{target}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
