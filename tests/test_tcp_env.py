"""tcp-env with a fake DNS server on loopback (never the system resolver)."""

import socket
import subprocess
import sys

import pytest

from conftest import ROOT
from fakes import FakeDNS
from servers import prog, serve

SHOW = ["sh", "-c", 'echo "${TCPREMOTEHOST-unset} ${TCPLOCALHOST-unset} $TCPREMOTEIP"']
PTR = "1.0.0.127.in-addr.arpa"


@pytest.fixture
def dns_server():
    servers = []

    def make(**kw):
        servers.append(FakeDNS(**kw))
        return servers[-1]
    yield make
    for server in servers:
        server.close()


def test_reverse_name(mode, dns_server):
    dns = dns_server(answers={(PTR, "PTR"): ["Host.Example.COM."]})
    server = serve(mode, [], prog("tcp-env") + ["-h", "-l", "me.local"] + SHOW, env=dns.env())
    try:
        assert server.talk() == b"host.example.com me.local 127.0.0.1\n"
    finally:
        server.stop()
    assert (PTR, "PTR") in dns.queries


def test_no_lookup_by_default(mode, dns_server):
    dns = dns_server(answers={(PTR, "PTR"): ["x.example."]})
    server = serve(mode, [], prog("tcp-env") + SHOW, env=dns.env())
    try:
        assert server.talk() == b"unset unset 127.0.0.1\n"
    finally:
        server.stop()
    assert dns.queries == []


@pytest.mark.parametrize("forward,expected", [
    (["127.0.0.1"], b"good.example"),
    (["10.9.9.9"], b"unset"),          # lying PTR: forgotten, connection goes on
])
def test_paranoid(mode, dns_server, forward, expected):
    dns = dns_server(answers={(PTR, "PTR"): ["good.example."],
                              ("good.example", "A"): forward})
    server = serve(mode, [], prog("tcp-env") + ["-p"] + SHOW, env=dns.env())
    try:
        assert server.talk() == expected + b" unset 127.0.0.1\n"
    finally:
        code, log = server.stop()
    if expected == b"unset":
        assert "tcp-env: info: forgetting good.example for 127.0.0.1" in log


def test_hostile_name_is_not_used(mode, dns_server):
    dns = dns_server(answers={(PTR, "PTR"): ["evil\\010name.example."]})
    server = serve(mode, [], prog("tcp-env") + ["-h"] + SHOW, env=dns.env())
    try:
        assert server.talk() == b"unset unset 127.0.0.1\n"
    finally:
        server.stop()


def test_silent_server_times_out_and_goes_on(mode, dns_server):
    dns = dns_server(silent={PTR})
    server = serve(mode, [], prog("tcp-env") + ["-h", "-t", "500"] + SHOW, env=dns.env())
    try:
        assert server.talk(timeout=10) == b"unset unset 127.0.0.1\n"
    finally:
        code, log = server.stop()
    assert "tcp-env: warning: unable to resolve " in log


def test_alone_on_a_socket_like_inetd():
    """tcp-env run directly with a connected socket on fd 0."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    conn, _ = listener.accept()
    client_port = client.getsockname()[1]
    env = {"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin", "TCPREMOTEHOST": "stale"}
    result = subprocess.run([sys.executable, "-m", "netchain", "tcp-env", "sh", "-c",
                             'echo "$PROTO $TCPREMOTEIP $TCPREMOTEPORT ${TCPREMOTEHOST-unset}"'],
                            stdin=conn, capture_output=True, env=env, timeout=30)
    for sock in (conn, client, listener):
        sock.close()
    assert result.returncode == 0
    assert result.stdout == b"TCP 127.0.0.1 %d unset\n" % client_port


def test_not_a_socket():
    result = subprocess.run([sys.executable, "-m", "netchain", "tcp-env", "true"],
                            stdin=subprocess.DEVNULL, capture_output=True,
                            env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"}, timeout=30)
    assert result.returncode == 111
    assert result.stderr.startswith(b"tcp-env: fatal: unable to read the socket on fd 0")
