"""rblsmtpd: side by side with Debian's (ucspi-tcp 0.88) on the same input,
bytes compared: the dialogue with a refused client, RBLSMTPD, the lists
looked up in a fake DNS server on loopback, and the stage fused and in
exec mode behind a real tcpserverd, spoken to by smtplib."""

import os
import re
import smtplib
import socket

import dns.message
import dns.rcode
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_env, need, run, run_ref
from fakes import FakeDNS
from servers import prog, serve

PID = re.compile(rb" pid \d+: ")
LISTED = "4.3.2.1"
DJB_DNS_IP = "127.0.0.153"  # djb's resolver asks port 53 only: the fake listens there (root)


def both(args, stdin=b"", env=None):
    """(ours, Debian's) CompletedProcess, pids taken out of stderr."""
    need("rblsmtpd")
    results = []
    for runner in (run, run_ref):
        result = runner("rblsmtpd", *args, input=stdin, env=env, timeout=60)
        result.stderr = PID.sub(b" pid N: ", result.stderr)
        results.append(result)
    return results


def same(args, stdin=b"", env=None):
    ours, theirs = both(args, stdin, env)
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)
    return ours


DIALOGUE = (b"helo x\r\nEHLO a b\r\nMAIL FROM:<a>\r\nmail\r\nrcpt to:<x>\r\ndata\r\nhelp\r\n"
            b"vrfy x\r\n\r\n \r\nnoop x\r\nrset\r\nhelo\0zz\r\nhelo\rx\r\nHeLo\n")


@pytest.mark.parametrize("preset", ["blocked here", "-bounced", "-", "x" * 300 + "\x01\x1bé"])
@pytest.mark.parametrize("end", [b"quit now\r\nhelo\r\n", b"", b"partial line"])
def test_dialogue_matches_ucspi_tcp(preset, end):
    result = same(["true"], DIALOGUE + end, {"RBLSMTPD": preset, "TCPREMOTEIP": "1.2.3.4"})
    assert result.returncode == 0
    assert result.stdout.startswith(b"220 rblsmtpd.local\r\n")


@pytest.mark.parametrize("preset", ["blocked", "-bounced"])
def test_timeout_zero_says_the_refusal_once(preset):
    result = same(["-t", "0", "true"], DIALOGUE, {"RBLSMTPD": preset, "TCPREMOTEIP": "1.2.3.4"})
    assert result.stdout in (b"451 blocked\r\n", b"553 bounced\r\n")


def test_empty_rblsmtpd_runs_smtpd():
    result = same(["echo", "smtpd", "ran"], b"", {"RBLSMTPD": "", "TCPREMOTEIP": "1.2.3.4"})
    assert result.stdout == b"smtpd ran\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(
    st.sampled_from([b"helo", b"EHLO x", b"mail from:<>", b"rcpt to:<a>", b"data", b"noop",
                     b"rset", b"quit", b"", b" ", b"\0", b"x" * 2000]),
    st.binary(max_size=40)), max_size=8),
    ending=st.sampled_from([b"\r\n", b"\n", b"\r\r\n"]))
def test_random_dialogues_match_ucspi_tcp(lines, ending):
    same(["true"], ending.join(lines) + ending, {"RBLSMTPD": "go away", "TCPREMOTEIP": "1.2.3.4"})


@pytest.mark.parametrize("args, message", [
    (["-R", "true"], b"rblsmtpd: illegal option -- R\nrblsmtpd: usage: "),
    (["-t"], b"rblsmtpd: option requires an argument -- t\nrblsmtpd: usage: "),
    ([], b"rblsmtpd: usage: "),
])
def test_usage_matches_ucspi_tcp(args, message):
    result = same(args, env={"RBLSMTPD": "x"})
    assert result.returncode == 100
    assert result.stderr.startswith(message)


def test_program_not_found_matches_ucspi_tcp():
    result = same(["/nonexistent/smtpd"], env={"RBLSMTPD": ""})
    assert result.returncode == 111
    assert result.stderr == b"rblsmtpd: fatal: unable to run /nonexistent/smtpd: file does not exist\n"


@pytest.mark.parametrize("args, env, message", [
    (["-t", "abc", "true"], {}, b"rblsmtpd: usage: "),          # 0.88 reads it as 0
    (["-r", "bad..base", "true"], {}, b"rblsmtpd: fatal: not a DNS name suffix: "),
    (["-r", "bl.example", "true"], {"TCPREMOTEIP": "nonsense"},
     b"rblsmtpd: fatal: TCPREMOTEIP is not an IP address: "),
])
def test_our_checks(args, env, message):
    result = run("rblsmtpd", *args, env=env, unset=("RBLSMTPD",))
    assert result.returncode == 100
    assert message in result.stderr


