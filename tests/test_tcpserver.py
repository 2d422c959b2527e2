"""tcpserver (the ucspi-tcp front end) side by side with Debian's tcpserver."""

import re
import socket

import pytest

from conftest import need, run, run_ref
from servers import Served, prog, read_to_eof

SHOW = ["sh", "-c", 'echo "$PROTO $TCPLOCALIP $TCPLOCALPORT=L ${TCPLOCALHOST-unset} $TCPREMOTEIP '
        '$TCPREMOTEPORT=R ${TCPREMOTEHOST-unset} ${TCPREMOTEINFO-unset} ${X-unset}"; exit 3']
RULES = b'127.0.0.1:allow,X="1",TCPREMOTEIP="9.9.9.9"\n127.0.0.2:deny\n'


def normalise(text, port):
    """Log text with pids and ephemeral ports replaced by fixed words."""
    text = text.replace(":%d " % port, ":PORT ")
    text = re.sub(r"(pid|ok|deny|end) \d+", lambda m: m.group(1) + " N", text)
    return re.sub(r":(\d+)\n", ":CPORT\n", text)


def exchange(server, source):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5,
                                  source_address=(source, 0)) as sock:
        out = read_to_eof(sock)
        client_port = sock.getsockname()[1]
    return out.replace(b"%d=R" % client_port, b"CPORT").replace(b"%d=L" % server.port, b"PORT")


@pytest.fixture
def rules_cdb(tmp_path):
    path = tmp_path / "rules.cdb"
    assert run("tcprules", path, tmp_path / "rules.tmp", input=RULES).returncode == 0
    return str(path)


def both(rules_cdb, *opts):
    """Outputs and normalised logs of ours and Debian's tcpserver, for a
    client from 127.0.0.1 (allowed) then one from 127.0.0.2 (denied)."""
    need("tcpserver")
    results = []
    for argv in (prog("tcpserver"), ["tcpserver"]):
        server = Served(argv + ["-1"] + list(opts) + ["-x", rules_cdb, "127.0.0.1", "0"] + SHOW)
        try:
            outputs = []
            for number, source in enumerate(("127.0.0.1", "127.0.0.2"), 1):
                outputs.append(exchange(server, source))
                if "-v" in opts:  # the end line, before the next client's lines
                    server.wait_log("tcpserver: end ", count=number)
        finally:
            code, log = server.stop()
        results.append((outputs, normalise(log, server.port)))
    return results


def test_environment_and_log_lines_match_ucspi_tcp(rules_cdb):
    (ours, our_log), (theirs, their_log) = both(rules_cdb, "-v", "-HR", "-l0")
    assert ours == theirs
    assert ours[0] == b"TCP 127.0.0.1 PORT 0 9.9.9.9 CPORT unset unset 1\n"
    assert ours[1] == b""
    theirs_lines = their_log.splitlines()
    ours_lines = our_log.splitlines()
    assert ours_lines == theirs_lines, (our_log, their_log)


def test_quiet_by_default(rules_cdb):
    (ours, our_log), (theirs, their_log) = both(rules_cdb, "-HR", "-l0")
    assert ours == theirs and our_log == their_log == ""


def test_usage_matches():
    need("tcpserver")
    mine, ref = run("tcpserver"), run_ref("tcpserver")
    assert mine.returncode == ref.returncode == 100
    assert mine.stderr == ref.stderr


def test_bad_number_is_a_usage_error():
    # ucspi-tcp reads '-c x' as 0 and serves anyway; we refuse (documented)
    result = run("tcpserver", "-c", "x", "127.0.0.1", "0", "true")
    assert result.returncode == 100
    assert result.stderr.startswith(b"tcpserver: usage: ")


def test_per_ip_limit_from_maxconip(rules_cdb):
    server = Served(prog("tcpserver") + ["-1", "-HR", "-l0", "127.0.0.1", "0", "sh", "-c", "echo in; exec cat"],
                    env={"MAXCONIP": "1"})
    try:
        first = server.connect()
        assert first.recv(10) == b"in\n"
        assert server.talk() == b""
        first.close()
    finally:
        server.stop()


UCSPI6 = __import__("os").path.join(__import__("conftest").ROOT, ".ci", "ref", "ucspi-tcp-ipv6",
                                   "usr", "bin", "tcpserver")
SHOW6 = ["sh", "-c", 'echo "$PROTO|$TCPLOCALIP|$TCPREMOTEIP|${TCP6LOCALIP-u}|${TCP6REMOTEIP-u}|'
         '${TCP6LOCALHOST-u}|${TCPLOCALHOST-u}|${X-u}"']


