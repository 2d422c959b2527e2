"""indimail's MySQL rules (tcpserver -m db.conf): the matching in-process,
then tcpserver and tcpserver-rules against a throwaway MariaDB."""

import os
import socket

import pytest
from hypothesis import given, strategies as st

from conftest import run
from mariadb import MariaDB
from servers import Served, prog, serve, talk_from, wait_for
from netchain import errors
from netchain.rules import mysqlrules, record

SHOW = ["sh", "-c", 'echo "${FROM_DB-none} ${NOTE-none} ${FROM_CDB-none}"']


@pytest.mark.parametrize("iprule, ip, expected", [
    ("192.168.1.*", "192.168.1.7", True), ("192.168.1.*", "192.168.2.7", False),
    ("10.0-5.*.*", "10.3.1.1", True), ("10.0-5.*.*", "10.6.1.1", False),
    ("1?2.0.0.1", "102.0.0.1", True), ("1?2.0.0.1", "12.0.0.1", False),
    ("127.0.0.1", "127.0.0.1", True), ("127.0.0", "127.0.0.1", False),
    ("127.0.0.*", "::ffff:127.0.0.5", True),
    ("2001:db8:*:*:*:*:*:1", "2001:db8::1", True), ("2001:db8:*:*:*:*:*:1", "2001:db8::2", False),
    ("2001:db8:0:0:0:0:0:a-f", "2001:db8::c", True)])
def test_ip_matches(iprule, ip, expected):
    assert mysqlrules.ip_matches(iprule, ip) is expected


@given(st.ip_addresses(v=4), st.lists(st.booleans(), min_size=4, max_size=4))
def test_a_rule_with_octets_starred_matches_its_address(address, starred):
    octets = str(address).split(".")
    rule = ".".join("*" if star else octet for star, octet in zip(starred, octets))
    assert mysqlrules.ip_matches(rule, str(address))
    low = [str(max(0, int(octet) - 1)) + "-" + str(int(octet) + 1) for octet in octets]
    assert mysqlrules.ip_matches(".".join(low), str(address))


def test_env_text():
    assert mysqlrules.parse_env("A=b,C=d") == ((b"A", b"b"), (b"C", b"d"))
    assert mysqlrules.parse_env("NOTE=a\\,b,U") == ((b"NOTE", b"a,b"), (b"U", None))
    assert mysqlrules.parse_env("") == ()
    with pytest.raises(errors.BadInput):
        mysqlrules.parse_env("=x")


def test_most_specific_row_decides():
    rows = [("127.0.0.*", "A", "WHICH=star"), ("127.0.0.1", "D", ""), ("127.0.0.1-9", "A", "WHICH=range")]
    assert mysqlrules.decide(rows, "127.0.0.1") == record.DENY
    assert mysqlrules.decide(rows, "127.0.0.2").env == ((b"WHICH", b"range"),)
    assert mysqlrules.decide(rows, "127.0.0.20").env == ((b"WHICH", b"star"),)
    assert mysqlrules.decide(rows, "10.0.0.1") is None
    with pytest.raises(errors.CorruptRules):
        mysqlrules.decide([("127.0.0.x-y", "A", "")], "127.0.0.1")


@pytest.mark.parametrize("text, code", [("host:user:pw:db\n", 100), ("a:b:c:d:e:f\n", 100),
                                        ("host:user:pw:db:bad;table\n", 100), (":user:pw:db:t\n", 100),
                                        ("one:user:pw:db:t\ntwo:user:pw:db:t\n", 100)])
def test_malformed_db_conf_is_exit_100(tmp_path, text, code):
    conf = tmp_path / "db.conf"
    conf.write_text(text)
    done = run("tcpserver", "-m", conf, "127.0.0.1", "0", "true")
    assert done.returncode == code
    assert done.stderr.startswith(b"tcpserver: fatal: %s: expected one line" % str(conf).encode()) or \
        b"invalid table name" in done.stderr


def test_unreadable_db_conf_is_exit_111(tmp_path):
    done = run("tcpserver", "-m", tmp_path / "none.conf", "127.0.0.1", "0", "true")
    assert done.returncode == 111
    assert done.stderr.startswith(b"tcpserver: fatal: unable to read ")


@pytest.fixture(scope="module")
def maria():
    server = MariaDB()
    yield server
    server.stop()


@pytest.fixture
def table(maria):
    maria.admin("DROP TABLE IF EXISTS tcprules",
                "CREATE TABLE tcprules (id INT AUTO_INCREMENT PRIMARY KEY, iprule VARCHAR(64),"
                " decision CHAR(1), env VARCHAR(255), port INT)", database="rules")
    return lambda *rows: maria.admin(*["INSERT INTO tcprules (iprule, decision, env, port)"
                                       " VALUES ('%s', '%s', '%s', %d)" % row for row in rows],
                                     database="rules")


