"""tcpserver-access: alone (exit codes) and in a served chain (both modes)."""

import os
import sys

import pytest

from conftest import run
from fakes import FakeDNS
from servers import prog, read_to_eof, serve, talk_from, wait_for
from netchain.rules import cdbfile, tree as ruletree
from netchain.rules.record import DENY, Rule, encode

SHOW = ["sh", "-c", 'echo "${GREETING-unset} ${TCPREMOTEHOST-unset} $TCPREMOTEIP"']
ALONE = {"TCPREMOTEIP": "127.0.0.1", "TCPLOCALIP": "127.0.0.1", "TCPREMOTEPORT": "1",
         "TCPLOCALPORT": "2", "PROTO": "TCP"}


def tree(tmp_path, rules):
    root = str(tmp_path / "rules")
    os.makedirs(root, exist_ok=True)
    for key, found in rules.items():
        ruletree.install_rule(root, key, found)
    return root


def allow(**env):
    return Rule(True, tuple((k.encode(), None if v is None else v.encode()) for k, v in env.items()))


def access(*args, env=ALONE, show='echo "${GREETING-unset} $TCPREMOTEIP"'):
    """tcpserver-access alone; -H first (s6's default is -h), so a test
    asks for DNS by giving -h after it, with a fake server."""
    return run("tcpserver-access", "-H", *args, "sh", "-c", show, env=env)


@pytest.mark.parametrize("rules,code,out", [
    ({"ip4/127.0.0.0_8": allow(GREETING="hi")}, 0, b"hi 127.0.0.1\n"),
    ({"ip4/127.0.0.1_32": DENY, "ip4/0.0.0.0_0": allow()}, 1, b""),
    ({}, 1, b""),
])
def test_alone_tree(tmp_path, rules, code, out):
    result = access("-i", tree(tmp_path, rules))
    assert (result.returncode, result.stdout) == (code, out)


def test_alone_missing_dir_denies_missing_cdb_fails(tmp_path):
    assert access("-i", tmp_path / "none").returncode == 1
    result = access("-x", tmp_path / "none.cdb")
    assert result.returncode == 111
    assert result.stderr.startswith(b"tcpserver-access: fatal: unable to open ")


def test_alone_corrupt_record_is_111_never_allow(tmp_path):
    with open(tmp_path / "bad.cdb", "wb") as handle:
        cdbfile.write_records(handle, [(b"ip4/127.0.0.1_32", b"A\x00\x09X=1\x00\x00\x00")])
    result = access("-x", tmp_path / "bad.cdb")
    assert result.returncode == 111
    assert result.stdout == b""


def test_alone_reads_tcprules_layout(tmp_path):
    (tmp_path / "r.txt").write_bytes(b'127.:allow,GREETING="djb"\n:deny\n')
    assert run("tcprules", tmp_path / "r.cdb", tmp_path / "r.tmp",
               input=(tmp_path / "r.txt").read_bytes()).returncode == 0
    assert access("-x", tmp_path / "r.cdb").stdout == b"djb 127.0.0.1\n"
    assert access("-x", tmp_path / "r.cdb", env=dict(ALONE, TCPREMOTEIP="10.0.0.1")).returncode == 1


def test_alone_usage():
    result = run("tcpserver-access", "-v", "x", "true")
    assert result.returncode == 100
    assert result.stderr.startswith(b"tcpserver-access: usage: ")


def test_exec_rule_replaces_program(tmp_path):
    root = tree(tmp_path, {"ip4/127.0.0.1_32": Rule(True, (), b"echo from-rule $TCPREMOTEIP")})
    assert access("-i", root).stdout == b"from-rule 127.0.0.1\n"