def _env_seen(server, family, address):
    with socket.socket(family) as sock:
        sock.settimeout(5)
        sock.connect((address, server.port))
        return sock.recv(300)


def test_dual_stack_host_0_like_ucspi_tcp_ipv6(tmp_path):
    import os
    if not os.path.exists(UCSPI6):
        pytest.skip("Debian's ucspi-tcp-ipv6 not unpacked in .ci/ref (see .ci/run)")
    rules = tmp_path / "r.cdb"
    text = b'127.0.0.1:allow,X="four"\n:allow,X="other"\n'
    assert run("tcprules", rules, tmp_path / "r.tmp", input=text).returncode == 0
    seen = []
    for argv in (prog("tcpserver"), [UCSPI6]):
        server = Served(argv + ["-1", "-HRl0", "-x", str(rules), "0", "0"] + SHOW6)
        try:
            seen.append((_env_seen(server, socket.AF_INET, "127.0.0.1"),
                         _env_seen(server, socket.AF_INET6, "::1")))
        finally:
            server.stop()
    assert seen[0] == seen[1]
    assert seen[0] == (b"TCP|127.0.0.1|127.0.0.1|::ffff:127.0.0.1|::ffff:127.0.0.1|0|0|four\n",
                       b"TCP6|::1|::1|::1|::1|0|0|other\n")


def test_minus_4_listens_on_ipv4_only():
    server = Served(prog("tcpserver") + ["-1", "-4", "-HRl0", "0", "0"] + SHOW6)
    try:
        assert _env_seen(server, socket.AF_INET, "127.0.0.1").startswith(b"TCP|127.0.0.1|127.0.0.1|u|u|")
        with pytest.raises(OSError):
            _env_seen(server, socket.AF_INET6, "::1")
    finally:
        server.stop()


@pytest.mark.parametrize("variable", ["MAXCONIP", "MAXPERIP"])
def test_per_ip_limit_from_a_rule(tmp_path, variable):
    rules = tmp_path / "r.cdb"
    text = b'127.0.0.1:allow,%s="1"\n' % variable.encode()
    assert run("tcprules", rules, tmp_path / "r.tmp", input=text).returncode == 0
    server = Served(prog("tcpserver") + ["-1", "-v", "-HRl0", "-x", str(rules), "127.0.0.1", "0",
                                         "sh", "-c", "echo in; exec cat"])
    try:
        first = server.connect()
        assert first.recv(10) == b"in\n"
        assert server.talk() == b""  # the rule allows one at a time from this IP
        first.close()
    finally:
        code, log = server.stop()
    assert "tcpserver: deny " in log


def _served_both(opts, program, clients=1, data=b""):
    """(answers, normalised log) of ours and Debian's tcpserver with opts."""
    need("tcpserver")
    results = []
    for argv in (prog("tcpserver"), ["tcpserver"]):
        server = Served(argv + ["-1"] + opts + ["127.0.0.1", "0"] + program)
        try:
            answers = []
            for number in range(1, clients + 1):
                answers.append(server.talk(data))
                if "-v" in opts:
                    server.wait_log("tcpserver: end ", count=number)
        finally:
            code, log = server.stop()
        results.append((answers, normalise(log, server.port)))
    return results


@pytest.mark.parametrize("damage", ["missing", "truncated", "broken-hash"])
@pytest.mark.parametrize("verbosity", ["-v", "-Q", "-q"])
def test_unreadable_rules_drop_the_connection_as_ucspi_tcp(tmp_path, damage, verbosity):
    path = tmp_path / "rules.cdb"
    if damage == "truncated":
        path.write_bytes(b"\0" * 100)
    if damage == "broken-hash":  # ucspi-tcp allows on this file; we drop (documented)
        assert run("tcprules", path, tmp_path / "t", input=b"1.2.3.4:deny\n").returncode == 0
        data = bytearray(path.read_bytes())
        data[-8:] = b"\xff" * 8
        path.write_bytes(bytes(data))
    ours, theirs = _served_both([verbosity, "-HRl0", "-B", "hello ", "-x", str(path)], ["echo", "in"])
    assert ours[0] == [b"hello "]  # the banner comes before the rules
    if damage != "broken-hash":
        assert ours == theirs
    reason = {"missing": "file does not exist"}.get(damage, "protocol error")
    warning = "tcpserver: warning: dropping connection, unable to read %s: %s" % (path, reason)
    assert (warning in ours[1]) == (verbosity != "-q")


def test_minus_X_allows_without_a_rules_file(tmp_path):
    ours, theirs = _served_both(["-X", "-HRl0", "-x", str(tmp_path / "none.cdb")], ["echo", "in"])
    assert ours == theirs and ours[0] == [b"in\n"]


