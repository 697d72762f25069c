"""A `vip` that is also a static address of the host (one ringlbd did not add) is refused
by `ringlbd --check`, at start and at reload, with FILE:LINE of the `vip` line: ringlbd
would otherwise take it for its own and remove it whenever it is backup. A VIP ringlbd
added itself (marked with IFA_PROTO, vrrp/static_vips.h) and left behind by a crash is
not refused: the restarted daemon removes it and carries on.

On the real ringlbd pair of test_daemon_pair (lb1 master, lb2 backup). Root only (ip
netns); traffic stays inside the namespaces created here (10.99.61.0/24, names carrying
this process's PID), deleted with every process in them when the module ends.
"""
import os
import signal
import time
from pathlib import Path

import pytest

from netns_lan import run, wait_for
from test_daemon_pair import RINGLBD, VIP
from test_vrrp_receive_rules import built_pair, configured, stopped

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for ip netns")

STATIC = "10.99.61.150"      # an address the operator gave lb1 by hand
STATIC_LO = "10.99.61.151"   # one on lb1's loopback


@pytest.fixture(scope="module")
def lab():
    with built_pair("rlbs") as pair:
        yield pair


@pytest.fixture
def pair(lab):
    configured(lab)
    try:
        yield lab
    finally:
        stopped(lab)
        run("ip", "-n", lab.ns["lb1"], "addr", "del", f"{STATIC}/24", "dev", "eth0", check=False)
        run("ip", "-n", lab.ns["lb1"], "addr", "del", f"{STATIC_LO}/32", "dev", "lo", check=False)


def with_vips(pair, *vips):
    """lb1's config with these extra vip lines; returns {vip: its line in the file}."""
    pair.extra = {"lb1": "".join(f"vip = {v}\n" for v in vips)}
    pair.write_config("lb1")
    lines = Path(pair.conf("lb1")).read_text().splitlines()
    return {v: lines.index(f"vip = {v}") + 1 for v in vips}


def check(pair, h):
    return run("ip", "netns", "exec", pair.ns[h], RINGLBD, "--check", "-c", pair.conf(h), check=False)


def refusal(pair, vip_line, address, interface, prefix):
    return (f"{pair.conf('lb1')}:{vip_line}: vrrp 'vip1': vip {address} is already an address of this host "
            f"({interface}, /{prefix}) that ringlbd did not add")


def has(pair, h, address, dev="eth0"):
    return f" {address}/" in run("ip", "-n", pair.ns[h], "-4", "-o", "addr", "show", "dev", dev).stdout


def test_check_and_start_refuse_a_vip_that_is_a_static_address_with_file_and_line(pair):
    run("ip", "-n", pair.ns["lb1"], "addr", "add", f"{STATIC}/24", "dev", "eth0")
    run("ip", "-n", pair.ns["lb1"], "addr", "add", f"{STATIC_LO}/32", "dev", "lo")
    assert check(pair, "lb1").returncode == 0  # not a vip yet
    lines = with_vips(pair, f"{STATIC}/24", STATIC_LO)
    out = check(pair, "lb1")
    assert out.returncode == 1, out.stdout + out.stderr
    assert refusal(pair, lines[f"{STATIC}/24"], STATIC, "eth0", 24) in out.stderr, out.stderr
    assert refusal(pair, lines[STATIC_LO], STATIC_LO, "lo", 32) in out.stderr, out.stderr

    pair.start("lb1")
    assert pair.daemons["lb1"].wait(timeout=10) != 0
    del pair.daemons["lb1"]
    log = pair.log("lb1")
    assert refusal(pair, lines[f"{STATIC}/24"], STATIC, "eth0", 24) in log, log[-2000:]
    assert "not starting" in log
    # Nothing touched: the operator's addresses are where they were, no VIP added.
    assert has(pair, "lb1", STATIC) and has(pair, "lb1", STATIC_LO, "lo")
    assert not pair.has_vip("lb1")


def test_reload_refuses_a_vip_that_is_a_static_address_and_keeps_running(pair):
    pair.start_pair()
    run("ip", "-n", pair.ns["lb1"], "addr", "add", f"{STATIC}/24", "dev", "eth0")
    lines = with_vips(pair, f"{STATIC}/24")
    out = pair.ctl("lb1", "reload")
    assert out.returncode != 0, out.stdout
    assert f"vip {STATIC} is already an address of this host" in out.stdout + out.stderr, out.stdout + out.stderr
    log = pair.log("lb1")
    assert "reload refused: " + refusal(pair, lines[f"{STATIC}/24"], STATIC, "eth0", 24) in log, log[-2000:]
    # SIGHUP takes the same path.
    before = pair.log("lb1").count("reload refused; the running configuration stays")
    pair.daemons["lb1"].send_signal(signal.SIGHUP)
    wait_for("the SIGHUP reload to be refused",
             lambda: pair.log("lb1").count("reload refused; the running configuration stays") > before, 3, 0.05)
    assert pair.vrrp_state("lb1") == "MASTER" and pair.vip_hosts() == {"lb1"}
    assert pair.served_by() == "lb1"
    assert has(pair, "lb1", STATIC)


def test_a_vip_left_by_a_crashed_run_is_ringlbds_own_and_not_refused(pair):
    pair.start_pair()
    pair.kill("lb1", signal.SIGKILL)
    assert pair.has_vip("lb1")  # left behind, with ringlbd's mark
    out = check(pair, "lb1")
    assert out.returncode == 0, out.stderr
    t0 = time.monotonic()
    pair.start("lb1")
    wait_for("lb1 to take the VIP back", lambda: pair.vip_hosts() == {"lb1"} and pair.vrrp_state("lb1") == "MASTER",
             5, 0.05)
    # Removed at start: from the state file of held VIPs when the crashed run left one,
    # else as a VIP of the config found on the interface.
    removed = (f"removed VIP {VIP}/24 left on eth0 by an earlier run",
               f"removed {VIP}/24 from eth0, recorded as held by a run that did not stop cleanly")
    assert any(line in pair.log("lb1") for line in removed), pair.log("lb1")[-2000:]
    assert time.monotonic() - t0 < 5
    assert pair.daemons["lb1"].poll() is None
