"""Fixtures for the integration suite: backend servers and ringlbd processes that are
always cleaned up, and ringlbd's log attached to the report of any failed test."""
from __future__ import annotations

import resource
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def pytest_configure(config):
    # 1,000 concurrent connections need ~2,100 descriptors in this process
    # (client and backend ends); ringlbd raises its own limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for daemon in getattr(item, "_ringlbd_daemons", []):
            log = daemon.log()
            if len(log) > 20000:
                log = log[:8000] + "\n[... log cut ...]\n" + log[-12000:]
            ended = daemon.describe_exit()
            status = f"{ended} during the test" if ended and call.when == "call" else ended or "running"
            report.sections.append((f"ringlbd log ({daemon.name}, {status}, {daemon.log_path})", log))


@pytest.fixture
def shortdir():
    """A short directory for Unix socket paths (at most 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="rlb-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def servers():
    """Factory: servers(handler, name, listen=True) -> a running TcpServer."""
    started = []

    def make(handler, name, **kwargs):
        server = harness.TcpServer(handler, name, **kwargs)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def echo_server():
    server = harness.SelectorEchoServer()
    yield server
    server.stop()


@pytest.fixture
def ringlbd(request, tmp_path, shortdir):
    """Factory: ringlbd(listeners, ready=True, expect_clean_exit=True, name=..., prefix=(),
    preexec_fn=None, **global_keys) -> a started harness.Ringlbd.

    listeners: name -> {"bind": "127.0.0.1:PORT", "backends": [...], other keys}.
    With ready=True it waits until every listener is bound and listening. At teardown
    each daemon gets SIGTERM (SIGKILL after a bound) and, unless the test said
    otherwise, must exit 0."""
    daemons: list[harness.Ringlbd] = []
    request.node._ringlbd_daemons = daemons

    def start(listeners, ready=True, expect_clean_exit=True, name=None, prefix=(), preexec_fn=None,
              **global_keys):
        name = name or f"ringlbd{len(daemons)}"
        text = harness.render_config(listeners, str(shortdir / f"{name}.sock"), **global_keys)
        daemon = harness.Ringlbd(tmp_path, text, name=name, prefix=prefix, preexec_fn=preexec_fn,
                                 expect_clean_exit=expect_clean_exit)
        daemons.append(daemon)
        daemon.start()
        if ready:
            ports = {n: int(spec["bind"].rsplit(":", 1)[1]) for n, spec in listeners.items()}
            daemon.wait_ready(ports)
        return daemon

    yield start

    problems = []
    for daemon in daemons:
        died_early = daemon.describe_exit()
        stopped_by_test = daemon.returncode is not None
        rc = daemon.stop()
        if daemon.expect_clean_exit and rc != 0:
            if stopped_by_test:
                when = f"{died_early} when the test stopped it"
            elif died_early:
                when = f"{died_early} before teardown, while the test ran"
            else:
                when = f"{daemon.describe_exit()} on SIGTERM at teardown"
            problems.append(f"{daemon.name} {when}; log:\n{daemon.log()}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def root_only_dir():
    """A directory of root's, mode 0755, under /run (root's, 0755): a place only root can
    change, as notify scripts and supervisors' pid files need (docs/security.md).
    Removed with everything in it."""
    import os
    if os.geteuid() != 0:
        pytest.skip("needs root: the files must be root's")
    path = tempfile.mkdtemp(prefix=f"ringlb-root-only-{os.getpid()}-", dir="/run")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
