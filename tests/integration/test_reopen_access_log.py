"""The logrotate fallback outside systemd (packaging/reopen-access-log, issue 19, item 5):
SIGUSR1 goes only to a PID read from a pid file that root owns and no one else may write,
in a directory likewise, and only if that PID is ringlbd. Run against the real ringlbd and
a real bystander process that SIGUSR1 would kill."""
from __future__ import annotations

import os
import subprocess

import pytest

import harness
from test_control import listener

SCRIPT = harness.REPO_ROOT / "packaging/reopen-access-log"


@pytest.fixture
def bystander():
    """A process that SIGUSR1 kills (the default action): whoever signals it, it dies."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def pidfile(directory: str, pid: int, mode: int = 0o644, uid: int = 0) -> str:
    path = os.path.join(directory, "ringlbd.pid")
    with open(path, "w") as f:
        f.write(f"{pid}\n")
    os.chmod(path, mode)
    os.chown(path, uid, 0)
    return path


def reopen(path: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(SCRIPT), path, str(harness.RINGLBD)], capture_output=True, text=True,
                          timeout=10)


def test_a_root_owned_pid_file_naming_ringlbd_makes_it_reopen_its_access_log(ringlbd, echo_server, root_only_dir,
                                                                              tmp_path):
    port = harness.free_port()
    daemon = ringlbd({"web": listener(port, [echo_server.addr])}, access_log=str(tmp_path / "access.log"))
    result = reopen(pidfile(root_only_dir, daemon.pid))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    daemon.wait_log(r"SIGUSR1: reopening the access log")


@pytest.mark.parametrize("case", ["owned by nobody", "group-writable", "not ringlbd", "a symlink",
                                  "in a directory others may write"])
def test_a_pid_that_root_did_not_vouch_for_is_never_signalled(case, bystander, root_only_dir, tmp_path):
    if case == "owned by nobody":
        path, why = pidfile(root_only_dir, bystander.pid, uid=65534), "is owned by uid 65534, not root"
    elif case == "group-writable":
        path, why = pidfile(root_only_dir, bystander.pid, mode=0o664), "writable by group or others (mode 664)"
    elif case == "not ringlbd":
        path, why = pidfile(root_only_dir, bystander.pid), f"PID {bystander.pid} from"
    elif case == "a symlink":
        target = pidfile(root_only_dir, bystander.pid)
        path = os.path.join(root_only_dir, "link.pid")
        os.symlink(target, path)
        why = "is not a regular file"
    else:
        shared = os.path.join(root_only_dir, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o777)
        path, why = pidfile(shared, bystander.pid), "is writable by group or others"
    result = reopen(path)
    assert result.returncode == 0
    assert why in result.stderr and "not signalling" in result.stderr, result.stderr
    assert bystander.poll() is None, "the bystander got SIGUSR1"
