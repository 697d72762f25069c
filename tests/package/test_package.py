"""The Debian package end to end: lintian, the unit file, the man pages, then install
build/ringlb_<version>_<arch>.deb, run the installed ringlbd the way its systemd unit
would (user ringlb, only its four capabilities, LimitNOFILE, sd_notify socket,
RuntimeDirectory), drive it with the installed ringlbctl, rotate its access log with
the installed logrotate file, stop it by PID, purge, and check nothing is left.

Root only (it installs a package, adds a user). `make test-package` builds the .deb
first. Traffic stays on 127.0.0.1; every wait is bounded; the daemon and the backend
are stopped by the test, by PID.
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import socketserver
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = re.search(r'#define RINGLB_VERSION "([^"]+)"', (ROOT / "core/base/version.h").read_text()).group(1)
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
DEB = ROOT / "build" / f"ringlb_{VERSION}_{ARCH}.deb"
CHANGES = ROOT / "build" / "deb" / f"ringlb_{VERSION}_{ARCH}.changes"
UNIT_SOURCE = ROOT / "packaging/ringlb.service"

CONF = Path("/etc/ringlb/ringlb.conf")
RUN_DIR = Path("/run/ringlb")
SOCKET = RUN_DIR / "ringlbd.sock"
LOG_DIR = Path("/var/log/ringlb")
ACCESS_LOG = LOG_DIR / "access.log"
UNIT = Path("/lib/systemd/system/ringlb.service")
CAPS = "net_admin,net_raw,net_bind_service,setpcap"
# NET_BIND_SERVICE, NET_ADMIN, NET_RAW; SETPCAP: a notify script's bounding set is cleared
CAP_MASK = (1 << 10) | (1 << 12) | (1 << 13) | (1 << 8)
FAMILIES = {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"}  # RestrictAddressFamilies
SETPRIV = ["setpriv", "--reuid=ringlb", "--regid=ringlb", "--init-groups",
           f"--inh-caps=+{CAPS.replace(',', ',+')}", f"--ambient-caps=+{CAPS.replace(',', ',+')}",
           f"--bounding-set=-all,+{CAPS.replace(',', ',+')}", "--no-new-privs"]
# LimitNOFILE=1048576, or as close as this machine lets root go (a container
# without CAP_SYS_RESOURCE cannot raise its hard limit).
_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
NOFILE = 1048576 if _hard == resource.RLIM_INFINITY else min(1048576, _hard)
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}

NO_DEB = f"{DEB.relative_to(ROOT)} missing: run `make test-package`"


def stale_deb_reason() -> str:
    """Why build/ringlb_*.deb does not reflect the tree ("" when it does): a source
    or packaging file newer than the package."""
    built = DEB.stat().st_mtime
    for top in ("core", "vrrp", "cli", "packaging"):
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and path.stat().st_mtime > built:
                return f"{DEB.relative_to(ROOT)} is older than {path.relative_to(ROOT)}: run `make test-package`"
    return ""


def run(*args, check=True, timeout=120, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=ENV, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {result.returncode}\n"
                             f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def wait_for(what, predicate, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def installed() -> bool:
    r = run("dpkg-query", "-W", "-f=${Status}", "ringlb", check=False)
    return r.returncode == 0 and r.stdout.strip() == "install ok installed"


def free_port(low, high) -> int:
    for port in range(low, high):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError(f"no free port in {low}..{high}")


def syscall_allow_list() -> set[str]:
    """The syscalls the unit's SystemCallFilter= lines allow, groups expanded by
    systemd-analyze itself."""
    lines = [l.split("=", 1)[1].split() for l in UNIT_SOURCE.read_text().splitlines()
             if l.startswith("SystemCallFilter=") and not l.startswith("SystemCallFilter=~")]
    assert lines, "the unit has no SystemCallFilter allow-list"
    names = {n for line in lines for n in line}
    out = run("systemd-analyze", "syscall-filter").stdout
    groups: dict[str, set[str]] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            groups[current] = set()
        elif line.startswith("#"):
            current = None  # the list of syscalls in no group
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].add(line.strip())
    allowed: set[str] = set()

    def add(name):
        if name.startswith("@"):
            for member in groups[name]:
                if member not in allowed:
                    allowed.add(member)
                    add(member)
        else:
            allowed.add(name)

    for name in names:
        add(name)
    return {n for n in allowed if not n.startswith("@")}


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(10)
                while data := self.request.recv(65536):
                    self.request.sendall(data)

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


def echo_through(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    return received


# ----------------------------------------------------------------- static checks


@pytest.mark.skipif(not DEB.exists(), reason=NO_DEB)
def test_lintian_reports_no_errors_and_no_warnings():
    if shutil.which("lintian") is None:
        pytest.skip("lintian not installed (tests/install-deps.sh package)")
    target = CHANGES if CHANGES.exists() else DEB
    r = run("lintian", "--info", "--display-info", "--show-overrides", "--tag-display-limit", "0", str(target),
            check=False, timeout=300)
    print(r.stdout)
    bad = [l for l in r.stdout.splitlines() if re.match(r"^[EW]: ", l)]
    assert not bad, "lintian:\n" + "\n".join(bad)
    assert r.returncode == 0, r.stderr


def test_man_pages_render_without_warnings_and_cover_every_option_command_and_key():
    man = ROOT / "packaging/man"
    for page in man.iterdir():
        r = run("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(page), check=False)
        assert r.returncode == 0 and not r.stderr.strip(), f"{page.name}: {r.stderr}"

    conf5 = (man / "ringlb.conf.5").read_text()
    doc = (ROOT / "docs/configuration.md").read_text()
    keys = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.M)) - {"up", "down", "ready", "drain", "maint"}
    # And every key the parser accepts ({"key", repeatable, ...} rules), documented or not.
    parser = "".join(p.read_text() for p in sorted((ROOT / "core/config").glob("*_section.cc")))
    keys |= set(re.findall(r'\{"([a-z_]+)", (?:true|false),', parser)) - {"global", "listener", "vrrp"}
    assert len(keys) > 30, keys
    # Each key opens a tagged paragraph: ".BI check_port ..." or ".BR splice ...".
    missing = sorted(k for k in keys if not re.search(rf"^\.B[IR]? {re.escape(k)}\b", conf5, re.M))
    assert not missing, f"ringlb.conf(5) lacks these keys (docs/configuration.md, core/config/*_section.cc): {missing}"

    ringlbd8 = (man / "ringlbd.8").read_text().replace("\\-", "-")
    helptext = run(str(ROOT / "build/ringlbd"), "--help").stdout if (ROOT / "build/ringlbd").exists() else ""
    for option in set(re.findall(r"--[a-z][a-z-]+", helptext)) | {"--release"}:
        assert option in ringlbd8, f"ringlbd(8) does not document {option}"

    ringlbctl8 = (man / "ringlbctl.8").read_text().replace("\\-", "-")
    commands = ["status", "listener list", "listener show", "listener add", "listener remove", "backend add",
                "backend remove", "backend set", "stats", "vrrp status", "reload"]
    for command in commands:
        assert re.search(rf"^\.BR? {command}\b|^\.BI \"{command} ", ringlbctl8, re.M), \
            f"ringlbctl(8) does not document '{command}'"
    if (ROOT / "build/ringlbctl").exists():
        usage = run(str(ROOT / "build/ringlbctl"), "--help").stdout
        for option in set(re.findall(r"--[a-z][a-z-]+", usage)):
            assert option in ringlbctl8, f"ringlbctl(8) does not document {option}"


# ------------------------------------------------------------------- installation


@pytest.fixture(scope="module")
def package():
    """Installs the .deb; purges it at the end if a test left it installed."""
    if os.geteuid() != 0:
        pytest.skip("needs root: installs and purges the ringlb package")
    if not DEB.exists():
        pytest.skip(NO_DEB)
    if reason := stale_deb_reason():
        pytest.skip(reason)
    if not installed() and (user_exists("ringlb") or group_exists("ringlb")):
        pytest.skip("a user or group 'ringlb' exists that the package did not create; not touching it")
    if SOCKET.exists():
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(str(SOCKET))
            pytest.skip(f"a ringlbd is already serving {SOCKET}")
        except OSError:
            pass
        finally:
            probe.close()
    run("apt-get", "install", "-y", "-q", str(DEB), timeout=300)
    if Path("/run/systemd/system").exists():
        # systemd started the unit with the example config; the tests run their own.
        run("systemctl", "stop", "ringlb.service", check=False)
    yield
    if installed():
        run("apt-get", "purge", "-y", "-q", "ringlb", check=False, timeout=300)


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def mode_owner(path: Path):
    st = path.stat()
    return stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def test_install_creates_user_directories_and_example_config(package):
    user = pwd.getpwnam("ringlb")
    assert user.pw_uid < 1000 and user.pw_shell in ("/usr/sbin/nologin", "/bin/false"), user
    assert grp.getgrgid(user.pw_gid).gr_name == "ringlb"
    # Not group-writable: members of ringlb change the config through ringlbctl, and only
    # root and the daemon's own user (its write-back) write here (docs/security.md).
    assert mode_owner(Path("/etc/ringlb")) == (0o750, "ringlb", "ringlb")
    assert mode_owner(CONF) == (0o640, "ringlb", "ringlb")
    assert CONF.read_text() == Path("/usr/share/ringlb/ringlb.conf.example").read_text()
    assert mode_owner(LOG_DIR) == (0o2750, "ringlb", "adm")
    for path in ["/usr/sbin/ringlbd", "/usr/bin/ringlbctl", "/etc/logrotate.d/ringlb",
                 "/usr/share/bash-completion/completions/ringlbctl", "/usr/share/man/man8/ringlbd.8.gz",
                 "/usr/share/man/man8/ringlbctl.8.gz", "/usr/share/man/man5/ringlb.conf.5.gz"]:
        assert Path(path).exists(), path
    # Not a conffile: ringlbd rewrites it.
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "ringlb").stdout
    assert "/etc/ringlb/ringlb.conf" not in conffiles
    assert UNIT.read_text() == UNIT_SOURCE.read_text()
    r = run("ringlbd", "--version")
    assert r.stdout.strip() == f"ringlbd {VERSION}"


def test_installed_config_passes_check_as_the_ringlb_user(package):
    r = run(*SETPRIV, "/usr/sbin/ringlbd", "--check", "-c", str(CONF))
    assert "OK" in r.stdout


def test_unit_file_passes_systemd_analyze_verify(package):
    r = run("systemd-analyze", "verify", str(UNIT), check=False)
    output = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and not output, output


def test_reinstalling_keeps_the_administrators_config(package):
    edited = CONF.read_text() + "# edited by the administrator\n"
    CONF.write_text(edited)
    run("dpkg", "-i", str(DEB), timeout=300)
    assert CONF.read_text() == edited
    assert mode_owner(CONF) == (0o640, "ringlb", "ringlb")


# ------------------------------------------------------------ the running daemon


class Daemon:
    """The installed ringlbd started as the unit would start it, optionally under
    strace so that its system calls can be held against the unit's filter."""

    def __init__(self, tmp: Path, trace: bool):
        self.log_path = tmp / "ringlbd.log"
        self.trace_path = tmp / "strace.txt" if trace else None
        self.notify_name = f"ringlb-package-test-{os.getpid()}"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind("\0" + self.notify_name)
        self.messages: list[str] = []
        # RuntimeDirectory=ringlb
        RUN_DIR.mkdir(mode=0o750, exist_ok=True)
        shutil.chown(RUN_DIR, "ringlb", "ringlb")
        command = [*SETPRIV, "/usr/sbin/ringlbd", "-c", str(CONF)]
        if trace:
            command = ["strace", "-f", "-qq", "-s", "0", "-o", str(self.trace_path), *command]
        env = dict(ENV, NOTIFY_SOCKET="@" + self.notify_name, WATCHDOG_USEC="2000000")

        def limits():
            os.umask(0o027)  # UMask=0027
            resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))  # LimitNOFILE=
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (8 << 20, 8 << 20))  # systemd's default

        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd="/",
                                         preexec_fn=limits)
        self.pid = None

    def receive(self, seconds) -> list[str]:
        """Every message that arrives within `seconds`, appended to self.messages."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.notify.settimeout(left)
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except socket.timeout:
                break
        return self.messages

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            if self.pid:
                os.kill(self.pid, signal.SIGTERM)
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        self.notify.close()
        shutil.rmtree(RUN_DIR, ignore_errors=True)


def notify_wired() -> bool:
    return b"NOTIFY_SOCKET" in Path("/usr/sbin/ringlbd").read_bytes()


def strace_works() -> bool:
    return shutil.which("strace") is not None and \
        subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def daemon(package, tmp_path_factory):
    backend = EchoServer()
    spare = EchoServer()
    port = free_port(900, 1000)  # below 1024: needs CAP_NET_BIND_SERVICE
    CONF.write_text(f"""# written by tests/package/test_package.py
