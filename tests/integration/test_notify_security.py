"""Notify scripts an operator who is not root could have written are refused by
`ringlbd --check` (and so by start-up, which runs the same checks) with FILE:LINE of the
`notify` key (issue 19, item 1): the script and every directory above it must be owned
by root and writable only by root. A script in such a place passes; notify_user must
name a user."""
from __future__ import annotations

import os
import subprocess

import harness
from test_control import ctl, echo_once, listener, sock_of  # noqa: F401 — sock_of is a fixture


def check(conf) -> subprocess.CompletedProcess:
    return subprocess.run([str(harness.RINGLBD), "--check", "-c", str(conf)], capture_output=True, text=True,
                          timeout=30)


def vrrp_config(tmp_path, notify: str, extra: str = "") -> str:
    # Lines: 1 [vrrp.v1], 2 interface, 3 vrid, 4 priority, 5 vip, 6 notify, 7 extra.
    conf = tmp_path / "ringlb.conf"
    conf.write_text("[vrrp.v1]\ninterface = lo\nvrid = 7\npriority = 100\nvip = 192.0.2.77/32\n"
                    f"notify = {notify}\n{extra}")
    return str(conf)


def script(directory: str, mode: int = 0o755) -> str:
    path = os.path.join(directory, "notify.sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(path, mode)
    return path


def notify_errors(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if "notify" in line]


def test_a_script_in_root_only_directories_passes_the_check(tmp_path, root_only_dir):
    conf = vrrp_config(tmp_path, script(root_only_dir))
    assert notify_errors(check(conf)) == []


def test_a_group_writable_script_is_refused_at_its_line(tmp_path, root_only_dir):
    conf = vrrp_config(tmp_path, script(root_only_dir, 0o775))
    result = check(conf)
    assert result.returncode == 1
    assert notify_errors(result) == [
        f"{conf}:6: vrrp 'v1': notify script {root_only_dir}/notify.sh: is writable by group (mode 0775); the "
        "script and every directory above it must be owned by root and writable only by root (docs/security.md)"]


def test_a_script_under_tmp_is_refused_naming_the_directory(tmp_path):
    os.chmod(tmp_path, 0o755)
    conf = vrrp_config(tmp_path, script(str(tmp_path)))
    result = check(conf)
    assert result.returncode == 1
    errors = notify_errors(result)
    assert len(errors) == 1 and errors[0].startswith(f"{conf}:6: vrrp 'v1': notify script "), result.stderr
    assert "directory /tmp is writable by group and others (mode 1777)" in errors[0], errors


def test_a_script_owned_by_another_user_is_refused(tmp_path, root_only_dir):
    path = script(root_only_dir)
    os.chown(path, 65534, 65534)
    result = check(vrrp_config(tmp_path, path))
    assert result.returncode == 1
    assert "is owned by uid 65534, not root" in "\n".join(notify_errors(result)), result.stderr


def test_an_unknown_notify_user_is_refused_at_its_line(tmp_path, root_only_dir):
    conf = vrrp_config(tmp_path, script(root_only_dir), "notify_user = no-such-user-ringlb\n")
    result = check(conf)
    assert result.returncode == 1
    assert f"{conf}:7: vrrp 'v1': notify_user 'no-such-user-ringlb': no such user" in result.stderr, result.stderr


def test_a_reload_that_brings_an_unsafe_notify_script_is_refused_and_the_running_config_stays(
        ringlbd, sock_of, echo_server, tmp_path):
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])})
    sock = sock_of(daemon)
    before = daemon.config_path.read_text()
    os.chmod(tmp_path, 0o755)
    unsafe = script(str(tmp_path))
    daemon.config_path.write_text(before + "\n[vrrp.v1]\ninterface = lo\nvrid = 7\npriority = 100\n"
                                  f"vip = 192.0.2.77/32\nnotify = {unsafe}\n")
    done = ctl(sock, "reload", timeout=10)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"notify script {unsafe}: directory /tmp is writable by group and others" in done.stderr, done.stderr
    assert "reload refused" in daemon.log()
    # The daemon goes on with what it ran: the listener still answers, ringlbctl too.
    assert ctl(sock, "status", timeout=10).returncode == 0
    assert echo_once(port, b"still here")[1] == b"still here"
