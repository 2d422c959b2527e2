"""accessrules: edits, listing, checks and compiles on real trees."""

import os
import threading

import pytest

from conftest import need, run, run_ref
from netchain import rules
from netchain.rules import tree as ruletree


def ar(root, *args):
    return run("accessrules", root, *args)


def test_add_list_check_compile(tmp_path):
    root = tmp_path / "r"
    assert ar(root, "allow", "-s", "RELAYCLIENT=", "-u", "FOO", "127.0.0.1").returncode == 0
    assert ar(root, "deny", "10.0.0.0/8").returncode == 0
    assert ar(root, "allow", "-x", "echo hi", "Example.COM").returncode == 0
    assert ar(root, "deny", "@").returncode == 0
    assert ar(root, "allow", "2001:db8::/32").returncode == 0
    listing = ar(root, "list")
    assert listing.stdout.decode().splitlines() == [
        "ip4/10.0.0.0_8 deny",
        'ip4/127.0.0.1_32 allow ' + ' '.join(sorted(['unset FOO', 'RELAYCLIENT=""'],
                                                  key=lambda w: os.listdir(root / "ip4/127.0.0.1_32/env").index(
                                                      w.split()[-1].split("=")[0]))),
        "ip6/2001:db8::_32 allow",
        'reversedns/example.com allow exec "echo hi"',
        "reversedns/@ deny"]
    ok = ar(root, "check", "127.0.0.1")
    assert ok.returncode == 0 and ok.stdout.startswith(b"ip4/127.0.0.1_32: allow\n")
    assert b'set RELAYCLIENT=""\n' in ok.stdout and b"unset FOO\n" in ok.stdout
    assert ar(root, "check", "10.1.1.1").returncode == 1
    by_name = ar(root, "check", "192.0.2.1", "mail.example.com")
    assert by_name.returncode == 0 and by_name.stdout.startswith(b"reversedns/example.com: allow")
    assert ar(root, "check", "192.0.2.1", "other.org").stdout == b"reversedns/@: deny\n"
    assert ar(root, "check", "192.0.2.1").stdout == b"no rule matched: deny\n"
    assert ar(root, "compile", tmp_path / "r.cdb").returncode == 0
    need("s6-accessrules-cdb-from-fs")
    assert run_ref("s6-accessrules-cdb-from-fs", tmp_path / "s6.cdb", root).returncode == 0
    assert (tmp_path / "r.cdb").read_bytes() == (tmp_path / "s6.cdb").read_bytes()


def test_empty_string_and_unset_are_distinct(tmp_path):
    root = tmp_path / "r"
    assert ar(root, "allow", "-s", "RELAYCLIENT=", "-u", "GONE", "1.2.3.4").returncode == 0
    env = root / "ip4" / "1.2.3.4_32" / "env"
    assert (env / "RELAYCLIENT").read_bytes() == b"\n"
    assert (env / "GONE").read_bytes() == b""
    found = rules.TreeRules(str(root)).find("ip4/1.2.3.4_32")
    assert dict(found.env) == {b"RELAYCLIENT": b"", b"GONE": None}


def test_host_bits_are_normalised_and_said(tmp_path):
    result = ar(tmp_path / "r", "deny", "10.1.2.3/8")
    assert result.returncode == 0
    assert result.stderr.startswith(b"accessrules: info: 10.1.2.3/8 has host bits set")
    assert os.listdir(tmp_path / "r" / "ip4") == ["10.0.0.0_8"]


def test_mapped_network_is_stored_as_ip4(tmp_path):
    assert ar(tmp_path / "r", "deny", "::ffff:10.0.0.0/104").returncode == 0
    assert os.listdir(tmp_path / "r" / "ip4") == ["10.0.0.0_8"]


def test_tcp_variable_warns(tmp_path):
    result = ar(tmp_path / "r", "allow", "-s", "TCPREMOTEIP=1.1.1.1", "1.2.3.4")
    assert result.returncode == 0
    assert result.stderr.startswith(b"accessrules: warning: rule sets TCPREMOTEIP")


def test_connlimit_variable_does_not_warn(tmp_path):
    result = ar(tmp_path / "r", "allow", "-s", "TCPCONNMAX=3", "1.2.3.4")
    assert (result.returncode, result.stderr) == (0, b"")


def test_changing_deny_to_allow_is_said(tmp_path):
    root = tmp_path / "r"
    assert ar(root, "deny", "1.2.3.4").returncode == 0
    result = ar(root, "allow", "1.2.3.4")
    assert result.returncode == 0
    assert result.stderr == b"accessrules: info: ip4/1.2.3.4_32 was deny, now allow\n"
    assert ar(root, "allow", "-s", "A=1", "1.2.3.4").stderr == b""  # allow to allow: nothing to say


def test_leftovers_of_a_killed_edit_are_cleaned(tmp_path):
    root = tmp_path / "r"
    assert ar(root, "deny", "1.2.3.4").returncode == 0
    for name in (".new-abc", ".old-def"):
        os.makedirs(root / "ip4" / name / "rule")
    assert ar(root, "allow", "1.2.3.5").returncode == 0
    assert sorted(os.listdir(root / "ip4")) == ["1.2.3.4_32", "1.2.3.5_32"]


