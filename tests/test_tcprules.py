"""tcprules against Debian's ucspi-tcp 0.88 tcprules: bytes and messages."""

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import need, run, run_ref, strip_prog

CORPUS = {
    "manual": b'127.0.0.1:allow,RELAYCLIENT=""\n10.:deny\n=.example.com:allow\n# comment\n\n'
              b'1.2.3.4-7:allow,X="1",Y=/two/\n5.6.7-9.:deny\njoe@1.2.3.4:allow\n=:deny\n'
              b'NOCOLON\n:allow  \t \nFOO.Bar:allow,A=:x:\n1.2.3.250-300:deny\n',
    "qmail": b'127.:allow,RELAYCLIENT=""\n192.168.:allow,RELAYCLIENT="",DATABYTES="1000000"\n:allow\n',
    "ranges": b'1-2:allow\n0-0.:deny\n1.2.3-.:deny\n1.2.-3.:deny\n1-2.X:deny\n9.8.7.6-6:allow\n',
    "quotes": b"1:allow,A='x',B=#y#,C==z=\n2:deny,X='1'\n3:allow,E=\"\"\n",
    "duplicates": b"1.2.3.4:deny\n1.2.3.4:allow\n",
    "no-final-newline": b"1.2.3.4:allow",
    "empty": b"",
    "comments-only": b"#x\n# y:deny\n",
    "leading-space": b" 1.2.3.4:allow\n",
    "info-at-host": b"joe@=host.example:allow\n=host.example:deny\n",
    # range bounds past an unsigned long wrap as in C (0.88 exits 0)
    "huge-ranges": b"1.2.3." + b"9" * 5000 + b"-4:allow\n1.2.4.1-" + b"9" * 5000 + b":deny\n"
                   b"1.2.5.18446744073709551617-4:allow\n1.2.6.2-18446744073709551620:deny\n",
}

BAD = {
    "crlf": b"1.2.3.4:allow\r\n",
    "no-allow": b"1.2.3.4:allowed\n",
    "unterminated": b'1.2.3.4:allow,X="abc\n',
    "no-equals": b"1.2.3.4:allow,X\n",
    "bad-range": b"a-b:allow\n",
    "unquoted": b"1.2.3.4:deny,X=1\n",
    "space-in-list": b'1.2.3.4:allow , X="a b" ,\n',
    "space-before-comma": b'=.:allow ,A=""\n',
    "blank-between": b'1:allow,X="a" ,Y="b"\n',
    "later-line": b"1:allow\n2:nope\n",
}


def compile_both(tmp_path, text):
    results = []
    for name, runner in (("ours", run), ("theirs", run_ref)):
        cdb, tmp = tmp_path / (name + ".cdb"), tmp_path / (name + ".tmp")
        for path in (cdb, tmp):
            if path.exists():
                path.unlink()
        result = runner("tcprules", cdb, tmp, input=text)
        results.append((result, cdb.read_bytes() if cdb.exists() else None))
    return results


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_byte_identical(tmp_path, name):
    need("tcprules")
    (mine, ours), (ref, theirs) = compile_both(tmp_path, CORPUS[name])
    assert mine.returncode == ref.returncode == 0
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_lines_same_message_and_old_cdb_kept(tmp_path, name):
    need("tcprules")
    (tmp_path / "ours.cdb").write_bytes(b"old")
    result = run("tcprules", tmp_path / "ours.cdb", tmp_path / "ours.tmp", input=BAD[name])
    ref = run_ref("tcprules", tmp_path / "theirs.cdb", tmp_path / "theirs.tmp", input=BAD[name])
    assert result.returncode == ref.returncode == 100
    assert result.stderr == ref.stderr
    assert result.stderr.startswith(b"tcprules: fatal: unable to parse this line: ")
    assert (tmp_path / "ours.cdb").read_bytes() == b"old"
    assert not (tmp_path / "ours.tmp").exists()  # the C program leaves it


def test_uncreatable_temp_same_message(tmp_path):
    need("tcprules")
    mine = run("tcprules", tmp_path / "x.cdb", tmp_path / "no" / "x.tmp", input=b"1:allow\n")
    ref = run_ref("tcprules", tmp_path / "x.cdb", tmp_path / "no" / "x.tmp", input=b"1:allow\n")
    assert mine.returncode == ref.returncode == 111
    assert mine.stderr == ref.stderr


def test_unmovable_same_message(tmp_path):
    need("tcprules")
    mine = run("tcprules", tmp_path / "no" / "x.cdb", tmp_path / "a.tmp", input=b"1:allow\n")
    ref = run_ref("tcprules", tmp_path / "no" / "x.cdb", tmp_path / "b.tmp", input=b"1:allow\n")
    assert mine.returncode == ref.returncode == 111
    assert strip_prog(mine.stderr, "tcprules").replace("a.tmp", "b.tmp") == \
        strip_prog(ref.stderr, "tcprules")


def test_usage():
    result = run("tcprules", "only")
    assert result.returncode == 100
    assert result.stderr == b"tcprules: usage: tcprules rules.cdb rules.tmp\n"


address = st.one_of(
    st.builds("{}.{}.{}.{}".format, *[st.integers(0, 300)] * 4),
    st.builds("{}.{}.".format, st.integers(0, 255), st.integers(0, 255)),
    st.builds("{}.{}-{}.".format, st.integers(0, 255), st.integers(0, 260), st.integers(0, 260)),
    st.builds("=.{}".format, st.text("abcXY.-", max_size=8)),
    st.builds("{}@{}".format, st.text("abjoe", max_size=4), st.text("0123.", max_size=7)),
    st.text("0123456789.-=@abAB ", max_size=10))
instruction = st.one_of(
    st.just(""), st.builds(',{}={}{}{}'.format, st.text("ABCxyz", min_size=1, max_size=5),
                           st.sampled_from('"\'/:'), st.text("abc 1=,", max_size=6),
                           st.sampled_from('"\'/:')), st.sampled_from([" ", "\t", ",X", ",="]))
line = st.builds("{}:{}{}{}".format, address, st.sampled_from(["allow", "deny", "alow", ""]),
                 st.lists(instruction, max_size=3).map("".join), st.sampled_from(["", " ", "\t"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(line, st.sampled_from(["", "# c", "junk"])), max_size=8))
def test_random_files_match_reference(tmp_path_factory, lines):
    need("tcprules")
    tmp_path = tmp_path_factory.mktemp("tr")
    text = "".join(item + "\n" for item in lines).encode()
    (mine, ours), (ref, theirs) = compile_both(tmp_path, text)
    assert mine.returncode == ref.returncode
    assert mine.stderr == ref.stderr
    if ref.returncode == 0:
        assert ours == theirs
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("ours")) == \
        (["ours.cdb"] if ref.returncode == 0 else [])