[global]
workers = 2
control_socket = {SOCKET}
log_level = info
access_log = {ACCESS_LOG}
shutdown_grace = 2s

[listener.pkgtest]
bind = 127.0.0.1:{port}
backend = 127.0.0.1:{backend.port}
check = tcp
check_interval = 1s
""")
    d = Daemon(tmp_path_factory.mktemp("ringlbd"), trace=strace_works())
    d.port, d.backend, d.spare = port, backend, spare

    def status():
        if d.process.poll() is not None:
            raise AssertionError(f"ringlbd exited {d.process.returncode}:\n{d.log_text()}")
        r = run("ringlbctl", "--json", "--timeout", "2", "status", check=False)
        return r.returncode == 0 and r.stdout

    answer = wait_for("ringlbctl status to answer", status, timeout=20, step=0.1)
    d.pid = int(re.search(r'"pid":(\d+)', answer).group(1))
    yield d
    d.stop()
    backend.stop()
    spare.stop()


def test_daemon_runs_as_ringlb_with_exactly_the_four_capabilities(daemon):
    status = Path(f"/proc/{daemon.pid}/status").read_text()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    uid = pwd.getpwnam("ringlb").pw_uid
    assert fields["Uid"].split() == [str(uid)] * 4
    for cap in ("CapEff", "CapPrm", "CapAmb", "CapBnd"):
        assert int(fields[cap], 16) == CAP_MASK, f"{cap} {fields[cap]}"
    assert fields["NoNewPrivs"].strip() == "1"
    limits = Path(f"/proc/{daemon.pid}/limits").read_text()
    assert re.search(rf"Max open files\s+{NOFILE}\s+{NOFILE}\s", limits), limits
    # The low port was bound by the unprivileged user.
    assert f"127.0.0.1:{daemon.port}" in run("ringlbctl", "listener", "list").stdout


def test_sd_notify_ready_and_watchdog(daemon):
    if not notify_wired():
        pytest.skip("ringlbd does not call sd_notify yet (core/daemon/sd_notify.h not wired into the daemon)")
    messages = daemon.receive(3.5)
    assert any(m.split("\n")[0] == "READY=1" for m in messages), messages
    # WATCHDOG_USEC=2s: a ping every second while the workers make progress.
    assert sum(m == "WATCHDOG=1" for m in messages) >= 2, messages


def test_ringlbctl_works_for_root_and_the_group_and_not_for_others(daemon):
    out = run("ringlbctl", "status").stdout
    assert f"ringlbd {VERSION} (pid {daemon.pid})" in out
    assert mode_owner(SOCKET)[0] == 0o660 and mode_owner(SOCKET)[2] == "ringlb"
    as_group = run("setpriv", "--reuid=nobody", "--regid=ringlb", "--clear-groups", "ringlbctl", "status", check=False)
    assert as_group.returncode == 0, as_group.stderr
    as_other = run("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "ringlbctl", "status",
                   check=False)
    assert as_other.returncode == 2 and "Permission denied" in as_other.stderr, as_other


def test_connections_are_forwarded_and_logged(daemon):
    def backend_up():
        answer = json.loads(run("ringlbctl", "--json", "listener", "show", "pkgtest").stdout)
        return [b["status"] for b in answer["listener"]["backends"]] == ["up"]

    wait_for("the backend to be checked up", backend_up, timeout=10)
    for i in range(5):
        payload = f"hello {i} through the installed ringlbd\n".encode() * 100
        assert echo_through(daemon.port, payload) == payload
    wait_for("5 access log lines", lambda: ACCESS_LOG.exists() and
             ACCESS_LOG.read_text().count("listener=pkgtest") >= 5, timeout=5)
    assert mode_owner(ACCESS_LOG) == (0o640, "ringlb", "adm")


COMPLETE = r"""
source /usr/share/bash-completion/bash_completion
source /usr/share/bash-completion/completions/ringlbctl
COMP_LINE=$1; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
_ringlbctl ringlbctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def test_bash_completion_offers_commands_and_the_daemons_listeners_and_backends(daemon):
    if not Path("/usr/share/bash-completion/bash_completion").exists():
        pytest.skip("bash-completion not installed (tests/install-deps.sh package)")

    def complete(line):
        return sorted(run("bash", "-c", COMPLETE, "complete", line).stdout.split())

    assert complete("ringlbctl ") == sorted(["status", "listener", "backend", "stats", "vrrp", "reload"])
    assert complete("ringlbctl backend ") == ["add", "remove", "set"]
    assert complete("ringlbctl listener show ") == ["pkgtest"]
    assert complete(f"ringlbctl --socket {SOCKET} backend set pkgtest ") == [f"127.0.0.1:{daemon.backend.port}"]
    assert complete("ringlbctl backend set pkgtest 127.0.0.1:1 --state ") == ["drain", "maint", "ready"]


