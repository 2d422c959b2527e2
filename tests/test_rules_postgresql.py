"""Rules in PostgreSQL, against a throwaway cluster on 127.0.0.1: the
converters, tcpserver-access -m postgresql://... in both modes, changes
through NOTIFY, failures closed.  DSNs name 127.0.0.1 only: a host name
would be resolved by libpq through this machine's resolver."""

import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run
from netchain import rules
from netchain.rules import pgrules, sqlrules, sqlsets, tree
from servers import prog, serve, talk_from, wait_for

psycopg = pytest.importorskip("psycopg")

SHOW = ["sh", "-c", 'echo "${GREETING-unset} $TCPREMOTEIP"']


@pytest.fixture(scope="module")
def cluster():
    from pgcluster import Cluster
    started = Cluster()
    os.environ["PGPASSFILE"] = started.passfile  # for the in-process backends below
    yield started
    os.environ.pop("PGPASSFILE", None)
    started.stop()


def sql(cluster, statement, *params):
    with psycopg.connect(cluster.dsn(), autocommit=True) as connection:
        connection.execute(statement, params or None)


OTHERS = "FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"


def cut_every_session(cluster):
    """What a server restart does to the daemon's connections; returns
    once they are gone (pg_terminate_backend only signals them)."""
    sql(cluster, "SELECT pg_terminate_backend(pid) " + OTHERS)
    with psycopg.connect(cluster.dsn(), autocommit=True) as connection:
        assert wait_for(lambda: connection.execute("SELECT count(*) " + OTHERS).fetchone()[0] == 0, 15)




def load(cluster, tmp_path, *edits):
    root = tmp_path / "rules"
    for edit in edits:
        assert run("accessrules", root, *edit).returncode == 0
    result = run("accessrules-sql-from-fs", cluster.dsn(), root, env=cluster.env())
    assert (result.returncode, result.stderr) == (0, b"")
    return root


def test_tree_to_postgresql_and_back(cluster, tmp_path):
    root = load(cluster, tmp_path, ("allow", "-s", "GREETING=hi", "-u", "GONE", "127.0.0.1"),
                ("deny", "127.0.0.0/8"), ("allow", "-x", "echo rule", "::1"))
    result = run("accessrules-fs-from-sql", tmp_path / "back", cluster.dsn(), env=cluster.env())
    assert (result.returncode, result.stderr) == (0, b"")
    assert sorted(tree.walk(str(tmp_path / "back"))) == sorted(tree.walk(str(root)))


def test_served_rules_change_through_notify(mode, cluster, tmp_path):
    load(cluster, tmp_path, ("allow", "-s", "GREETING=one", "127.0.0.1"), ("deny", "127.0.0.0/8"))
    server = serve(mode, [], prog("tcpserver-access") + ["-H", "-m", cluster.dsn()] + SHOW, env=cluster.env())
    try:
        for _ in range(2):  # the second from a remembered decision (fused)
            assert talk_from(server, "127.0.0.1") == b"one 127.0.0.1\n"
            assert talk_from(server, "127.0.0.2") == b""
        # a notice reaches the daemon a moment after the COMMIT: the change
        # applies to the connections after that (waited for, not slept)
        sql(cluster, "INSERT INTO accessrules VALUES ('ip4/127.0.0.2_32', 'allow', 'GREETING=two', NULL)")
        sql(cluster, "UPDATE accessrules SET env = 'GREETING=three' WHERE key = 'ip4/127.0.0.1_32'")
        assert wait_for(lambda: talk_from(server, "127.0.0.2") == b"two 127.0.0.2\n", 15)
        assert wait_for(lambda: talk_from(server, "127.0.0.1") == b"three 127.0.0.1\n", 15)
        sql(cluster, "DELETE FROM accessrules WHERE key = 'ip4/127.0.0.1_32'")
        assert wait_for(lambda: talk_from(server, "127.0.0.1") == b"", 15)  # denied by ip4/127.0.0.0_8
        sql(cluster, "INSERT INTO accessrules VALUES ('ip4/127.0.0.1_32', 'allow', 'GREETING=four', NULL)")
        assert wait_for(lambda: talk_from(server, "127.0.0.1") == b"four 127.0.0.1\n", 15)
        # the server cuts every connection (as a restart would): the next
        # lookup fails closed, the one after reconnects
        cut_every_session(cluster)
        if mode == []:
            assert talk_from(server, "127.0.0.1") == b""
        assert talk_from(server, "127.0.0.1") == b"four 127.0.0.1\n"
        sql(cluster, "ALTER TABLE accessrules RENAME TO elsewhere")
        cut_every_session(cluster)
        assert talk_from(server, "127.0.0.1") == b""
        assert talk_from(server, "127.0.0.1") == b""  # no table: dropped each time, never allowed
        sql(cluster, "ALTER TABLE elsewhere RENAME TO accessrules")
        assert talk_from(server, "127.0.0.1") == b"four 127.0.0.1\n"
    finally:
        code, log = server.stop()
    assert code == 0
    assert "tcpserver-access: fatal: " in log