def test_served_tree_hot_reload_and_deny(mode, tmp_path):
    root = tree(tmp_path, {"ip4/127.0.0.1_32": allow(GREETING="one")})
    server = serve(mode, ["-v2"], prog("tcpserver-access") + ["-H", "-v2", "-i", root] + SHOW)
    try:
        assert server.talk() == b"one unset 127.0.0.1\n"
        ruletree.install_rule(root, "ip4/127.0.0.1_32", allow(GREETING="two"))
        assert server.talk() == b"two unset 127.0.0.1\n"
        ruletree.install_rule(root, "ip4/127.0.0.1_32", DENY)
        assert server.talk() == b""
    finally:
        code, log = server.stop()
    assert "tcpserver-access: info: deny 127.0.0.1 key ip4/127.0.0.1_32" in log


def test_served_cdb_hot_reload_and_corruption(mode, tmp_path):
    root = tree(tmp_path, {"ip4/127.0.0.1_32": allow(GREETING="one")})
    cdb = str(tmp_path / "rules.cdb")
    assert run("accessrules-cdb-from-fs", cdb, root).returncode == 0
    server = serve(mode, [], prog("tcpserver-access") + ["-H", "-x", cdb] + SHOW)
    try:
        assert server.talk() == b"one unset 127.0.0.1\n"
        ruletree.install_rule(root, "ip4/127.0.0.1_32", allow(GREETING="two"))
        assert run("accessrules-cdb-from-fs", cdb, root).returncode == 0
        assert server.talk() == b"two unset 127.0.0.1\n"
        with open(cdb + ".new", "wb") as handle:
            handle.write(b"\xff" * 100)
        os.rename(cdb + ".new", cdb)
        assert server.talk() == b""  # dropped, exit 111, daemon alive
        os.unlink(cdb)
        assert server.talk() == b""
        assert run("accessrules-cdb-from-fs", cdb, root).returncode == 0
        assert server.talk() == b"two unset 127.0.0.1\n"
    finally:
        code, log = server.stop()
    assert code == 0
    assert "tcpserver-access: fatal: " in log


def test_reversedns_rules_use_name_left_by_tcp_env(mode, tmp_path):
    dns = FakeDNS(answers={("1.0.0.127.in-addr.arpa", "PTR"): ["mx.example.org."],
                           ("mx.example.org", "A"): ["127.0.0.1"]})
    root = tree(tmp_path, {"reversedns/example.org": allow(GREETING="byname"),
                           "reversedns/@": DENY})
    chain = prog("tcp-env") + ["-p"] + prog("tcpserver-access") + ["-h", "-l", "here", "-i", root] + SHOW
    server = serve(mode, [], chain, env=dns.env())
    try:
        assert server.talk() == b"byname mx.example.org 127.0.0.1\n"
    finally:
        server.stop()
        dns.close()
    assert dns.queries.count(("1.0.0.127.in-addr.arpa", "PTR")) == 1  # looked up once


def test_ip_deny_skips_dns(tmp_path):
    dns = FakeDNS(answers={("1.0.0.127.in-addr.arpa", "PTR"): ["x.example."]})
    root = tree(tmp_path, {"ip4/127.0.0.0_8": DENY})
    result = access("-h", "-i", root, env=dict(ALONE, **dns.env()))
    dns.close()
    assert result.returncode == 1 and dns.queries == []


def test_rule_env_then_host_variables_win(tmp_path):
    dns = FakeDNS(answers={("1.0.0.127.in-addr.arpa", "PTR"): ["real.example."]})
    root = tree(tmp_path, {"ip4/127.0.0.1_32": allow(TCPREMOTEHOST="fake", TCPREMOTEIP="9.9.9.9")})
    result = access("-h", "-i", root, env=dict(ALONE, **dns.env()), show='echo "$TCPREMOTEHOST $TCPREMOTEIP"')
    dns.close()
    assert result.stdout == b"real.example 9.9.9.9\n"


NODELAY = [sys.executable, "-c", "import socket; s = socket.socket(fileno=0); "
           "print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)); s.detach()"]


@pytest.mark.parametrize("flag,nodelay", [("-D", b"1"), ("-d", b"0")])
def test_banner_and_nodelay(mode, tmp_path, flag, nodelay):
    root = tree(tmp_path, {"ip4/127.0.0.1_32": allow()})
    server = serve(mode, [], prog("tcpserver-access") + ["-H", flag, "-B", "220 hello\r\n", "-i", root] +
                   NODELAY)
    try:
        assert server.talk() == b"220 hello\r\n" + nodelay + b"\n"
    finally:
        server.stop()


