"""The LAN that the VRRP tests (tests/netns) and perf/vrrp_failover.py build from network
namespaces, and the bounded helpers they share.

One namespace is the switch: a bridge br0 without multicast snooping or STP delay, as a
plain LAN switch, with an address of its own (the client's). Every other host gets an
eth0 veth whose peer, switch_port(host), is a port of that bridge. Teardown kills what
still runs inside the namespaces (only the caller starts processes there) and deletes
them.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time


def run(*args, check=True, timeout=10):
    """One command, bounded in time, output captured."""
    return subprocess.run([str(a) for a in args], check=check, capture_output=True, text=True, timeout=timeout)


def wait_for(what, predicate, timeout, step=0.01):
    """Polls predicate until true; returns the seconds it took. Bounded by timeout, then
    TimeoutError naming what it waited for."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start >= timeout:
            raise TimeoutError(f"timed out after {timeout:.2f}s waiting for {what}")
        time.sleep(step)
    return time.monotonic() - start


def skew_time(priority, advert):
    """RFC 9568 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256."""
    return (256 - priority) * advert / 256


def master_down_interval(priority, advert):
    """RFC 9568 §6.1: Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time."""
    return 3 * advert + skew_time(priority, advert)


def assert_one_run(took, bound):
    """One measured run against the protocol's bound: a loaded machine (a sanitizer build,
    a parallel suite) may slow it to twice the bound, never more. Which mechanism acted
    is for the caller to assert from the daemon's reason line, not from the time."""
    assert took <= 2 * bound, f"took {took:.3f} s, bound {bound:.3f} s (one run may take twice that)"


def switch_port(host):
    """The bridge port (in the switch namespace) that host's eth0 is cabled to."""
    return f"p-{host}"


def build_lan(namespaces, switch, addresses, macs=None):
    """namespaces: host -> namespace name (switch among them); addresses: host -> IPv4
    on the /24; macs: host -> MAC for the hosts that need a fixed one."""
    macs = macs or {}
    mac = lambda host: ("address", macs[host]) if host in macs else ()  # noqa: E731
    for ns in namespaces.values():
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
    sw = namespaces[switch]
    run("ip", "-n", sw, "link", "add", "br0", *mac(switch), "type", "bridge")
    run("ip", "-n", sw, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0", "stp_state", "0")
    run("ip", "-n", sw, "addr", "add", f"{addresses[switch]}/24", "dev", "br0")
    run("ip", "-n", sw, "link", "set", "br0", "up")
    for host, ns in namespaces.items():
        if host == switch:
            continue
        port = switch_port(host)
        run("ip", "link", "add", "eth0", "netns", ns, *mac(host), "type", "veth", "peer", "name", port, "netns", sw)
        run("ip", "-n", sw, "link", "set", port, "master", "br0")
        run("ip", "-n", sw, "link", "set", port, "up")
        run("ip", "-n", ns, "addr", "add", f"{addresses[host]}/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")


def kill_everything_in(ns):
    """SIGKILL to every process in namespace ns; returns how many there were."""
    pids = run("ip", "netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    return len(pids)


def delete_lan(namespaces):
    for ns in namespaces.values():
        kill_everything_in(ns)
        run("ip", "netns", "del", ns, check=False)