def test_unreachable_database_fails_closed(mode, cluster, tmp_path):
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = "postgresql://postgres@127.0.0.1:%d/postgres" % port
    server = serve(mode, [], prog("tcpserver-access") + ["-H", "-m", dsn] + SHOW, env=cluster.env())
    try:
        assert talk_from(server, "127.0.0.1") == b""
        assert talk_from(server, "127.0.0.1") == b""
    finally:
        code, log = server.stop()
    assert code == 0
    assert log.count("tcpserver-access: fatal: unable to reach rules database 127.0.0.1/postgres") >= 1


def test_a_password_in_the_dsn_is_refused(cluster):
    result = run("tcpserver-access", "-m", "postgresql://postgres:secret@127.0.0.1:1/postgres", "true")
    assert result.returncode == 100
    assert result.stderr.startswith(b"tcpserver-access: fatal: a password on the command line is refused")


values = st.text("abc xyz=-_0123456789", max_size=12)
specs = st.lists(st.tuples(st.integers(0, 32), st.booleans(), st.one_of(st.none(), values)), max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs, st.lists(st.integers(0, 255), min_size=1, max_size=6))
def test_tree_and_postgresql_decide_alike(cluster, tmp_path_factory, rule_specs, lows):
    root = str(tmp_path_factory.mktemp("pg") / "rules")
    os.mkdir(root)
    for bits, allow, greeting in rule_specs:  # networks around the first client
        key = "ip4/%s_%d" % (_network("10.1.2.%d" % lows[0], bits), bits)
        env = () if greeting is None else ((b"GREETING", greeting.encode()),)
        tree.install_rule(root, key, rules.record.Rule(True, env) if allow else rules.record.DENY)
    sqlsets.load(cluster.dsn(), [sqlrules.row_from_rule(k, r) for k, r in tree.walk(root)])
    table = pgrules.PgRules(cluster.dsn())
    try:
        for low in lows:
            ip = "10.1.2.%d" % low
            assert tuple(rules.lookup(table.current(), ip)) == tuple(rules.lookup(rules.TreeRules(root), ip))
    finally:
        table.close()


def _network(ip, bits):
    import ipaddress
    return ipaddress.ip_network("%s/%d" % (ip, bits), strict=False).network_address


def test_accessrules_manages_a_postgresql_rule_set(mode, cluster, tmp_path):
    """accessrules DSN ...: the same listing and explanations as on a tree,
    and a running daemon sees each edit (the trigger it makes notifies)."""
    sql(cluster, "DROP TABLE IF EXISTS accessrules")
    dsn, root = cluster.dsn(), str(tmp_path / "rules")
    edits = [("allow", "-s", "GREETING=one", "127.0.0.1"), ("deny", "127.0.0.0/8"),
             ("allow", "-x", "echo hi", "example.com"), ("deny", "@")]
    for edit in edits:
        for target in (dsn, root):
            result = run("accessrules", target, *edit, env=cluster.env())
            assert (result.returncode, result.stderr) == (0, b"")
    assert run("accessrules", dsn, "list", env=cluster.env()).stdout == run("accessrules", root, "list").stdout
    for question in (["127.0.0.1"], ["127.0.0.9"], ["10.0.0.1", "mail.example.com"]):
        ours, tree_answer = run("accessrules", dsn, "check", *question, env=cluster.env()), \
            run("accessrules", root, "check", *question)
        assert (ours.returncode, ours.stdout) == (tree_answer.returncode, tree_answer.stdout)
    server = serve(mode, [], prog("tcpserver-access") + ["-H", "-m", dsn] + SHOW, env=cluster.env())
    try:
        assert talk_from(server, "127.0.0.1") == b"one 127.0.0.1\n"
        assert run("accessrules", dsn, "allow", "-s", "GREETING=two", "127.0.0.1", env=cluster.env()).returncode == 0
        assert wait_for(lambda: talk_from(server, "127.0.0.1") == b"two 127.0.0.1\n", 15)
        assert run("accessrules", dsn, "remove", "127.0.0.1", env=cluster.env()).returncode == 0
        assert wait_for(lambda: talk_from(server, "127.0.0.1") == b"", 15)  # ip4/127.0.0.0_8 denies
    finally:
        code, _ = server.stop()
    assert code == 0
