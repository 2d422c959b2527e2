"""tcpserver-rules: the per-connection half of ucspi-tcp's tcpserver, in both modes."""

import pytest

from conftest import run
from fakes import FakeIdentd, ident_answer
from servers import prog, serve

SHOW = ["sh", "-c", 'echo "${TCPREMOTEINFO-unset} ${X-unset}"']


@pytest.fixture
def rules_cdb(tmp_path):
    path = tmp_path / "rules.cdb"
    rules = b'127.0.0.1:allow,X="rule"\n127.0.0.2:deny\n'
    assert run("tcprules", path, tmp_path / "rules.tmp", input=rules).returncode == 0
    return str(path)


def served(mode, rules_cdb, env=None, opts=()):
    return serve(mode, ["-L", "ucspi", "-N", "tcpserver", "-v", "2"],
                 prog("tcpserver-rules") + ["-v", "2", "-H", "-l0", *opts, "-x", rules_cdb] + SHOW,
                 env=env)


@pytest.mark.parametrize("user", [b"{evil}", b"%s%d", b"{pid}"])
def test_ident_answer_is_data_not_a_template(mode, rules_cdb, user):
    identd = FakeIdentd(ident_answer(user))
    server = served(mode, rules_cdb, env=identd.env(), opts=["-r", "-t", "5"])
    try:
        assert server.talk(timeout=10) == user + b" rule\n"
    finally:
        code, log = server.stop()
        identd.close()
    assert code == 0
    assert (":127.0.0.1:%s:" % user.decode().replace("%", "?")) in log, log


def test_control_bytes_in_ident_answer_are_refused_and_logged(mode, rules_cdb):
    identd = FakeIdentd(ident_answer(b"a\x1b[2Jb"))
    server = served(mode, rules_cdb, env=identd.env(), opts=["-r", "-t", "5"])
    try:
        assert server.talk(timeout=10) == b"unset rule\n"
    finally:
        code, log = server.stop()
        identd.close()
    assert "tcpserver: warning: IDENT user id with a control byte rejected from 127.0.0.1" in log


def test_rule_allows_and_sets_its_variable(mode, rules_cdb):
    server = served(mode, rules_cdb)
    try:
        assert server.talk() == b"unset rule\n"
    finally:
        code, log = server.stop()
    assert code == 0 and "tcpserver: ok " in log
