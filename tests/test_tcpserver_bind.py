"""tcpserver-bind: addresses, ports, privilege drop, errors."""

import os
import socket

import pytest

from conftest import run
from servers import Served, prog

SHOW = ["sh", "-c", 'echo "$TCPREMOTEIP $TCPLOCALIP $(id -u) $(id -g) $(id -G)"']


def bind(host, *opts, chain=SHOW):
    return Served(prog("tcpserver-bind") + list(opts) + [host, "0"] + prog("tcpserverd") + ["-1"] + chain,
                  host=host)


def test_ipv4():
    server = bind("127.0.0.1")
    try:
        assert server.talk().startswith(b"127.0.0.1 127.0.0.1 ")
    finally:
        server.stop()


def test_ipv6_loopback():
    server = bind("::1")
    try:
        assert server.talk().startswith(b"::1 ::1 ")
    finally:
        server.stop()


def test_dual_stack_reports_ipv4_peers_as_ipv4():
    server = bind("::")
    try:
        assert server.talk().startswith(b"127.0.0.1 127.0.0.1 ")
        with socket.create_connection(("::1", server.port), timeout=5) as sock:
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(100).startswith(b"::1 ::1 ")
    finally:
        server.stop()


IDS = ["sh", "-c", "echo $(id -u) $(id -g) $(id -G)"]


# The dropped program is sh, not the daemon: the machine's Python may live
# where an unprivileged user cannot reach it.
@pytest.mark.parametrize("opts,expected", [
    (["-u", "65534", "-g", "65533", "-G", "65533,65532"], [b"65534", b"65533", b"65532", b"65533"]),
    (["-u", "65534", "-g", "0"], [b"65534", b"0", b"0"]),  # gid 0: groups still reset
    (["-U"], [b"65534", b"65531", b"65531"]),
])
@pytest.mark.skipif(os.geteuid() != 0, reason="changing ids needs root")
def test_privilege_drop(opts, expected):
    result = run("tcpserver-bind", *opts, "127.0.0.1", "0", *IDS,
                 env={"UID": "65534", "GID": "65531"}, unset=("GIDLIST",))
    assert result.returncode == 0, result.stderr
    out = result.stdout.split()
    assert out[:2] + sorted(out[2:]) == expected[:2] + sorted(expected[2:])


def test_service_name_port_and_usage():
    result = run("tcpserver-bind", "127.0.0.1", "no-such-service", "true")
    assert result.returncode == 100
    assert result.stderr.startswith(b"tcpserver-bind: fatal: unknown port")
    result = run("tcpserver-bind", "-b", "x", "127.0.0.1", "0", "true")
    assert result.returncode == 100
    assert result.stderr.startswith(b"tcpserver-bind: usage: ")


def test_address_in_use():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = run("tcpserver-bind", "-D", "127.0.0.1", port, "true")
    assert result.returncode == 111
    assert result.stderr.startswith(b"tcpserver-bind: fatal: unable to bind to 127.0.0.1 port ")


@pytest.mark.parametrize("missing,code", [("/nonexistent/prog", 127), ("/etc/hostname", 126)])
def test_exec_failure_codes(missing, code):
    result = run("tcpserver-bind", "127.0.0.1", "0", missing)
    assert result.returncode == code
    assert result.stderr.startswith(b"tcpserver-bind: fatal: unable to exec ")


def _nobody_can_run_python():
    """Whether uid 65534 can start this interpreter (not when it lives
    under a private home, as with pyenv under /root)."""
    import subprocess
    import sys
    try:
        return subprocess.run([sys.executable, "-c", "0"], user=65534, group=65534,
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


DROP = ["-u", "65534", "-g", "65534"]
WHO = ["sh", "-c", "id -u"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing ids needs root")
@pytest.mark.parametrize("front_end", ["bind", "tcpserver"])
def test_dropped_daemon_serves_from_any_install(front_end):
    """The daemon continues in the process that dropped privileges, so it
    serves even when the service user cannot read the interpreter."""
    if front_end == "bind":
        argv = prog("tcpserver-bind") + DROP + ["127.0.0.1", "0"] + prog("tcpserverd") + ["-1"] + \
            prog("tcp-env") + ["-H"] + WHO
    else:
        argv = prog("tcpserver") + ["-1"] + DROP + ["-HRl0", "127.0.0.1", "0"] + WHO
    server = Served(argv)
    try:
        assert server.talk() == b"65534\n"
    finally:
        assert server.stop()[0] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="changing ids needs root")
def test_exec_mode_names_the_file_the_user_cannot_reach():
    argv = prog("tcpserver-bind") + DROP + ["127.0.0.1", "0"] + prog("tcpserverd") + ["-1", "-X"] + \
        prog("tcp-env") + ["-H"] + WHO
    server = Served(argv)
    try:
        answer = server.talk()
        if _nobody_can_run_python():
            assert answer == b"65534\n"
        else:
            assert answer == b""
            server.wait_log("cannot reach ")
    finally:
        code, log = server.stop()
    assert code == 0
    if answer == b"":
        line = [text for text in log.splitlines() if "cannot reach" in text][0]
        assert line.startswith("tcpserverd: warning: unable to spawn ")
        assert "uid 65534 cannot reach /" in line


def test_reuseport_lets_instances_share_a_port():
    """-r: a second instance binds the same port and the kernel gives it
    connections too; an instance without -r cannot bind it."""
    def instance(port, name, *opts):
        return Served(prog("tcpserver-bind") + list(opts) + ["127.0.0.1", str(port)] +
                      prog("tcpserverd") + ["-1", "echo", name])
    first = instance(0, "first", "-r")
    second = None
    try:
        second = instance(first.port, "second", "-r")
        assert second.port == first.port
        refused = run("tcpserver-bind", "127.0.0.1", first.port, "true")
        assert refused.returncode == 111
        assert refused.stderr.startswith(b"tcpserver-bind: fatal: unable to bind to 127.0.0.1 port ")
        seen = set()
        for _ in range(400):  # each connection goes to either: 400 to one alone is 2**-399
            seen.add(first.talk())
            if seen == {b"first\n", b"second\n"}:
                break
        assert seen == {b"first\n", b"second\n"}
    finally:
        first.stop()
        if second is not None:
            second.stop()
