"""accessrules-fs-from-cdb: round trips, refusals, nothing half-made."""

import os

import pytest

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import need, run, run_ref
from test_accessrules_cdb_from_fs import make_tree, rule_specs

PROG = "accessrules-fs-from-cdb"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rule_specs, max_size=8))
def test_round_trip_gives_the_same_cdb(tmp_path_factory, specs):
    tmp = tmp_path_factory.mktemp("rt")
    make_tree(str(tmp / "a"), specs)
    os.makedirs(tmp / "a", exist_ok=True)
    assert run("accessrules-cdb-from-fs", tmp / "a.cdb", tmp / "a").returncode == 0
    result = run(PROG, tmp / "b", tmp / "a.cdb")
    assert result.returncode == 0, result.stderr
    assert run("accessrules-cdb-from-fs", tmp / "b.cdb", tmp / "b").returncode == 0
    first = dict(_items(tmp / "a.cdb"))
    assert dict(_items(tmp / "b.cdb")) == first


def _items(path):
    from netchain.rules import cdbfile
    return [(bytes(k), bytes(v)) for k, v in cdbfile.CdbReader(str(path)).items()]


def test_reads_what_s6_wrote(tmp_path):
    need("s6-accessrules-cdb-from-fs")
    make_tree(str(tmp_path / "a"), [
        {"key": "ip4/10.0.0.0_8", "kind": "allow", "env": {"X": b"1\n", "U": b""}, "exec": b"cat"},
        {"key": "reversedns/@", "kind": "deny", "env": {}, "exec": None}])
    assert run_ref("s6-accessrules-cdb-from-fs", tmp_path / "a.cdb", tmp_path / "a").returncode == 0
    assert run(PROG, tmp_path / "b", tmp_path / "a.cdb").returncode == 0
    rule = tmp_path / "b" / "ip4" / "10.0.0.0_8"
    assert (rule / "allow").exists() and (rule / "exec").read_bytes() == b"cat"
    assert (rule / "env" / "X").read_bytes() == b"1\n"
    assert (rule / "env" / "U").read_bytes() == b""
    assert (tmp_path / "b" / "reversedns" / "@" / "deny").exists()


def test_existing_target_is_refused(tmp_path):
    (tmp_path / "a.cdb").write_bytes(b"\0" * 2048)
    (tmp_path / "b").mkdir()
    result = run(PROG, tmp_path / "b", tmp_path / "a.cdb")
    assert result.returncode == 111
    assert result.stderr.startswith(b"accessrules-fs-from-cdb: fatal: unable to mkdir ")


def test_corrupt_cdb_leaves_nothing(tmp_path):
    make_tree(str(tmp_path / "a"), [{"key": "ip4/1.2.3.4_32", "kind": "deny", "env": {}, "exec": None}])
    assert run("accessrules-cdb-from-fs", tmp_path / "a.cdb", tmp_path / "a").returncode == 0
    data = (tmp_path / "a.cdb").read_bytes()
    (tmp_path / "bad.cdb").write_bytes(data[:2060])
    result = run(PROG, tmp_path / "b", tmp_path / "bad.cdb")
    assert result.returncode == 111
    assert sorted(os.listdir(tmp_path)) == ["a", "a.cdb", "bad.cdb"]


@pytest.mark.parametrize("record,s6_code", [
    ((b"../../escape", b"D"), None),                    # s6 writes outside the tree: we refuse
    ((b"ip4/1.2.3.4\0_32", b"D"), 111),                 # a NUL in the key
    ((b"ip4/1.2.3.5_32", b"A\x00\x09X=1\x00\x00\x00"), 111),  # lengths that do not add up
])
def test_bad_record_is_111_and_leaves_nothing(tmp_path, record, s6_code):
    from netchain.rules import cdbfile
    with open(tmp_path / "evil.cdb", "wb") as handle:
        cdbfile.write_records(handle, [(b"ip4/1.2.3.4_32", b"D"), record])
    result = run(PROG, tmp_path / "b", tmp_path / "evil.cdb")
    assert result.returncode == 111
    assert result.stderr.startswith(b"accessrules-fs-from-cdb: fatal: unable to handle cdb record ")
    assert sorted(os.listdir(tmp_path)) == ["evil.cdb"]
    if s6_code is not None:
        need("s6-accessrules-fs-from-cdb")
        assert run_ref("s6-accessrules-fs-from-cdb", tmp_path / "s6", tmp_path / "evil.cdb").returncode == s6_code


def test_record_of_another_type_is_skipped_as_s6(tmp_path):
    from netchain.rules import cdbfile
    with open(tmp_path / "other.cdb", "wb") as handle:
        cdbfile.write_records(handle, [(b"ip4/1.2.3.4_32", b"D"), (b"ip4/1.2.3.5_32", b"Z")])
    result = run(PROG, tmp_path / "b", tmp_path / "other.cdb")
    assert result.returncode == 0
    assert result.stderr.startswith(b"accessrules-fs-from-cdb: warning: skipping record ")
    assert os.listdir(tmp_path / "b" / "ip4") == ["1.2.3.4_32"]


def test_usage():
    result = run(PROG)
    assert result.returncode == 100
    assert result.stderr.startswith(b"accessrules-fs-from-cdb: usage: ")
