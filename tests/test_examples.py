"""The service definitions in examples/, run as they are under the real
supervisors (daemontools' supervise + multilog, s6-supervise + s6-log,
runit's runsv + svlogd) and through systemd-socket-activate with each
unit's ExecStart line.  Every supervisor is stopped through its own
control interface and reaped by its pid."""

import configparser
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from conftest import ROOT, make_env
from servers import Activated, read_to_eof, wait_for

EXAMPLES = os.path.join(ROOT, "examples")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
RUNIT_UNPACKED = os.path.join(ROOT, ".ci", "ref", "runit", "usr", "bin")

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(VENV_BIN, "tcpserver-bind")),
    reason="the examples call the programs by name: run from scripts/test.sh (.venv)")


def _tool(name):
    found = shutil.which(name) or shutil.which(name, path=RUNIT_UNPACKED)
    if found is None:
        pytest.skip("%s not installed (.ci/run installs daemontools, s6 and runit)" % name)
    return found


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_env(extra_path=()):
    env = make_env()
    env["PATH"] = os.pathsep.join([VENV_BIN, *extra_path, env.get("PATH", "/usr/bin:/bin")])
    return env


class Supervised:
    """examples/SUPERVISOR/hello copied to a directory the service user can
    read (links resolved), with a free port written to env/PORT."""

    def __init__(self, supervisor, name="hello"):
        self.base = tempfile.mkdtemp(prefix="netchain-example-")
        os.chmod(self.base, 0o755)  # the service user runs ./greet from here
        self.dir = os.path.join(self.base, name)
        shutil.copytree(os.path.join(EXAMPLES, supervisor, name), self.dir, symlinks=False)
        self.port = None
        self.new_port()
        self.procs = []

    def new_port(self):
        self.port = _free_port()
        with open(os.path.join(self.dir, "env", "PORT"), "w") as handle:
            handle.write("%d\n" % self.port)

    def log(self):
        try:
            with open(os.path.join(self.dir, "log", "main", "current"), "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, text, count=1, timeout=20):
        assert wait_for(lambda: self.log().count(text) >= count, timeout), \
            "not logged: %r\n%s" % (text, self.log())

    def wait_serving(self):
        """Wait for tcpserverd's start; a port taken meanwhile by someone
        else is replaced, and the supervisor runs ./run again with it."""
        def started():
            log = self.log()
            if "tcpserverd: info: starting" in log:
                return True
            if "unable to bind" in log.rsplit("tcpserver-bind", 1)[-1]:
                self.new_port()
            return False
        assert wait_for(started, 30), "the service did not start:\n" + self.log()

    def reap(self, timeout=20):
        for proc in self.procs:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("supervisor pid %d did not exit" % proc.pid) from None

    def cleanup(self, stop=None):
        """After a failure too: the service brought down through its
        supervisor, then each supervisor's process group (it and what it
        runs) killed by the supervisor's pid, so nothing is left running."""
        if stop is not None and any(proc.poll() is None for proc in self.procs):
            try:
                stop()
            except (OSError, subprocess.SubprocessError):
                pass
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def _start_pair(service, supervise, extra_path=()):
    """What svscan and s6-svscan do: a supervisor for the service and one
    for its logger, with a pipe between them."""
    env = _service_env(extra_path)
    read_end, write_end = os.pipe()
    try:
        log = subprocess.Popen([supervise, "log"], cwd=service.dir, stdin=read_end,
                               stdout=subprocess.DEVNULL, env=env, start_new_session=True)
        service.procs.append(log)
        main = subprocess.Popen([supervise, "."], cwd=service.dir, stdin=subprocess.DEVNULL,
                                stdout=write_end, env=env, start_new_session=True)
        service.procs.append(main)
    finally:
        os.close(read_end)
        os.close(write_end)


def _stopper(service, svc):
    """Down and exit: the service first, its supervisor reaped, then the
    logger, so that the daemon's last lines reach the log."""
    def stop():
        log, main = service.procs
        for path, proc in ((service.dir, main), (os.path.join(service.dir, "log"), log)):
            subprocess.run([svc, "-dx", path], check=True, timeout=10)
            proc.wait(timeout=20)
    return stop


def _start_daemontools(service):
    _start_pair(service, _tool("supervise"))
    return _stopper(service, _tool("svc"))


def _start_s6(service):
    _start_pair(service, _tool("s6-supervise"))
    return _stopper(service, _tool("s6-svc"))


def _start_runit(service):
    runsv = _tool("runsv")
    service.procs.append(subprocess.Popen(
        [runsv, service.dir], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        env=_service_env([os.path.dirname(runsv)]), start_new_session=True))
    control = os.path.join(service.dir, "supervise", "control")
    assert wait_for(lambda: os.path.exists(control), 10), "runsv made no control fifo"

    def stop():  # runsv's control fifo: down, then exit (runsv stops the logger too)
        fd = os.open(control, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, b"dx")
        finally:
            os.close(fd)
    return stop


def _greeting(port, source, timeout=10):
    """Connect from source; return (socket, first line) (b"" if closed)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))
    line = b""
    while not line.endswith(b"\n"):
        chunk = sock.recv(200)
        if not chunk:
            break
        line += chunk
    return sock, line


def _uid_of(pid):
    with open("/proc/%d/status" % pid) as handle:
        return int(re.search(r"^Uid:\s+(\d+)", handle.read(), re.M).group(1))


@pytest.mark.skipif(os.geteuid() != 0, reason="the examples drop privileges to nobody: root only")
@pytest.mark.parametrize("supervisor", ["daemontools", "s6", "runit"])
def test_run_script_under_its_supervisor(supervisor):
    start = {"daemontools": _start_daemontools, "s6": _start_s6, "runit": _start_runit}[supervisor]
    service = Supervised(supervisor)
    held, stop = [], None
    try:
        stop = start(service)
        service.wait_serving()
        if supervisor == "s6":  # readiness: tcpserverd -1 on notification-fd 3
            subprocess.run([_tool("s6-svwait"), "-U", "-t", "20000", service.dir],
                           check=True, timeout=30)
        port = service.port
        # five connections from 127.0.0.1 (PERIP is 5), each held open
        for number in range(1, 6):
            sock, line = _greeting(port, "127.0.0.1")
            held.append(sock)
            assert line == b"welcome 127.0.0.1 (%d already open)\n" % (number - 1)
        # the sixth from the same address: refused by tcpserverd -C
        sock, line = _greeting(port, "127.0.0.1")
        sock.close()
        assert line == b""
        service.wait_log("tcpserverd: info: deny 127.0.0.1 port ")
        # the program runs as RUNAS (nobody), not as the supervisor's root
        pids = [int(pid) for pid in re.findall(r"allow 127\.0\.0\.1 port \d+ pid (\d+)", service.log())]
        assert len(pids) == 5
        assert _uid_of(pids[-1]) == pwd.getpwnam("nobody").pw_uid
        # the rules tree denies the rest of 127.0.0.0/8
        sock, line = _greeting(port, "127.0.0.2")
        sock.close()
        assert line == b""
        service.wait_log("tcpserver-access: info: deny 127.0.0.2 key ip4/127.0.0.0_8")
        held[0].sendall(b"bye\n")
        assert held[0].recv(100) == b"you said: bye\n"
        for sock in held:
            sock.close()
        service.wait_log("tcpserverd: info: end pid ", count=5)
        stop()
        service.reap()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert "tcpserverd: info: exiting" in service.log()
    finally:
        for sock in held:
            sock.close()
        service.cleanup(stop)


@pytest.mark.skipif(os.geteuid() != 0, reason="the examples drop privileges to nobody: root only")
def test_tls_service_under_s6():
    """examples/s6/hello-tls: the key is root's (0600 in a 0700 directory),
    read before the drop; the program runs as nobody behind tlsd."""
    import ssl

    from tlscerts import Certs

    service = Supervised("s6", "hello-tls")
    private = os.path.join(service.base, "private")
    os.mkdir(private, 0o700)
    certs = Certs(private)
    for name, path in (("KEYFILE", certs.server_key), ("CERTFILE", certs.server_cert)):
        with open(os.path.join(service.dir, "env", name), "w") as handle:
            handle.write(path + "\n")
    stop = None
    try:
        stop = _start_s6(service)
        service.wait_serving()
        subprocess.run([_tool("s6-svwait"), "-U", "-t", "20000", service.dir], check=True, timeout=30)
        context = certs.client_context()
        with socket.create_connection(("127.0.0.1", service.port), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(200) == b"welcome 127.0.0.1 (0 already open)\n"
            service.wait_log("tcpserverd: info: allow 127.0.0.1 port ")
            pid = int(re.findall(r"allow 127\.0\.0\.1 port \d+ pid (\d+)", service.log())[0])
            assert _uid_of(pid) == pwd.getpwnam("nobody").pw_uid  # the key was read as root
            tls.sendall(b"bye\n")
            assert tls.recv(200) == b"you said: bye\n"
        service.wait_log("tcpserverd: info: end pid %d " % pid)
        with socket.create_connection(("127.0.0.1", service.port), timeout=10) as plain:
            plain.sendall(b"hello in plain text\n")  # no greeting, no program: at most an alert
            assert b"welcome" not in read_to_eof(plain)
        service.wait_log("tlsd: warning: handshake failed for 127.0.0.1 port ")
        with socket.create_connection(("127.0.0.1", service.port), timeout=10,
                                      source_address=("127.0.0.2", 0)) as raw:
            with pytest.raises((ssl.SSLError, OSError)):  # the rules close it before tlsd
                context.wrap_socket(raw, server_hostname="localhost")
        service.wait_log("tcpserver-access: info: deny 127.0.0.2 key ip4/127.0.0.0_8")
        stop()
        service.reap()
        assert "tcpserverd: info: exiting" in service.log()
    finally:
        service.cleanup(stop)


def _unit(name):
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str
    parser.read(os.path.join(EXAMPLES, "systemd", name))
    return parser


def _exec_start(service_unit):
    """The unit's ExecStart, the program's directory dropped so that the
    programs come from PATH (the test's .venv), as systemd would run it."""
    argv = shlex.split(_unit(service_unit)["Service"]["ExecStart"])
    assert argv[0].startswith("/usr/local/bin/")
    return [os.path.basename(argv[0])] + argv[1:]


def _working_directory():
    base = tempfile.mkdtemp(prefix="netchain-unit-")
    shutil.copytree(os.path.join(EXAMPLES, "rules"), os.path.join(base, "rules"))
    shutil.copy(os.path.join(EXAMPLES, "greet"), base)
    return base


@pytest.mark.parametrize("socket_unit, service_unit, accept", [
    ("hello.socket", "hello.service", False),
    ("hello-accept.socket", "hello-accept@.service", True),
])
def test_systemd_units(socket_unit, service_unit, accept):
    sock_section = _unit(socket_unit)["Socket"]
    assert sock_section.getboolean("Accept") is accept
    assert _unit(service_unit)["Service"]["WorkingDirectory"] == "/etc/netchain/hello"
    workdir = _working_directory()
    options = ["--accept"] if accept else ["--fdname=" + sock_section["FileDescriptorName"]]
    daemon = Activated(options, _exec_start(service_unit), cwd=workdir,
                       path=[VENV_BIN])
    try:
        port = daemon.ports[0]
        held, line = _greeting(port, "127.0.0.1")
        with held:
            assert line == (b"welcome 127.0.0.1\n" if accept else
                            b"welcome 127.0.0.1 (0 already open)\n")
            held.sendall(b"hi\n")
            assert held.recv(100) == b"you said: hi\n"
        denied, line = _greeting(port, "127.0.0.2")
        denied.close()
        assert line == b""
        assert wait_for(lambda: "deny 127.0.0.2 key ip4/127.0.0.0_8" in daemon.log(), 15), daemon.log()
        if not accept:
            assert wait_for(lambda: "tcpserverd: info: allow 127.0.0.1 port" in daemon.log(),
                            15), daemon.log()
    finally:
        code, log = daemon.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    assert "Traceback" not in log
