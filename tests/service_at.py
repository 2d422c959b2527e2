"""who@, date@ and finger@ ask fixed ports (11, 13, 79): the tests serve
them on 127.0.0.1, which only root may do."""

import os

import pytest

from companions import same
from fakes import ReplyServer

# what such servers answer: CR LF lines, a control byte and a high byte for cat -v
ANSWER = b"user1    tty1   Dec  6 05:00\r\nuser2 \x01\x7f\xe9 \r\nno newline\r"


def fixed_port_server(port, reply=lambda got: ANSWER, until=b""):
    if os.geteuid() != 0:
        pytest.skip("port %d: root only" % port)
    try:
        return ReplyServer(reply, until=until, address=("127.0.0.1", port))
    except OSError as exc:
        pytest.skip("port %d on 127.0.0.1: %s" % (port, exc))


def check_asked_port(name, port):
    """name (who@, date@) prints what port says as Debian's does, and
    fails as it does with nothing listening."""
    server = fixed_port_server(port)
    try:
        result = same(name, "127.0.0.1")
    finally:
        server.close()
    assert result.returncode == 0
    assert result.stdout.startswith(ANSWER.split(b"\r\n")[0] + b"\n")
    assert b"^A^?M-i" in result.stdout
    result = same(name, "127.0.0.2")
    assert result.stderr.startswith(b"tcpclient: unable to connect to 127.0.0.2 port %d" % port)