def test_ringlbctl_changes_are_written_back_to_etc_ringlb(daemon):
    spare = f"127.0.0.1:{daemon.spare.port}"
    before = CONF.read_text()
    run("ringlbctl", "backend", "add", "pkgtest", spare, "--weight", "2")
    assert spare in CONF.read_text()
    assert Path(str(CONF) + ".bak").read_text() == before
    run("ringlbctl", "backend", "remove", "pkgtest", spare)
    assert spare not in CONF.read_text()


def test_sighup_reloads_as_execreload_does(daemon):
    text = CONF.read_text().replace("check_interval = 1s", "check_interval = 3s")
    CONF.write_text(text)
    daemon.receive(0.01)
    os.kill(daemon.pid, signal.SIGHUP)
    wait_for("the reload to be logged", lambda: "reloaded" in daemon.log_text(), timeout=10)
    assert "3s" in run("ringlbctl", "listener", "show", "pkgtest").stdout
    if notify_wired():
        messages = daemon.receive(1)
        firsts = [m.split("\n")[0] for m in messages]
        assert "RELOADING=1" in firsts and "READY=1" in firsts[firsts.index("RELOADING=1"):], messages


def test_logrotate_rotates_and_the_daemon_reopens_the_access_log(daemon, tmp_path):
    assert echo_through(daemon.port, b"before rotation\n") == b"before rotation\n"
    wait_for("a line before rotation", lambda: ACCESS_LOG.read_text().count("listener=pkgtest") >= 6, timeout=5)
    lines_before = ACCESS_LOG.read_text().count("\n")
    # Outside systemd the logrotate file signals only the PID in the root-owned pid file
    # a supervisor wrote (start-stop-daemon --make-pidfile does), and only if it is ringlbd.
    pidfile = Path("/run/ringlbd.pid")
    pidfile.write_text(f"{daemon.pid}\n")
    pidfile.chmod(0o644)
    try:
        r = run("logrotate", "-v", "-f", "-s", str(tmp_path / "state"), "/etc/logrotate.d/ringlb", check=False)
    finally:
        pidfile.unlink(missing_ok=True)
    assert r.returncode == 0, r.stdout + r.stderr
    rotated = LOG_DIR / "access.log.1"
    assert rotated.exists() and rotated.read_text().count("\n") == lines_before
    wait_for("the reopen to be logged", lambda: "reopening the access log" in daemon.log_text(), timeout=5)
    assert echo_through(daemon.port, b"after rotation\n") == b"after rotation\n"
    wait_for("a line in the new access.log",
             lambda: ACCESS_LOG.exists() and "listener=pkgtest" in ACCESS_LOG.read_text(), timeout=5)
    assert rotated.read_text().count("\n") == lines_before


