"""accessrules-fs-from-sql: an SQL rules table back into a tree."""

import sqlite3

import pytest

from conftest import run
from netchain.rules import sqlrules, tree

PROG = "accessrules-fs-from-sql"


def table(path, rows, schema=sqlrules.SCHEMA):
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(schema)
        connection.executemany("INSERT INTO accessrules VALUES (?, ?, ?, ?)", rows)
    connection.close()


def test_tree_to_table_to_tree(tmp_path):
    root = tmp_path / "rules"
    for args in (["allow", "-s", "GREETING=hi", "-s", "EMPTY=", "-u", "GONE", "10.0.0.0/8"],
                 ["deny", "127.0.0.2"], ["allow", "-x", "echo from rule", "::1"]):
        assert run("accessrules", root, *args).returncode == 0
    assert run("accessrules-sql-from-fs", "sqlite:%s" % (tmp_path / "r.db"), root).returncode == 0
    result = run(PROG, tmp_path / "back", "sqlite:%s" % (tmp_path / "r.db"))
    assert (result.returncode, result.stderr) == (0, b"")
    assert sorted(tree.walk(str(tmp_path / "back"))) == sorted(tree.walk(str(root)))


@pytest.mark.parametrize("rows, schema, message", [
    ([("ip4/10.0.0.0_8", "maybe", "", None)], "CREATE TABLE accessrules (key, decision, env, exec)",
     b"malformed row 'ip4/10.0.0.0_8'"),
    ([("ip4/../../etc_8", "allow", "", None)], sqlrules.SCHEMA, b"malformed row 'ip4/../../etc_8'"),
    ([("ip4/10.0.0.0_8", "allow", "BAD=NAME=x\n=y", None)], sqlrules.SCHEMA, b"malformed row"),
])
def test_a_malformed_row_makes_no_tree(tmp_path, rows, schema, message):
    table(tmp_path / "r.db", rows, schema)
    result = run(PROG, tmp_path / "back", "sqlite:%s" % (tmp_path / "r.db"))
    assert result.returncode == 111
    assert message in result.stderr
    assert not (tmp_path / "back").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r.db"]  # no staging left either


@pytest.mark.parametrize("setup, code, message", [
    ("none", 111, b"accessrules-fs-from-sql: fatal: unable to read the rules table in "),
    ("no table", 111, b"accessrules-fs-from-sql: fatal: unable to read the rules table in "),
    ("target exists", 111, b"accessrules-fs-from-sql: fatal: unable to mkdir back: "),
])
def test_errors(tmp_path, setup, code, message):
    if setup == "no table":
        sqlite3.connect(tmp_path / "r.db").close()
    if setup == "target exists":
        table(tmp_path / "r.db", [])
        (tmp_path / "back").mkdir()
    result = run(PROG, "back", "sqlite:r.db", cwd=tmp_path)
    assert result.returncode == code
    assert result.stderr.startswith(message)
    assert run(PROG, cwd=tmp_path).returncode == 100
