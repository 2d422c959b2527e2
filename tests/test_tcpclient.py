"""tcpclient side by side with Debian's tcpclient, against a local server."""

import subprocess

import pytest

from conftest import need, run, run_ref
from servers import serve

# The program lists its own descriptors (ls reads /proc/self: no shell's
# pipes in the way); ls's own directory fd is 3, the lowest free one.
SHOW = ["sh", "-c", 'echo "$PROTO $TCPLOCALIP ${TCPLOCALHOST-unset} $TCPREMOTEIP $TCPREMOTEPORT '
        '${TCPREMOTEHOST-unset} ${TCPREMOTEINFO-unset}"; echo ping >&7; head -c 5 <&6; echo; '
        'exec ls /proc/self/fd']


@pytest.fixture
def echo_server():
    server = serve([], [], ["sh", "-c", "read line; echo got-$line"])
    yield server
    server.stop()


def test_same_as_ucspi_tcp(echo_server):
    need("tcpclient")
    args = ["-HR", "-l0", "127.0.0.1", str(echo_server.port)] + SHOW
    mine, ref = run("tcpclient", *args), run_ref("tcpclient", *args)
    assert mine.returncode == ref.returncode == 0
    mine_lines, ref_lines = mine.stdout.splitlines(), ref.stdout.splitlines()
    assert mine_lines[0] == ref_lines[0] == b"TCP 127.0.0.1 0 127.0.0.1 %d unset unset" % echo_server.port
    assert mine_lines[1] == ref_lines[1] == b"got-p"
    fds = sorted(int(fd) for fd in mine_lines[2:])
    assert fds == sorted(int(fd) for fd in ref_lines[2:]) == [0, 1, 2, 3, 6, 7]  # nothing leaks


def test_verbose_line(echo_server):
    result = run("tcpclient", "-v", "-HR", "-l0", "127.0.0.1", echo_server.port, "true")
    assert result.returncode == 0
    assert result.stderr == b"tcpclient: connected to 127.0.0.1 port %d\n" % echo_server.port


def test_refused_same_message():
    need("tcpclient")
    mine = run("tcpclient", "-HR", "127.0.0.1", "1", "true")
    ref = run_ref("tcpclient", "-HR", "127.0.0.1", "1", "true")
    assert mine.returncode == ref.returncode == 111
    assert mine.stderr == ref.stderr


@pytest.mark.parametrize("args", [[], ["-HR", "127.0.0.1", "x", "true"]])
def test_errors_same_as_reference(args):
    need("tcpclient")
    mine, ref = run("tcpclient", *args), run_ref("tcpclient", *args)
    assert mine.returncode == ref.returncode
    assert mine.stderr == ref.stderr


def test_program_exit_code_passes_through(echo_server):
    assert run("tcpclient", "-HR", "-l0", "127.0.0.1", echo_server.port, "sh", "-c", "exit 7").returncode == 7


def test_host_name_through_fake_dns(echo_server):
    from fakes import FakeDNS
    dns = FakeDNS(answers={("server.example", "A"): ["127.0.0.1"]})
    try:
        result = run("tcpclient", "-HR", "-l0", "server.example", echo_server.port,
                     "sh", "-c", "echo $TCPREMOTEIP", env=dns.env())
        missing = run("tcpclient", "-HR", "-l0", "nothing.example", echo_server.port, "true",
                      env=dns.env())
    finally:
        dns.close()
    assert (result.returncode, result.stdout) == (0, b"127.0.0.1\n")
    assert missing.returncode == 111
    assert missing.stderr == b"tcpclient: fatal: no IP address for nothing.example\n"


@pytest.mark.parametrize("host", ["[127.0.0.1]", "127.000.000.001", "", "0"])
def test_host_forms_as_ucspi_tcp(echo_server, host):
    need("tcpclient")
    args = ["-HRl0", host, str(echo_server.port), "sh", "-c", "echo $TCPREMOTEIP"]
    mine, ref = run("tcpclient", *args), run_ref("tcpclient", *args)
    assert (mine.returncode, mine.stdout) == (ref.returncode, ref.stdout) == (0, b"127.0.0.1\n")


@pytest.mark.parametrize("args", [["-q", "-HR", "127.0.0.1", "1", "true"],
                                  ["-q", "-HR", "127.0.0.1", "nosuchport", "true"],
                                  ["-Z"], ["-T"]])
def test_quiet_and_option_errors_as_ucspi_tcp(args):
    need("tcpclient")
    mine, ref = run("tcpclient", *args), run_ref("tcpclient", *args)
    assert (mine.returncode, mine.stderr) == (ref.returncode, ref.stderr)


@pytest.mark.parametrize("program", ["/nonexistent/prog", "nonexistentprog"])
def test_missing_program_as_ucspi_tcp(echo_server, program):
    need("tcpclient")
    args = ["-HRl0", "127.0.0.1", str(echo_server.port), program]
    mine, ref = run("tcpclient", *args), run_ref("tcpclient", *args)
    assert (mine.returncode, mine.stderr) == (ref.returncode, ref.stderr)
    assert mine.stderr == b"tcpclient: fatal: unable to run %s: file does not exist\n" % program.encode()


UCSPI6_CLIENT = __import__("os").path.join(__import__("conftest").ROOT, ".ci", "ref", "ucspi-tcp-ipv6",
                                          "usr", "bin", "tcpclient")


def test_ipv6_server_as_ucspi_tcp_ipv6():
    import os
    if not os.path.exists(UCSPI6_CLIENT):
        pytest.skip("Debian's ucspi-tcp-ipv6 not unpacked in .ci/ref (see .ci/run)")
    server = serve([], [], ["sh", "-c", "echo hi"], host="::1")
    show = ["sh", "-c", 'echo "$PROTO $TCPLOCALIP $TCPREMOTEIP $TCPREMOTEPORT ${TCPLOCALHOST-u} '
            '${TCP6LOCALIP-u} ${TCP6REMOTEIP-u}"']
    try:
        args = ["-HRl0", "::1", str(server.port)] + show
        mine = run("tcpclient", *args)
        ref = subprocess.run([UCSPI6_CLIENT] + args, capture_output=True, timeout=30)
    finally:
        server.stop()
    assert (mine.returncode, mine.stdout) == (ref.returncode, ref.stdout)
    assert mine.stdout.startswith(b"TCP6 ::1 ::1 %d 0 u u" % server.port)