@pytest.fixture
def cdb(tmp_path):
    path = tmp_path / "rules.cdb"
    rules = b'127.0.0.2:allow\n127.0.0.3:allow,FROM_CDB="yes"\n127.0.0.4:deny\n'
    assert run("tcprules", path, tmp_path / "rules.tmp", input=rules).returncode == 0
    return str(path)


def _check_decisions(server, table):
    table(("127.0.0.1", "A", "FROM_DB=yes,NOTE=a\\\\,b", server.port),
          ("127.0.0.2", "D", "", server.port),
          ("127.0.0.3", "A", "FROM_DB=other port", server.port + 1))
    assert talk_from(server, "127.0.0.1") == b"yes a,b none\n"
    assert talk_from(server, "127.0.0.2") == b""        # the database denies, the cdb would allow
    assert talk_from(server, "127.0.0.3") == b"none none yes\n"  # no row for this port: the cdb
    assert talk_from(server, "127.0.0.4") == b""        # the cdb denies


@pytest.mark.parametrize("where", ["tcp", "socket"])
def test_front_end_reads_the_database_before_the_cdb(maria, table, cdb, tmp_path, where):
    conf = maria.db_conf(str(tmp_path), server=maria.socket if where == "socket" else "127.0.0.1")
    server = Served(prog("tcpserver") + ["-1", "-v", "-HRl0", "-m", conf, "-x", cdb, "127.0.0.1", "0"]
                    + SHOW, env={"MYSQL_TCP_PORT": str(maria.port)})
    try:
        _check_decisions(server, table)
    finally:
        server.stop()


def test_tcpserver_rules_in_both_modes(mode, maria, table, cdb, tmp_path):
    conf = maria.db_conf(str(tmp_path))
    server = serve(mode, [], prog("tcpserver-rules") + ["-HRl0", "-m", conf, "-x", cdb] + SHOW,
                   env={"MYSQL_TCP_PORT": str(maria.port)})
    try:
        _check_decisions(server, table)
    finally:
        server.stop()


def test_a_missing_table_fails_closed_and_recovers(maria, table, cdb, tmp_path):
    conf = maria.db_conf(str(tmp_path))
    server = Served(prog("tcpserver") + ["-1", "-HRl0", "-m", conf, "-x", cdb, "127.0.0.1", "0"] + SHOW,
                    env={"MYSQL_TCP_PORT": str(maria.port)})
    try:
        table(("127.0.0.3", "A", "FROM_DB=yes", server.port))
        assert talk_from(server, "127.0.0.3") == b"yes none none\n"
        maria.admin("RENAME TABLE tcprules TO tcprules_away", database="rules")
        assert talk_from(server, "127.0.0.3") == b""  # never the cdb's allow instead
        server.wait_log("tcpserver: warning: dropping connection, unable to read the MySQL rules: ")
        maria.admin("RENAME TABLE tcprules_away TO tcprules", database="rules")
        assert talk_from(server, "127.0.0.3") == b"yes none none\n"
    finally:
        server.stop()


def test_MYSQL_TIMEOUT_bounds_a_silent_server(maria, cdb, tmp_path):
    """A server that takes the TCP connection but never greets: the
    connection is dropped after MYSQL_TIMEOUT, and the daemon goes on."""
    silent = socket.create_server(("127.0.0.1", 0), backlog=8)
    try:
        conf = maria.db_conf(str(tmp_path))
        server = Served(prog("tcpserver") + ["-1", "-HRl0", "-m", conf, "-x", cdb, "127.0.0.1", "0"]
                        + SHOW, env={"MYSQL_TCP_PORT": str(silent.getsockname()[1]),
                                     "MYSQL_TIMEOUT": "1"})
        try:
            assert talk_from(server, "127.0.0.3", timeout=30) == b""
            server.wait_log("unable to read the MySQL rules: ")
            assert wait_for(lambda: server.proc.poll() is None)
        finally:
            server.stop()
    finally:
        silent.close()


def test_db_conf_readable_by_others_is_warned_about(maria, cdb, tmp_path):
    conf = maria.db_conf(str(tmp_path))
    os.chmod(conf, 0o644)
    server = Served(prog("tcpserver") + ["-1", "-HRl0", "-m", conf, "127.0.0.1", "0"] + SHOW,
                    env={"MYSQL_TCP_PORT": str(maria.port)})
    try:
        server.wait_log("tcpserver: warning: %s holds a password and may be read by others" % conf)
    finally:
        server.stop()