def test_fatal_lookup_with_w(tmp_path):
    dns = FakeDNS(silent={"1.0.0.127.in-addr.arpa"})
    root = tree(tmp_path, {"reversedns/@": allow()})
    quiet = access("-h", "-l0", "-t", "300", "-i", root, env=dict(ALONE, **dns.env()))  # -W: s6's default
    fatal = access("-w", "-h", "-l0", "-t", "300", "-i", root, env=dict(ALONE, **dns.env()))
    dns.close()
    assert quiet.returncode == 1  # no name, no IP rule: deny
    assert quiet.stderr.startswith(b"tcpserver-access: warning: unable to resolve ")
    assert fatal.returncode == 111
    assert fatal.stderr.startswith(b"tcpserver-access: fatal: unable to resolve ")


def test_banner_comes_first_so_a_denied_client_gets_it(mode, tmp_path):
    root = tree(tmp_path, {"ip4/127.0.0.1_32": DENY})
    server = serve(mode, [], prog("tcpserver-access") + ["-H", "-B", "220 hi\r\n", "-i", root] + SHOW)
    try:
        assert server.talk() == b"220 hi\r\n"
    finally:
        server.stop()


@pytest.mark.parametrize("change,named", [
    ({"PROTO": None}, b"PROTO"),
    ({"TCPREMOTEIP": "garbage"}, b"TCPREMOTEIP"),
    ({"TCPREMOTEPORT": "x"}, b"TCPREMOTEPORT"),
    ({"TCPLOCALIP": None}, b"TCPLOCALIP"),
    ({"TCPLOCALPORT": "99999"}, b"TCPLOCALPORT"),
    ({"PROTO": "SSL"}, b"SSLREMOTEIP"),
])
def test_missing_or_invalid_variable_is_100_naming_it(tmp_path, change, named):
    env = {k: v for k, v in dict(ALONE, **change).items() if v is not None}
    root = tree(tmp_path, {"ip4/0.0.0.0_0": allow()})
    result = run("tcpserver-access", "-H", "-i", root, "echo", "ran", env=env,
                 unset=[k for k, v in change.items() if v is None])
    assert result.returncode == 100
    assert result.stdout == b""
    assert result.stderr.startswith(b"tcpserver-access: fatal: ")
    assert named in result.stderr


def test_proto_names_the_variables(tmp_path):
    env = {"PROTO": "SSL", "SSLREMOTEIP": "10.1.2.3", "SSLREMOTEPORT": "1", "SSLLOCALIP": "10.0.0.1",
           "SSLLOCALPORT": "2"}
    root = tree(tmp_path, {"ip4/10.1.2.3_32": allow(GREETING="ssl")})
    assert access("-i", root, env=env, show='echo "$GREETING"').stdout == b"ssl\n"


def test_under_H_a_rule_cannot_set_the_host_names(tmp_path):
    root = tree(tmp_path, {"ip4/127.0.0.1_32": allow(TCPREMOTEHOST="fake", TCPLOCALHOST="fake2")})
    result = access("-i", root, show='echo "${TCPREMOTEHOST-unset} ${TCPLOCALHOST-unset}"')
    assert result.stdout == b"unset unset\n"


def test_names_are_looked_up_by_default_local_one_too(tmp_path):
    dns = FakeDNS(answers={("1.0.0.127.in-addr.arpa", "PTR"): ["me.example."],
                           ("2.0.0.127.in-addr.arpa", "PTR"): ["here.example."]})
    root = tree(tmp_path, {"ip4/127.0.0.1_32": allow()})
    env = dict(ALONE, TCPLOCALIP="127.0.0.2", **dns.env())
    result = run("tcpserver-access", "-i", root, "sh", "-c", 'echo "$TCPREMOTEHOST $TCPLOCALHOST"', env=env)
    dns.close()
    assert (result.returncode, result.stdout) == (0, b"me.example here.example\n")


