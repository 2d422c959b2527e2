"""accessrules-cdb-from-fs against Debian's s6-accessrules-cdb-from-fs."""

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import need, run, run_ref

REF = "s6-accessrules-cdb-from-fs"
PROG = "accessrules-cdb-from-fs"

names = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc0123456789", min_size=1, max_size=12)
values = st.one_of(st.binary(max_size=60), st.sampled_from([b"", b"\n", b" \t\r\n", b"a\0b\n"]))
ip4_rules = st.builds(lambda a, n: "ip4/%d.%d.%d.%d_%d" % (*a, n),
                      st.tuples(*[st.integers(0, 255)] * 4), st.integers(0, 32))
ip6_rules = st.builds(lambda v, n: "ip6/%x::%x_%d" % (v >> 16, v & 0xFFFF, n),
                      st.integers(0, 1 << 32), st.integers(0, 128))
dns_rules = st.builds(lambda parts: "reversedns/" + ".".join(parts),
                      st.lists(st.text("abcxyz-", min_size=1, max_size=6), min_size=1, max_size=3))
rule_specs = st.fixed_dictionaries({
    "key": st.one_of(ip4_rules, ip6_rules, dns_rules, st.just("reversedns/@")),
    "kind": st.sampled_from(["allow", "deny", "both", "none"]),
    "env": st.dictionaries(names, values, max_size=4),
    "exec": st.one_of(st.none(), st.binary(max_size=100)),
})


def make_tree(root, specs):
    for spec in specs:
        rule_dir = os.path.join(root, spec["key"])
        if os.path.exists(rule_dir):
            continue
        os.makedirs(rule_dir)
        for flag in {"allow": ["allow"], "deny": ["deny"], "both": ["allow", "deny"]}.get(spec["kind"], []):
            open(os.path.join(rule_dir, flag), "w").close()
        if spec["env"]:
            os.mkdir(os.path.join(rule_dir, "env"))
        for name, value in spec["env"].items():
            with open(os.path.join(rule_dir, "env", name), "wb") as handle:
                handle.write(value)
        if spec["exec"] is not None:
            with open(os.path.join(rule_dir, "exec"), "wb") as handle:
                handle.write(spec["exec"])


def compile_both(tmp_path, root):
    ours, theirs = tmp_path / "ours.cdb", tmp_path / "theirs.cdb"
    for path in (ours, theirs):
        if path.exists():
            path.unlink()
    mine = run(PROG, ours, root)
    ref = run_ref(REF, theirs, root)
    return mine, ref, ours, theirs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rule_specs, max_size=12))
def test_byte_identical_to_s6(tmp_path_factory, specs):
    need(REF)
    tmp_path = tmp_path_factory.mktemp("tree")
    root = tmp_path / "rules"
    root.mkdir()
    make_tree(str(root), specs)
    mine, ref, ours, theirs = compile_both(tmp_path, root)
    assert (mine.returncode, ref.returncode) == (0, 0), (mine.stderr, ref.stderr)
    assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.parametrize("content", [b"v", b"x" * 4093, b"x" * 4092 + b" \t", b"abc\n" + b"z" * 9000])
def test_long_env_file_and_full_exec_like_s6(tmp_path, content):
    need(REF)
    make_tree(str(tmp_path / "r"), [{"key": "ip4/1.2.3.4_32", "kind": "allow",
                                     "env": {"L": content}, "exec": b"z" * 4096}])
    mine, ref, ours, theirs = compile_both(tmp_path, tmp_path / "r")
    assert mine.returncode == ref.returncode == 0
    assert ours.read_bytes() == theirs.read_bytes()


def test_exec_longer_than_a_record_is_refused_not_cut(tmp_path):
    # s6 warns and compiles the first 4096 bytes; a cut command must never run.
    make_tree(str(tmp_path / "r"), [{"key": "ip4/1.2.3.4_32", "kind": "allow",
                                     "env": {}, "exec": b"z" * 4097}])
    target = tmp_path / "rules.cdb"
    target.write_bytes(b"old")
    result = run(PROG, target, tmp_path / "r")
    assert result.returncode == 100
    assert result.stderr.startswith(b"accessrules-cdb-from-fs: fatal: ")
    assert b"refusing a truncated command" in result.stderr
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["r", "rules.cdb"]


@pytest.mark.parametrize("env", [{"V%d" % i: b"y" * 1000 for i in range(5)},
                                 {"L": b"x" * 4094}])  # s6 writes this one; its reader refuses it
def test_env_too_big_is_refused_and_old_cdb_kept(tmp_path, env):
    make_tree(str(tmp_path / "r"), [{"key": "ip4/1.2.3.4_32", "kind": "allow", "env": env, "exec": None}])
    target = tmp_path / "rules.cdb"
    target.write_bytes(b"old")
    result = run(PROG, target, tmp_path / "r")
    assert result.returncode == 100
    assert result.stderr.startswith(b"accessrules-cdb-from-fs: fatal: environment in ")
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["r", "rules.cdb"]


@pytest.mark.parametrize("stray", ["ip4/stray", "strayfile"])
def test_stray_file_is_a_system_error_like_s6(tmp_path, stray):
    need(REF)
    make_tree(str(tmp_path / "r"), [{"key": "ip4/1.2.3.4_32", "kind": "deny", "env": {}, "exec": None}])
    (tmp_path / "r" / stray).write_text("x")
    mine, ref, ours, theirs = compile_both(tmp_path, tmp_path / "r")
    assert mine.returncode == ref.returncode == 111
    assert mine.stderr.startswith(b"accessrules-cdb-from-fs: fatal: unable to ")
    assert not ours.exists()
    assert [n for n in os.listdir(tmp_path) if n.startswith("ours")] == []


def test_missing_dir(tmp_path):
    need(REF)
    mine, ref, ours, _ = compile_both(tmp_path, tmp_path / "nope")
    assert mine.returncode == ref.returncode == 111
    assert mine.stderr.startswith(b"accessrules-cdb-from-fs: fatal: unable to opendir ")


def test_usage(tmp_path):
    result = run(PROG, "only-one")
    assert result.returncode == 100
    assert result.stderr.startswith(b"accessrules-cdb-from-fs: usage: accessrules-cdb-from-fs cdbfile dir")


def test_unwritable_target_dir_keeps_nothing(tmp_path):
    make_tree(str(tmp_path / "r"), [{"key": "ip4/1.2.3.4_32", "kind": "deny", "env": {}, "exec": None}])
    result = run(PROG, tmp_path / "missing" / "x.cdb", tmp_path / "r")
    assert result.returncode == 111
    assert result.stderr.startswith(b"accessrules-cdb-from-fs: fatal: unable to write")
