"""accessrules-sql-from-fs, and the SQL backend: a tree, its cdb and its
SQL table decide every client the same way; a failed load keeps the old
rule set."""

import ipaddress
import os
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run
from netchain import rules
from netchain.rules import sqlrules, sqlsets, tree

PROG = "accessrules-sql-from-fs"

# Networks around a few base addresses, so that clients drawn from the same
# bases meet rules at several prefix lengths.
BASES = [ipaddress.ip_address(a) for a in ("10.1.2.3", "10.1.200.7", "127.0.0.1", "fd00::1:2")]
values = st.text("abc xyz=-_0123456789", max_size=20)
rule_specs = st.fixed_dictionaries({
    "network": st.sampled_from(BASES).flatmap(
        lambda base: st.integers(0, base.max_prefixlen).map(
            lambda bits: ipaddress.ip_network("%s/%d" % (base, bits), strict=False))),
    "allow": st.booleans(),
    "env": st.dictionaries(st.text("ABCXYZ_", min_size=1, max_size=6),
                           st.one_of(st.none(), values), max_size=3),
    "exec": st.one_of(st.none(), st.text("abc ;|", max_size=30)),
})
clients = st.sampled_from(BASES).flatmap(
    lambda base: st.integers(0, 255).map(lambda low: str(base + low)))


def rule_key(network):
    kind = "ip4" if network.version == 4 else "ip6"
    return "%s/%s_%d" % (kind, network.network_address, network.prefixlen)


def make_tree(root, specs):
    for spec in specs:
        key = rule_key(spec["network"])
        found = rules.record.Rule(spec["allow"], tuple(
            (name.encode(), None if value is None else value.encode()) for name, value in spec["env"].items()),
            (spec["exec"] or "").encode()) if spec["allow"] else rules.record.DENY
        tree.install_rule(root, key, found)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rule_specs, max_size=10), st.lists(clients, min_size=1, max_size=8))
def test_tree_cdb_and_table_decide_alike(tmp_path_factory, specs, addresses):
    work = tmp_path_factory.mktemp("same")
    root, cdb, database = str(work / "rules"), str(work / "rules.cdb"), str(work / "rules.db")
    os.mkdir(root)
    make_tree(root, specs)
    tree.compile_to_cdb(root, cdb)
    sqlsets.replace_all(database, [sqlrules.row_from_rule(k, r) for k, r in tree.walk(root)])
    backends = [rules.TreeRules(root), rules.open_cdb(cdb), sqlrules.SqliteRules(database).current()]
    for address in addresses:
        decisions = {tuple(rules.lookup(backend, address)) for backend in backends}
        assert len(decisions) == 1, (address, decisions)


def test_load_then_replace_in_one_go(tmp_path):
    root = tmp_path / "rules"
    assert run("accessrules", root, "allow", "-s", "GREETING=hi", "10.0.0.0/8").returncode == 0
    assert run("accessrules", root, "deny", "127.0.0.2").returncode == 0
    result = run(PROG, "sqlite:%s" % (tmp_path / "r.db"), root)
    assert (result.returncode, result.stderr) == (0, b"")
    rows = sqlite3.connect(tmp_path / "r.db").execute("SELECT * FROM accessrules ORDER BY key").fetchall()
    assert rows == [("ip4/10.0.0.0_8", "allow", "GREETING=hi", None), ("ip4/127.0.0.2_32", "deny", "", None)]
    assert run("accessrules", root, "remove", "127.0.0.2").returncode == 0
    assert run(PROG, "sqlite:%s" % (tmp_path / "r.db"), root).returncode == 0
    rows = sqlite3.connect(tmp_path / "r.db").execute("SELECT key FROM accessrules").fetchall()
    assert rows == [("ip4/10.0.0.0_8",)]


@pytest.mark.parametrize("value", [b"caf\xe9", b"two\0lines"])
def test_a_rule_the_table_cannot_hold_keeps_the_old_set(tmp_path, value):
    root = tmp_path / "rules"
    assert run("accessrules", root, "allow", "10.0.0.0/8").returncode == 0
    assert run(PROG, "sqlite:%s" % (tmp_path / "r.db"), root).returncode == 0
    env_dir = root / "ip4" / "10.0.0.0_8" / "env"
    env_dir.mkdir()
    (env_dir / "BAD").write_bytes(value)  # not UTF-8; a NUL the tree reads as a newline
    result = run(PROG, "sqlite:%s" % (tmp_path / "r.db"), root)
    assert result.returncode == 100
    assert result.stderr.startswith(b"accessrules-sql-from-fs: fatal: rule ip4/10.0.0.0_8: ")
    rows = sqlite3.connect(tmp_path / "r.db").execute("SELECT key, env FROM accessrules").fetchall()
    assert rows == [("ip4/10.0.0.0_8", "")]


@pytest.mark.parametrize("args, code, message", [
    ([], 100, b"accessrules-sql-from-fs: usage: "),
    (["mysql://x", "rules"], 100, b"accessrules-sql-from-fs: fatal: not a rules database: "),
    (["postgresql://postgres:secret@127.0.0.1:1/x", "rules"], 100,
     b"accessrules-sql-from-fs: fatal: a password on the command line is refused"),
    (["sqlite:r.db", "missing"], 111, b"accessrules-sql-from-fs: fatal: unable to opendir missing: "),
    (["sqlite:no/such/dir/r.db", "rules"], 111, b"accessrules-sql-from-fs: fatal: unable to write the rules"),
])
def test_errors(tmp_path, args, code, message):
    (tmp_path / "rules").mkdir()
    result = run(PROG, *args, cwd=tmp_path)
    assert result.returncode == code
    assert result.stderr.startswith(message)
