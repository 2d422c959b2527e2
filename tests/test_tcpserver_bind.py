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