def test_missing_program_logged_as_ucspi_tcp():
    ours, theirs = _served_both(["-v", "-HRl0"], ["/nonexistent/program"])
    assert ours == theirs
    assert "dropping connection, unable to run /nonexistent/program: file does not exist" in ours[1]


@pytest.mark.parametrize("args", [["-Z"], ["-c"], ["-q", "-Z"], ["-HR", "127.0.0.1", "nosuchport", "true"],
                                  ["-q", "-HR", "127.0.0.1", "nosuchport", "true"]])
def test_start_errors_match_ucspi_tcp(args):
    need("tcpserver")
    mine, ref = run("tcpserver", *args), run_ref("tcpserver", *args)
    assert (mine.returncode, mine.stderr) == (ref.returncode, ref.stderr)


@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_port_in_use_matches_ucspi_tcp(quiet):
    need("tcpserver")
    with socket.create_server(("127.0.0.1", 0)) as busy:
        args = quiet + ["-HR", "127.0.0.1", str(busy.getsockname()[1]), "true"]
        mine, ref = run("tcpserver", *args), run_ref("tcpserver", *args)
    assert (mine.returncode, mine.stderr) == (ref.returncode, ref.stderr)
    assert mine.returncode == 111


def test_minus_V_prints_the_connection_table():
    server = Served(prog("tcpserver") + ["-1", "-V", "-HRl0", "127.0.0.1", "0", "sh", "-c", "echo in; exec cat"])
    try:
        with server.connect() as held:
            assert held.recv(10) == b"in\n"
            server.wait_log("tcpserver: connection pid ")
        server.wait_log("tcpserver: end ")
    finally:
        code, log = server.stop()
    assert code == 0
    assert "tcpserver: pid " in log  # -V is -v too
    assert log.count("tcpserver: connection pid ") >= 1


def test_limit_from_a_file_read_again_on_sighup(tmp_path):
    """indimail's -c FILE: 2 at start (a third client waits), 3 after a
    SIGHUP (it is served, no connection ended), a bad file keeps 3, and
    lowering to 1 ends nobody."""
    import signal
    limit = tmp_path / "limit"
    limit.write_text("2\n")
    server = Served(prog("tcpserver") + ["-1", "-v", "-HRl0", "-c", str(limit), "127.0.0.1", "0",
                                         "sh", "-c", "echo in; exec cat"])
    held = []
    try:
        for _ in range(2):
            held.append(server.connect(timeout=30))
            assert held[-1].recv(10) == b"in\n"
        held.append(server.connect(timeout=30))  # in the backlog: not accepted at 2/2
        server.wait_log("tcpserver: status: 2/2")
        limit.write_text("3\n")
        server.proc.send_signal(signal.SIGHUP)
        assert held[-1].recv(10) == b"in\n"
        server.wait_log("tcpserver: sighup: 2/3", "tcpserver: status: 3/3")
        limit.write_text("many\n")
        server.proc.send_signal(signal.SIGHUP)
        server.wait_log("tcpserver: warning: sighup: keeping the limit 3: ")
        limit.write_text("1\n")
        server.proc.send_signal(signal.SIGHUP)
        server.wait_log("tcpserver: sighup: 3/1")
        for sock in held:  # all three still served: SIGHUP ended none
            sock.sendall(b"ping\n")
            assert sock.recv(10) == b"ping\n"
    finally:
        for sock in held:
            sock.close()
        code, log = server.stop()
    assert code == 0
    assert "tcpserver: end " not in log.split("sighup: 3/1")[1].split("\n", 1)[0]


@pytest.mark.parametrize("content, code, message", [
    ("0\n", 100, b"tcpserver: fatal: "), ("abc", 100, b"tcpserver: fatal: "), (None, 111, b"tcpserver: fatal: ")])
def test_a_bad_limit_file_stops_the_start(tmp_path, content, code, message):
    limit = tmp_path / "limit"
    if content is not None:
        limit.write_text(content)
    result = run("tcpserver", "-c", str(limit), "127.0.0.1", "0", "true")
    assert result.returncode == code
    assert result.stderr.startswith(message)


def test_T_cuts_an_idle_client():
    """indimail's -T n: a client that sends nothing for n seconds is cut."""
    server = Served(prog("tcpserver") + ["-1", "-v", "-T", "1", "-HRl0", "127.0.0.1", "0", "cat"])
    try:
        with server.connect(timeout=30) as sock:
            sock.sendall(b"x")
            assert sock.recv(10) == b"x"
            assert sock.recv(10) == b""
        server.wait_log("tcpserver: warning: idle timeout: closing connection from 127.0.0.1 port ",
                        "tcpserver: end ")
    finally:
        server.stop()
