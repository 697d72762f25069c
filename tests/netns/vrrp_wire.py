"""VRRP packets built by hand for the netns tests that inject them (test_vrrp_garbage,
test_daemon_pair): an RFC 9568 advert with its checksum, optionally spoiled, inside an
IPv4 header for a raw IPPROTO_RAW socket."""
from __future__ import annotations

import struct


def ipv4(text):
    return bytes(int(x) for x in text.split("."))


def checksum(data):
    """RFC 1071 one's-complement sum, as vrrp_checksum: odd last byte padded."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def vrrp_payload(source, destination, vrid, addresses, interval_cs, priority=250, version=3, kind=1, count=None,
                 extra=b"", checksum_xor=0, pseudo_header=True):
    """A VRRP advert (RFC 9568 §5.1) from source, checksum over the IPv4 pseudo-header
    (§5.2.8), optionally spoiled: checksum_xor flips checksum bits; pseudo_header=False
    sums the VRRP bytes alone, as VRRPv2 did; count overrides the count field; extra is
    appended after the addresses (and covered by the checksum)."""
    body = bytearray(struct.pack("!BBBBH", (version << 4) | kind, vrid, priority,
                                 len(addresses) if count is None else count, interval_cs & 0x0fff))
    body += b"\0\0"  # checksum
    for address in addresses:
        body += ipv4(address)
    body += extra
    pseudo = ipv4(source) + ipv4(destination) + struct.pack("!BBH", 0, 112, len(body)) if pseudo_header else b""
    struct.pack_into("!H", body, 6, checksum(pseudo + bytes(body)) ^ checksum_xor)
    return bytes(body)


def ip_packet(source, destination, payload, ttl=255):
    """IPv4 header (total length, ID and checksum left to the kernel) + payload."""
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0xc0, 0, 0, 0, ttl, 112, 0, ipv4(source), ipv4(destination)) + payload
