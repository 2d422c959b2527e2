"""ident-lookup against a fake identd on loopback (IDENTPORT)."""

import pytest
from hypothesis import given, strategies as st

from fakes import FakeIdentd, ident_answer
from netchain import identclient
from servers import prog, serve

SHOW = ["sh", "-c", 'echo "${TCPREMOTEINFO-unset}"']


@pytest.mark.parametrize("reply,expected", [
    (ident_answer(b"alice"), b"alice"),
    (lambda line: line.strip() + b" : ERROR : NO-USER\r\n", b"unset"),
    (lambda line: b"1 , 2 : USERID : UNIX : mallory\r\n", b"unset"),      # wrong ports
    (ident_answer(b"bad\x00user"), b"unset"),
    (ident_answer(b"{evil}"), b"{evil}"),                                # data, not a template
    (ident_answer(b"%s%n"), b"%s%n"),
    (ident_answer(b"a\x01b"), b"unset"),                                 # control bytes
    (ident_answer(b"esc\x1b[2J"), b"unset"),
    (ident_answer(b"del\x7f"), b"unset"),
    (ident_answer(b"x" * 2000), b"unset"),                               # over-long line
    (lambda line: None, b"unset"),                                       # silent: timeout
])
def test_answers(mode, reply, expected):
    identd = FakeIdentd(reply)
    env = dict(identd.env(), TCPREMOTEINFO="stale")
    server = serve(mode, [], prog("ident-lookup") + ["-t", "1000"] + SHOW, env=env)
    try:
        assert server.talk(timeout=10) == expected + b"\n"
    finally:
        server.stop()
        identd.close()


@pytest.mark.parametrize("reply,code_text", [
    (lambda line: line.strip() + b" : ERROR : HIDDEN-USER\r\n", "exitcode 2"),
    (lambda line: None, "exitcode 99"),
])
def test_strict_exit_codes(reply, code_text):
    identd = FakeIdentd(reply)
    server = serve(["-X"], ["-v2"], prog("ident-lookup") + ["-w", "-t", "500"] + SHOW, env=identd.env())
    try:
        assert server.talk(timeout=10) == b""
    finally:
        code, log = server.stop(until=[code_text])
        identd.close()
    assert code == 0


@given(st.binary(max_size=120), st.integers(0, 65535), st.integers(0, 65535))
def test_answer_parser_fails_closed(line, remote, local):
    """Any line: a user id without a control byte, or IdentFailed."""
    try:
        user = identclient.parse_answer(line, remote, local)
    except identclient.IdentFailed:
        return
    data = user.encode("utf-8", "surrogateescape")
    assert data and not any(b < 32 or b == 127 for b in data)


@given(st.binary(max_size=60).filter(lambda u: u.strip(b" \t")))
def test_well_formed_answers_are_read(user):
    line = b"1234 , 25 : USERID : UNIX :" + user
    try:
        got = identclient.parse_answer(line, 1234, 25)
    except identclient.IdentRejected:
        assert any(b < 32 or b == 127 for b in user.lstrip(b" \t")[:512])
        return
    assert got.encode("utf-8", "surrogateescape") == user.lstrip(b" \t")[:512]