def _servfail(query):
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.SERVFAIL)
    return response.to_wire()


@pytest.fixture
def djb_dns():
    """The fake DNS on port 53 of a loopback address, for both programs."""
    if os.geteuid() != 0:
        pytest.skip("djb's resolver asks port 53: root only")
    try:
        server = FakeDNS(address=(DJB_DNS_IP, 53), answers={
            (LISTED + ".bl.example", "TXT"): ['"listed" " here"', '"second"'],
            (LISTED + ".ctl.example", "TXT"): ['"bad\\010text\\255" "%s"' % ("y" * 250)],
            (LISTED + ".al.example", "A"): ["127.0.0.2"]},
            raw={LISTED + ".broken.example": _servfail})
    except OSError as exc:
        pytest.skip("port 53 on %s: %s" % (DJB_DNS_IP, exc))
    yield server
    server.close()


@pytest.mark.parametrize("args", [
    ["-r", "bl.example"], ["-b", "-r", "bl.example"], ["-r", "none.example"],
    ["-r", "ctl.example"], ["-a", "al.example", "-r", "bl.example"],
    ["-r", "none.example", "-b", "-r", "bl.example"],
    ["-r", "broken.example", "-r", "bl.example"], ["-b", "-r", "broken.example", "-r", "bl.example"],
    ["-c", "-r", "broken.example", "-r", "bl.example"], ["-a", "broken.example", "-r", "bl.example"],
    ["-c", "-a", "broken.example", "-r", "bl.example"],
])
def test_lists_match_ucspi_tcp(djb_dns, args):
    env = dict(djb_dns.env(), TCPREMOTEIP="1.2.3.4")
    assert env["DNSCACHEPORT"] == "53"  # for both
    same(["-t", "0"] + args + ["echo", "passed"], b"", make_env(env, ("RBLSMTPD",)))


def test_ipv6_clients_are_looked_up_by_nibbles():
    """0.88 knew no IPv6; the lists' own convention (RFC 5782) is used."""
    dns_server = FakeDNS(answers={("1" + ".0" * 31 + ".bl.example", "TXT"): ['"v6 listed"']})
    try:
        result = run("rblsmtpd", "-t", "0", "-r", "bl.example", "true",
                     env=dict(dns_server.env(), TCPREMOTEIP="::1"), unset=("RBLSMTPD",))
    finally:
        dns_server.close()
    assert (result.returncode, result.stdout) == (0, b"451 v6 listed\r\n")


def test_fused_and_exec_behind_tcpserverd(mode):
    """127.0.0.1 is listed: smtplib meets the refusal at RCPT and no smtpd
    runs for it (fused: no process at all); 127.0.0.2 is not: its smtpd runs."""
    dns_server = FakeDNS(answers={("1.0.0.127.bl.example", "TXT"): ['"you are listed"']})
    server = serve(mode, ["-v2"], prog("tcp-env") + ["-H"] + prog("rblsmtpd") +
                   ["-r", "bl.example", "sh", "-c", "echo 220 real smtpd $TCPREMOTEIP"],
                   env=dns_server.env(), unset=("RBLSMTPD",))
    try:
        client = smtplib.SMTP(server.host, server.port, timeout=10)
        assert client.ehlo()[0] == 250
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: x\r\n\r\nx\r\n")
        assert refused.value.recipients["b@example.com"] == (451, b"you are listed")
        client.quit()
        with socket.create_connection((server.host, server.port), timeout=10,
                                      source_address=("127.0.0.2", 0)) as sock:
            assert sock.recv(100) == b"220 real smtpd 127.0.0.2\n"
        server.wait_log("rblsmtpd: 127.0.0.1 pid ", "127.0.0.2 exitcode 0")
    finally:
        code, log = server.stop()
        dns_server.close()
    assert code == 0
    if mode == []:
        assert "rblsmtpd: 127.0.0.1 pid 0: 451 you are listed" in log
        assert "tcpserverd: info: refused 127.0.0.1 port " in log and " by rblsmtpd exitcode 0" in log
        assert "allow 127.0.0.1" not in log
    else:
        assert re.search(r"rblsmtpd: 127\.0\.0\.1 pid [1-9]\d*: 451 you are listed", log)