def test_sigterm_stops_it_cleanly_and_release_runs_as_execstoppost(daemon):
    os.kill(daemon.pid, signal.SIGTERM)
    assert daemon.process.wait(timeout=20) == 0, daemon.log_text()
    if notify_wired():
        assert "STOPPING=1" in [m.split("\n")[0] for m in daemon.receive(0.5)]
    if "--release" not in run("ringlbd", "--help").stdout:
        pytest.skip("ringlbd has no --release yet (ExecStopPost)")
    r = run(*SETPRIV, "/usr/sbin/ringlbd", "--release", "-c", str(CONF), check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_system_calls_and_socket_families_fit_the_units_filters(daemon):
    if daemon.trace_path is None:
        pytest.skip("strace missing or ptrace not permitted here")
    assert daemon.process.poll() is not None, "runs after the daemon stopped"
    used: set[str] = set()
    families: set[str] = set()
    started = False
    for line in daemon.trace_path.read_text(errors="replace").splitlines():
        if not started:
            # Only what ringlbd does; setpriv's own calls are systemd's job under the unit.
            started = 'execve("/usr/sbin/ringlbd"' in line and line.rstrip().endswith("= 0")
            continue
        m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
        if m:
            used.add(m.group(1))
        f = re.match(r"^\d+\s+socket\((AF_[A-Z0-9]+)", line)
        if f:
            families.add(f.group(1))
    assert started, "the trace has no execve of ringlbd"
    assert {"io_uring_setup", "io_uring_enter"} <= used, sorted(used)
    blocked = sorted(used - syscall_allow_list())
    assert not blocked, f"ringlbd calls {blocked}, which the unit's SystemCallFilter= would refuse"
    assert families <= FAMILIES, f"socket families outside RestrictAddressFamilies=: {families - FAMILIES}"


# -------------------------------------------------------------- VRRP, in a netns


def test_vrrp_master_adds_the_vip_and_release_hands_it_back_after_a_crash(package):
    """The unprivileged daemon becomes VRRP master on a veth interface in a network
    namespace made here: it adds the VIP (rtnetlink, CAP_NET_ADMIN) and sends adverts
    (raw socket, CAP_NET_RAW). After a SIGKILL the VIP is still there, and
    `ringlbd --release` (ExecStopPost) removes it."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2 not installed")
    ns = f"rlbpkg{os.getpid()}"
    vip = "198.51.100.100"
    workdir = Path(tempfile.mkdtemp(prefix="rlbpkg-"))  # pytest's tmp_path is root-only
    shutil.chown(workdir, "ringlb", "ringlb")
    # A notify script where only root may change it (docs/security.md), reporting what
    # it runs with into the daemon's workdir: it must have no capability at all.
    scripts = Path(tempfile.mkdtemp(prefix=f"rlbpkg-notify-{os.getpid()}-", dir="/run"))
    scripts.chmod(0o755)
    notify = scripts / "notify.sh"
    notify.write_text(f"#!/bin/sh\ngrep -E '^(Cap|NoNewPrivs|Uid)' /proc/self/status > {workdir}/notify-$2\n")
    notify.chmod(0o755)
    conf = workdir / "ringlb.conf"
    ctl = workdir / "ctl.sock"
    conf.write_text(f"""[global]
workers = 1
control_socket = {ctl}
shutdown_grace = 0

[listener.web]
bind = {vip}:80
backend = 127.0.0.1:9

[vrrp.vip1]
interface = d0
vrid = 51
priority = 150
advert_interval = 100ms
vip = {vip}/24
garp_repeat = 0
notify = {notify}
""")
    shutil.chown(conf, "ringlb", "ringlb")
    in_ns = ["ip", "netns", "exec", ns]

    def vip_present():
        out = run("ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "d0").stdout
        return f" {vip}/24 " in out

    run("ip", "netns", "add", ns)
    daemon = None
    try:
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
        run("ip", "-n", ns, "addr", "add", "198.51.100.2/24", "dev", "d0")
        run("ip", "-n", ns, "link", "set", "d0", "up")
        run("ip", "-n", ns, "link", "set", "d1", "up")
        run(*in_ns, *SETPRIV, "/usr/sbin/ringlbd", "--check", "-c", str(conf))
        log = open(workdir / "ringlbd.log", "w")
        daemon = subprocess.Popen([*in_ns, *SETPRIV, "/usr/sbin/ringlbd", "-c", str(conf)], stdout=log,
                                  stderr=subprocess.STDOUT, env=ENV, cwd="/")

        def master():
            if daemon.poll() is not None:
                raise AssertionError(f"ringlbd exited {daemon.returncode}:\n{(workdir / 'ringlbd.log').read_text()}")
            return vip_present()

        wait_for("the VIP on d0", master, timeout=10)
        status = run("ringlbctl", "--socket", str(ctl), "vrrp", "status").stdout
        assert "MASTER" in status, status
        seen = workdir / "notify-MASTER"
        wait_for("the notify script's MASTER run", lambda: seen.exists() and "CapAmb" in seen.read_text(), timeout=5)
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert f"{cap}:\t0000000000000000" in seen.read_text(), seen.read_text()
        # Listening on port 80 as ringlb: CAP_NET_BIND_SERVICE.
        assert "yes" in run("ringlbctl", "--socket", str(ctl), "listener", "list").stdout

        daemon.kill()  # a crash: no priority-0 advert, the VIP stays
        daemon.wait(timeout=10)
        log.close()
        assert vip_present()
        r = run(*in_ns, *SETPRIV, "/usr/sbin/ringlbd", "--release", "-c", str(conf))
        assert "1 VRRP instance(s) released" in r.stdout, r.stdout + r.stderr
        assert not vip_present()
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait(timeout=10)
        run("ip", "netns", "delete", ns, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(scripts, ignore_errors=True)


# ------------------------------------------------------------------------ purge


def test_purge_removes_everything_the_package_created(package):
    assert installed()
    run("apt-get", "purge", "-y", "-q", "ringlb", timeout=300)
    assert not installed()
    left = [p for p in ["/etc/ringlb", "/var/log/ringlb", "/run/ringlb", "/usr/share/ringlb", "/usr/sbin/ringlbd",
                        "/usr/bin/ringlbctl", "/etc/logrotate.d/ringlb", str(UNIT),
                        "/etc/systemd/system/multi-user.target.wants/ringlb.service",
                        "/usr/share/bash-completion/completions/ringlbctl", "/usr/share/doc/ringlb",
                        "/usr/share/man/man8/ringlbd.8.gz", "/usr/share/man/man5/ringlb.conf.5.gz"]
            if os.path.lexists(p)]
    left += [str(p) for p in Path("/var/lib/systemd/deb-systemd-helper-enabled").rglob("ringlb*")]
    assert not left, f"left behind: {left}"
    assert not user_exists("ringlb"), "user ringlb left behind"
    assert not group_exists("ringlb"), "group ringlb left behind"
    assert run("dpkg-query", "-W", "ringlb", check=False).returncode != 0 or \
        "not-installed" in run("dpkg-query", "-W", "-f=${Status}", "ringlb", check=False).stdout
