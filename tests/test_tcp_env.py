"""tcp-env with a fake DNS server on loopback (never the system resolver)."""

import signal
import socket
import subprocess
import sys

import pytest

from conftest import ROOT
from fakes import FakeDNS
from servers import prog, serve, wait_for

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


def test_slow_lookups_hold_no_other_client_and_no_exit(dns_server):
    """Fused: 70 clients whose PTR lookups are never answered (more than
    any fixed pool of threads would hold): another client is served while
    every one of them still waits; SIGTERM then ends the daemon at once."""
    silent = "2.0.0.127.in-addr.arpa"
    dns = dns_server(answers={(PTR, "PTR"): ["fast.example."]}, silent={silent})
    server = serve([], ["-c", "100"], prog("tcp-env") + ["-h", "-t", "60000"] + SHOW,
                   env=dns.env())
    waiting = []
    try:
        for _ in range(70):
            waiting.append(socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                                    source_address=("127.0.0.2", 0)))
        assert wait_for(lambda: sum(q[0] == silent for q in dns.queries) >= 70, timeout=30)
        assert server.talk(timeout=10) == b"fast.example unset 127.0.0.1\n"
        for sock in waiting:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)  # its lookup is still going on
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=15)  # the lookups would last 30 s more
    finally:
        code, _ = server.stop()
        for sock in waiting:
            sock.close()
    assert code == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_dns_is_imported_only_for_a_lookup():
    code = ("import sys; from netchain import tcp_env, tcpserver_access, tcpserver_rules, tcpserverd; "
            "print(sorted(m for m in sys.modules if m == 'dns' or m.startswith('dns.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30,
                            env={"PYTHONPATH": ROOT})
    assert result.stdout == b"[]\n", result.stderr


@pytest.mark.parametrize("raw", [
    lambda query: bytes(range(256)) * 8,                       # 2,048 bytes of garbage
    lambda query: query.to_wire()[:2] + b"\x81\x80" + b"\xff" * 2000,  # a header, then junk
    lambda query: b"\x00\x00" + query.to_wire()[2:],           # wrong query id
])
def test_hostile_dns_answers_leave_no_name(mode, dns_server, raw):
    dns = dns_server(raw={PTR: raw})
    server = serve(mode, [], prog("tcp-env") + ["-h", "-t", "800"] + SHOW, env=dns.env())
    try:
        assert server.talk(timeout=10) == b"unset unset 127.0.0.1\n"
        assert server.proc.poll() is None
    finally:
        server.stop()


@pytest.mark.parametrize("options", [["--accept"], ["--accept", "--inetd"]])
def test_under_systemd_accept_yes(options):
    """Accept=yes (the connection on fd 3, LISTEN_FDS=1) and inetd style
    (fd 0 and 1): the program gets the connection on fd 0 and 1 and the
    TCP variables, and no LISTEN_* variable."""
    from servers import Activated
    show = ["sh", "-c", 'echo "$PROTO $TCPREMOTEIP $TCPLOCALPORT ${LISTEN_FDS-gone}"; head -c 2']
    daemon = Activated(options, prog("tcp-env") + show)
    try:
        port = daemon.ports[0]
        assert daemon.talk(port, b"hi") == b"TCP 127.0.0.1 %d gone\nhi" % port
    finally:
        daemon.stop()


@pytest.mark.parametrize("letters,dns,paranoid", [
    (["-p"], True, True), (["-p", "-H"], False, True), (["-H", "-p"], True, True),
    (["-h"], True, False), ([], False, False),
])
def test_the_last_lookup_letter_wins(letters, dns, paranoid):
    from netchain import tcp_env
    config, _ = tcp_env.parse(["tcp-env"] + letters + ["true"])
    assert (config.dns, config.paranoid) == (dns, paranoid)
