"""tcprulescheck against Debian's ucspi-tcp 0.88 tcprulescheck."""

import os

import pytest

from conftest import need, run, run_ref, strip_prog
from test_tcprules import CORPUS

QUERIES = [
    {}, {"TCPREMOTEIP": "127.0.0.1"}, {"TCPREMOTEIP": "1.2.3.5"}, {"TCPREMOTEIP": "10.9.9.9"},
    {"TCPREMOTEIP": "9.9.9.9", "TCPREMOTEHOST": "a.b.example.com"},
    {"TCPREMOTEIP": "9.9.9.9", "TCPREMOTEHOST": "x.org"},
    {"TCPREMOTEIP": "1.2.3.4", "TCPREMOTEINFO": "joe"},
    {"TCPREMOTEIP": "1.2.3.4", "TCPREMOTEINFO": "joe", "TCPREMOTEHOST": "host.example"},
    {"TCPREMOTEIP": "5.6.8.1"}, {"TCPREMOTEIP": "192.168.4.4"},
]


@pytest.fixture(params=sorted(CORPUS))
def compiled(request, tmp_path):
    need("tcprules")
    path = tmp_path / "rules.cdb"
    assert run_ref("tcprules", path, tmp_path / "rules.tmp", input=CORPUS[request.param]).returncode == 0
    return path


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_same_explanation(compiled, query):
    need("tcprulescheck")
    unset = ("TCPREMOTEIP", "TCPREMOTEHOST", "TCPREMOTEINFO")
    mine = run("tcprulescheck", compiled, env=query, unset=unset)
    ref = run_ref("tcprulescheck", compiled, env=query, unset=unset)
    assert (mine.returncode, mine.stdout) == (ref.returncode, ref.stdout)
    assert mine.returncode == 0


@pytest.mark.parametrize("damage", ["missing", "truncated", "fifo"])
def test_unreadable_cdb_same_message(tmp_path, damage):
    need("tcprulescheck")
    path = tmp_path / "r.cdb"
    if damage == "fifo":
        os.mkfifo(path)  # must not block: both answer 111 at once
    if damage == "truncated":
        assert run_ref("tcprules", path, tmp_path / "t", input=CORPUS["manual"]).returncode == 0
        path.write_bytes(path.read_bytes()[:100])
    mine = run("tcprulescheck", path, env={"TCPREMOTEIP": "1.2.3.4"})
    ref = run_ref("tcprulescheck", path, env={"TCPREMOTEIP": "1.2.3.4"})
    assert mine.returncode == ref.returncode == 111
    assert strip_prog(mine.stderr, "tcprulescheck") == strip_prog(ref.stderr, "tcprulescheck")


def test_usage():
    result = run("tcprulescheck")
    assert result.returncode == 100
    assert result.stderr == b"tcprulescheck: usage: tcprulescheck rules.cdb\n"