@pytest.mark.parametrize("args,code,prefix", [
    (["allow", "bad/name"], 100, b"accessrules: fatal: not an address"),
    (["allow", "-s", "A", "1.2.3.4"], 100, b"accessrules: usage: "),
    (["allow", "-s", "=x", "1.2.3.4"], 100, b"accessrules: fatal: invalid variable name"),
    (["allow", "-x", "y" * 5000, "1.2.3.4"], 100, b"accessrules: fatal: rule too big"),
    (["allow", "10.0.0.0/33"], 100, b"accessrules: fatal: not an address"),
    (["remove", "1.2.3.4"], 1, b"accessrules: warning: no rule ip4/1.2.3.4_32 to remove"),
    (["allow", "999.1.1.1"], 100, b"accessrules: fatal: not an address or network"),
    (["allow", "1.2.3"], 100, b"accessrules: fatal: not an address or network"),
    (["allow", "-s", "A B=1", "1.2.3.4"], 100, b"accessrules: fatal: invalid variable name"),
    (["allow", "-s", "A\nB=1", "1.2.3.4"], 100, b"accessrules: fatal: invalid variable name"),
    (["allow", "-s", "N" * 300 + "=1", "1.2.3.4"], 100, b"accessrules: fatal: invalid variable name"),
    (["allow", "-s", "A=x ", "1.2.3.4"], 100, b"accessrules: fatal: the value of A ends with a blank"),
    (["allow", "-s", "A=x\t", "1.2.3.4"], 100, b"accessrules: fatal: the value of A ends with a blank"),
    (["allow", "b\u00fccher.example"], 100, b"accessrules: fatal: not an address, network or host name"),
    (["allow", "a" * 64 + ".example"], 100, b"accessrules: fatal: not an address, network or host name"),
    (["allow", ("a" * 60 + ".") * 5 + "x"], 100, b"accessrules: fatal: not an address, network or host name"),
    (["list"], 111, b"accessrules: fatal: unable to opendir "),
    (["allow", "-s", "A=1", "-u", "A", "1.2.3.4"], 100, b"accessrules: fatal: variable A given twice"),
    (["allow", "-s", "A=1", "-s", "A=1", "1.2.3.4"], 100, b"accessrules: fatal: variable A given twice"),
    (["check", "nonsense"], 100, b"accessrules: fatal: not an IP address"),
    (["frobnicate"], 100, b"accessrules: usage: "),
])
def test_bad_input(tmp_path, args, code, prefix):
    result = ar(tmp_path / "r", *args)
    assert result.returncode == code
    assert result.stderr.startswith(prefix)


def test_replace_and_remove(tmp_path):
    root = tmp_path / "r"
    assert ar(root, "allow", "-s", "A=1", "1.2.3.4").returncode == 0
    assert ar(root, "deny", "1.2.3.4").returncode == 0
    assert sorted(os.listdir(root / "ip4" / "1.2.3.4_32")) == ["deny"]
    assert ar(root, "remove", "1.2.3.4").returncode == 0
    assert os.listdir(root / "ip4") == []


def test_reader_never_sees_half_a_rule(tmp_path):
    """Flip a rule between a big allow and a deny while a reader looks."""
    root = str(tmp_path / "r")
    big = rules.record.Rule(True, tuple((b"V%d" % i, b"x" * 50) for i in range(40)))
    ruletree.install_rule(root, "ip4/1.2.3.4_32", big)
    stop = threading.Event()
    seen = []

    def reader():
        backend = rules.TreeRules(root)
        while not stop.is_set():
            seen.append(backend.find("ip4/1.2.3.4_32"))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(150):
            ruletree.install_rule(root, "ip4/1.2.3.4_32", rules.record.DENY if i % 2 else big)
    finally:
        stop.set()
        thread.join(10)
    def normal(found):  # env order is the directory's listing order
        return found and (found.allow, sorted(found.env), found.exec_text)
    assert seen and all(normal(r) in (normal(big), normal(rules.record.DENY)) for r in seen)


def test_an_sql_table_is_managed_as_a_tree_is(tmp_path):
    """DIR = sqlite:PATH: the same edits give the same listing, the same
    explanations and a cdb that decides alike."""
    where = {"tree": str(tmp_path / "r"), "table": "sqlite:%s" % (tmp_path / "r.db")}
    edits = [("allow", "-s", "RELAYCLIENT=", "127.0.0.1"), ("deny", "10.0.0.0/8"),
             ("allow", "-x", "echo hi", "Example.COM"), ("deny", "@"), ("allow", "2001:db8::/32"),
             ("deny", "127.0.0.1")]
    for target in where.values():
        for edit in edits:
            assert ar(target, *edit).returncode == 0
    assert ar(where["table"], "remove", "2001:db8::/32").returncode == 0
    assert ar(where["tree"], "remove", "2001:db8::/32").returncode == 0
    missing = ar(where["table"], "remove", "2001:db8::/32")
    assert missing.returncode == 1 and missing.stderr.startswith(b"accessrules: warning: no rule ")
    assert ar(where["table"], "list").stdout == ar(where["tree"], "list").stdout
    for question in (["127.0.0.1"], ["10.9.9.9"], ["10.255.0.1", "mail.example.com"], ["10.2.3.4", "x.org"]):
        table, tree_answer = ar(where["table"], "check", *question), ar(where["tree"], "check", *question)
        assert (table.returncode, table.stdout) == (tree_answer.returncode, tree_answer.stdout)
    for name, target in where.items():
        assert ar(target, "compile", tmp_path / ("%s.cdb" % name)).returncode == 0
    cdbs = [rules.open_cdb(str(tmp_path / ("%s.cdb" % name))) for name in where]
    for ip in ("127.0.0.1", "10.1.1.1", "172.16.0.1"):
        assert len({tuple(rules.lookup(cdb, ip, "a.example.com", with_host=True)) for cdb in cdbs}) == 1


def test_an_sql_table_that_is_not_there(tmp_path):
    result = ar("sqlite:%s" % (tmp_path / "none.db"), "list")
    assert result.returncode == 111
    assert result.stderr.startswith(b"accessrules: fatal: unable to read the rules table in ")
    assert not (tmp_path / "none.db").exists()
