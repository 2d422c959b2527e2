"""connlimit: per-IP limit from rules (TCPCONNMAX against TCPCONNNUM)."""


import pytest

from conftest import run
from servers import prog, serve
from test_tcpserver_access import allow, tree


@pytest.mark.parametrize("env,code", [
    ({}, 0), ({"TCPCONNMAX": "2", "TCPCONNNUM": "1"}, 0),
    ({"TCPCONNMAX": "2", "TCPCONNNUM": "2"}, 1), ({"TCPCONNMAX": "x", "TCPCONNNUM": "0"}, 100),
    ({"TCPCONNMAX": "1"}, 100),
])
def test_alone(env, code):
    result = run("connlimit", "true", env=env, unset=("TCPCONNMAX", "TCPCONNNUM"))
    assert result.returncode == code
    if code == 1:
        assert result.stderr.startswith(b"connlimit: info: too many TCP connections")


def test_limit_from_a_rule(mode, tmp_path):
    root = tree(tmp_path, {"ip4/127.0.0.1_32": allow(TCPCONNMAX="1")})
    chain = prog("tcpserver-access") + ["-H", "-i", root] + prog("connlimit") + ["sh", "-c", "echo in; exec cat"]
    server = serve(mode, ["-v2"], chain)
    try:
        first = server.connect()
        assert first.recv(10) == b"in\n"
        assert server.talk() == b""  # second from the same IP: over the rule's limit
        first.close()  # its program ends
        server.wait_log("tcpserverd: info: end pid ", count=1 if mode == [] else 2)
        assert server.talk() == b"in\n"
    finally:
        code, log = server.stop(until=["connlimit: info: too many TCP connections from 127.0.0.1"])
    assert code == 0