def _rewrite_in_place(path, versions, rounds, stop):
    """Truncate and rewrite path (as cp does), in two writes a round."""
    import itertools
    for _, content in zip(range(rounds), itertools.cycle(versions)):
        if stop.is_set():
            return
        with open(path, "r+b") as handle:
            handle.truncate(0)
            handle.write(content[:len(content) // 2])
            handle.flush()
            handle.write(content[len(content) // 2:])


@pytest.mark.parametrize("front_end", ["access", "tcpserver"])
def test_rules_rewritten_in_place_never_kill_the_daemon(tmp_path, front_end):
    """cp new.cdb rules.cdb while serving: a connection may be dropped, the
    daemon never dies (a mapped file cut short would raise SIGBUS)."""
    import threading
    from servers import Served
    versions = []
    for number, greeting in enumerate((b"one", b"two" * 300)):
        path = tmp_path / ("v%d.cdb" % number)
        if front_end == "access":
            with open(path, "wb") as handle:
                cdbfile.write_records(handle, [(b"ip4/127.0.0.1_32", encode(allow(GREETING=greeting.decode())))])
        else:
            text = b'127.0.0.1:allow,GREETING="' + greeting + b'"\n'
            assert run("tcprules", path, tmp_path / "t.tmp", input=text).returncode == 0
        versions.append(path.read_bytes())
    cdb = tmp_path / "rules.cdb"
    cdb.write_bytes(versions[0])
    if front_end == "access":
        server = serve([], [], prog("tcpserver-access") + ["-H", "-x", str(cdb)] + SHOW)
    else:
        server = Served(prog("tcpserver") + ["-1", "-HRl0", "-x", str(cdb), "127.0.0.1", "0"] + SHOW)
    stop = threading.Event()
    writer = threading.Thread(target=_rewrite_in_place, args=(cdb, versions, 3000, stop))
    answers = set()
    try:
        writer.start()
        for _ in range(150):
            answers.add(server.talk(timeout=10).split(b" ")[0])
        stop.set()
        writer.join(30)
        assert server.proc.poll() is None
        cdb.write_bytes(versions[0])
        assert server.talk().startswith(b"one ")
    finally:
        stop.set()
        code, log = server.stop()
    assert code == 0
    assert answers <= {b"one", b"two" * 300, b""}


@pytest.mark.parametrize("where", ["cdb", "env", "exec"])
def test_a_fifo_never_blocks_the_daemon(mode, tmp_path, where):
    root = tree(tmp_path, {"ip4/127.0.0.1_32": allow(GREETING="hi")})
    if where == "cdb":
        os.mkfifo(tmp_path / "rules.cdb")
        rules = ["-x", str(tmp_path / "rules.cdb")]
    else:
        fifo = os.path.join(root, "ip4", "127.0.0.1_32", "env/GREETING" if where == "env" else "exec")
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)
        rules = ["-i", root]
    server = serve(mode, [], prog("tcpserver-access") + ["-H"] + rules + SHOW)
    try:
        for _ in range(2):
            assert server.talk(timeout=10) == b""  # dropped (111) at once, every time
    finally:
        code, log = server.stop()
    assert code == 0
    assert "tcpserver-access: fatal: unable to " in log
    assert "not a regular file" in log or "invalid argument" in log


def sql_rules(path, rows):
    import sqlite3

    from netchain.rules import sqlrules
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(sqlrules.SCHEMA)
        connection.executemany("INSERT OR REPLACE INTO accessrules VALUES (?, ?, ?, ?)", rows)
    connection.close()




def test_served_sql_rules_change_with_the_table(mode, tmp_path):
    """-m sqlite:PATH: a change made with plain SQL applies to the next
    connection (fused: the remembered deny of 127.0.0.2 is dropped)."""
    database = str(tmp_path / "rules.db")
    sql_rules(database, [("ip4/127.0.0.1_32", "allow", "GREETING=one", None),
                         ("ip4/127.0.0.0_8", "deny", "", None)])
    server = serve(mode, [], prog("tcpserver-access") + ["-H", "-m", "sqlite:" + database] + SHOW)
    try:
        assert talk_from(server, "127.0.0.1") == b"one unset 127.0.0.1\n"
        assert talk_from(server, "127.0.0.2") == b""
        sql_rules(database, [("ip4/127.0.0.2_32", "allow", "GREETING=two\nOTHER=x", None)])
        assert talk_from(server, "127.0.0.2") == b"two unset 127.0.0.2\n"
        assert talk_from(server, "127.0.0.3") == b""
    finally:
        code, _ = server.stop()
    assert code == 0


def test_served_sql_rules_fail_closed_and_recover(mode, tmp_path):
    """No database, a table gone, a lock held past the busy timeout: the
    connection is dropped (111), never allowed; the daemon lives on and
    serves again once the database is back."""
    import sqlite3
    database = str(tmp_path / "rules.db")
    sql_rules(database, [("ip4/127.0.0.1_32", "allow", "GREETING=one", None)])
    server = serve(mode, [], prog("tcpserver-access") + ["-H", "-m", "sqlite:" + database] + SHOW)
    try:
        assert server.talk() == b"one unset 127.0.0.1\n"
        os.rename(database, database + ".away")
        assert server.talk() == b""
        os.rename(database + ".away", database)
        assert server.talk() == b"one unset 127.0.0.1\n"
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            assert server.talk(timeout=30) == b""  # after the 2 s busy timeout
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert server.talk() == b"one unset 127.0.0.1\n"
        with sqlite3.connect(database) as connection:
            connection.execute("DROP TABLE accessrules")
        assert server.talk() == b""
    finally:
        code, log = server.stop()
    assert code == 0
    assert log.count("tcpserver-access: fatal: unable to read rules database ") >= 3


def test_a_locked_table_never_stalls_the_accept_loop(tmp_path):
    """Fused: while a lookup waits on a writer's lock (up to the 2 s busy
    timeout), the daemon's loop goes on: SIGUSR1 is answered with the
    waiting connection counted (a loop stuck in the lookup would answer
    only after it, with 0 open)."""
    import signal
    import sqlite3
    import threading
    database = str(tmp_path / "rules.db")
    sql_rules(database, [("ip4/127.0.0.1_32", "allow", "GREETING=one", None)])
    server = serve([], ["-v1"], prog("tcpserver-access") + ["-H", "-m", "sqlite:" + database] + SHOW)
    holder = sqlite3.connect(database, isolation_level=None)
    answers = []
    try:
        holder.execute("BEGIN EXCLUSIVE")
        client = threading.Thread(target=lambda: answers.append(server.talk(timeout=30)))
        client.start()

        def counted():
            server.proc.send_signal(signal.SIGUSR1)
            return "status: 1/40" in server.log() or "unable to read rules database" in server.log()
        assert wait_for(counted, 10, step=0.05)
        assert "status: 1/40" in server.log() and "unable to read rules database" not in server.log()
        client.join(30)
        assert answers == [b""]  # then the lock wins: dropped, never allowed
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        code, _ = server.stop()
    assert code == 0


def test_a_deferred_lookup_greets_once(tmp_path):
    """-B with a locked table: the banner goes out from the loop, the
    lookup goes on in a worker once the lock is gone; the banner is not
    written again there."""
    import sqlite3
    database = str(tmp_path / "rules.db")
    sql_rules(database, [("ip4/127.0.0.1_32", "allow", "GREETING=one", None)])
    server = serve([], [], prog("tcpserver-access") + ["-H", "-B", "banner\n", "-m", "sqlite:" + database] + SHOW)
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with server.connect(timeout=30) as sock:
            assert sock.recv(7) == b"banner\n"
            holder.execute("ROLLBACK")  # well within the worker's 2 s wait
            data = read_to_eof(sock)
        assert data == b"one unset 127.0.0.1\n"
    finally:
        holder.close()
        code, _ = server.stop()
    assert code == 0
