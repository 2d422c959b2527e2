"""In-process programs (python:package.module:function) and indimail's
PLUGINn preload, run by the real daemon on real sockets, in both modes:
fused, the daemon calls the function; exec (-X), the last stage's process
does.  The example handlers of examples/python are spoken to by the
standard library's own SMTP and HTTP clients."""

import http.client
import os
import signal
import smtplib
import textwrap

import pytest

from conftest import ROOT, run
from servers import Served, prog, serve, talk_from, wait_for

EXAMPLES = os.path.join(ROOT, "examples", "python")

APPS = '''
import os, sys, threading, time

def hello(sock, env):
    sock.sendall(("hello %s %s\\n" % (env["TCPREMOTEIP"], env.get("GREETING", "-"))).encode())

async def ahello(reader, writer, env):
    writer.write(("ahello %s %s\\n" % (env["TCPREMOTEIP"], env.get("GREETING", "-"))).encode())
    await writer.drain()

def hold(sock, env):
    sock.sendall(b"in\\n")
    sock.recv(10)  # until the client closes (or sends)

async def ahold(reader, writer, env):
    writer.write(b"in\\n")
    await writer.drain()
    await reader.read(10)

def boom(sock, env):
    raise ValueError("bad\\n%s" % env["TCPREMOTEPORT"])

async def aboom(reader, writer, env):
    raise KeyError("nothing")

not_callable = 42

def one_argument(sock):
    pass

def init(reload=False):
    with open(os.environ["INIT_LOG"], "a") as log:
        log.write("reload=%s cwd=%s\\n" % (reload, os.getcwd()))

def failing_init(reload=False):
    raise RuntimeError("no configuration")
'''


@pytest.fixture
def apps(tmp_path):
    (tmp_path / "inproc_apps.py").write_text(textwrap.dedent(APPS))
    return {"PYTHONPATH": "%s%s%s" % (tmp_path, os.pathsep, EXAMPLES),
            "INIT_LOG": str(tmp_path / "init.log")}


@pytest.mark.parametrize("target, word", [("hello", b"hello"), ("ahello", b"ahello")])
def test_function_sees_the_environment_the_stages_built(mode, apps, tmp_path, target, word):
    rules = tmp_path / "rules"
    assert run("accessrules", rules, "allow", "-s", "GREETING=hi there", "127.0.0.1").returncode == 0
    assert run("accessrules", rules, "deny", "127.0.0.0/8").returncode == 0
    server = serve(mode, ["-v2"], prog("tcp-env") + ["-H"] + prog("tcpserver-access") +
                   ["-H", "-i", str(rules), "python:inproc_apps:" + target], env=apps)
    try:
        for _ in range(3):
            assert talk_from(server) == word + b" 127.0.0.1 hi there\n"
        assert talk_from(server, "127.0.0.2") == b""
        server.wait_log("exitcode 0", count=3)
    finally:
        code, log = server.stop()
    assert code == 0
    assert log.count("exitcode 0") == 3
    if mode == []:  # fused: no process, so the pid is '-'
        assert log.count("tcpserverd: info: allow 127.0.0.1 port ") == 3
        assert " pid - count " in log and "end pid - 127.0.0.1 exitcode 0" in log


def test_direct_target_without_stages(mode, apps):
    server = serve(mode, ["-v2"], ["python:inproc_apps:hello"], env=apps)
    try:
        assert talk_from(server) == b"hello 127.0.0.1 -\n"
        server.wait_log("127.0.0.1 exitcode 0")
    finally:
        code, log = server.stop()
    assert code == 0
    assert "end pid - 127.0.0.1 exitcode 0" in log  # with -X too: there is no stage to spawn


@pytest.mark.parametrize("target, logged", [
    ("boom", "python:inproc_apps:boom: ValueError: 'bad\\n"),
    ("aboom", "python:inproc_apps:aboom: KeyError: 'nothing'"),
])
def test_an_exception_ends_that_connection_only(mode, apps, target, logged):
    server = serve(mode, ["-v2"], prog("tcp-env") + ["-H", "python:inproc_apps:" + target], env=apps)
    try:
        for _ in range(2):
            assert talk_from(server) == b""
        server.wait_log("exitcode 1", count=2)
    finally:
        code, log = server.stop()
    assert code == 0
    assert log.count(logged) == 2, log  # once per connection, control bytes escaped
    assert "Traceback" not in log
    stage = "tcpserverd" if mode == [] else "tcp-env"
    assert "%s: warning: python:inproc_apps:%s: " % (stage, target) in log


def test_limits_count_in_process_connections(apps):
    """-C 2: two held connections from one address, the third refused;
    SIGUSR1 lists them with pid '-'; SIGTERM ends the daemon at once."""
    server = serve([], ["-v2", "-c", "10", "-C", "2"], ["python:inproc_apps:hold"], env=apps)
    held = []
    try:
        for _ in range(2):
            sock = server.connect()
            assert sock.recv(10) == b"in\n"
            held.append(sock)
        with server.connect() as third:
            assert third.recv(10) == b""
        server.wait_log("tcpserverd: info: deny 127.0.0.1 port ")
        server.proc.send_signal(signal.SIGUSR1)
        server.wait_log("tcpserverd: info: connection pid - from 127.0.0.1", count=2)
        server.wait_log("tcpserverd: info: status: 2/10")
        code, log = server.stop()  # the handlers still wait in recv: daemon threads
    finally:
        for sock in held:
            sock.close()
    assert code == 0
    assert "tcpserverd: info: exiting" in log


@pytest.mark.parametrize("target, message", [
    ("python:inproc_apps", "expected python:package.module:function"),
    ("python:no_such_module_here:f", "unable to import no_such_module_here for "),
    ("python:inproc_apps:missing", "python:inproc_apps:missing: inproc_apps has no missing"),
    ("python:inproc_apps:not_callable", "python:inproc_apps:not_callable: not a function"),
    ("python:inproc_apps:one_argument", "python:inproc_apps:one_argument must take (sock, env)"),
])
@pytest.mark.parametrize("stages", [[], prog("tcp-env") + ["-H"]])
def test_a_bad_target_is_exit_100_at_start(apps, target, message, stages):
    result = run("tcpserverd", *(stages + [target]), env=apps)
    assert result.returncode == 100
    assert result.stderr.decode().startswith("tcpserverd: ")
    assert message in result.stderr.decode()


def test_arguments_after_a_target_are_a_usage_error(apps):
    result = run("tcpserverd", "python:inproc_apps:hello", "extra", env=apps)
    assert result.returncode == 100
    assert "takes no arguments" in result.stderr.decode()


def test_plugin_init_at_start_and_on_sighup(apps, tmp_path):
    (tmp_path / "plugin-dir").mkdir()
    env = dict(apps, PLUGIN0="python:inproc_apps:hello", PLUGIN0_init="init",
               PLUGIN0_dir=str(tmp_path / "plugin-dir"), PLUGIN1="python:hello_http:serve")
    server = serve([], ["-v2"], ["python:inproc_apps:hello"], env=env)
    init_log = tmp_path / "init.log"
    try:
        assert init_log.read_text() == "reload=False cwd=%s\n" % (tmp_path / "plugin-dir")
        assert talk_from(server) == b"hello 127.0.0.1 -\n"
        server.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: init_log.read_text().count("reload=True") == 1, 15)
        assert talk_from(server) == b"hello 127.0.0.1 -\n"  # still serving, in its own cwd
    finally:
        code, _ = server.stop()
    assert code == 0
    assert init_log.read_text().splitlines()[1] == "reload=True cwd=%s" % (tmp_path / "plugin-dir")


@pytest.mark.parametrize("variables, code, message", [
    ({"PLUGIN0": "/usr/lib/indimail/plugins/qmail_smtpd.so"}, 100, "python:package.module:function plugins only"),
    ({"PLUGIN0": "python:inproc_apps:hello", "PLUGIN0_init": "nope"}, 100, "PLUGIN0_init=nope"),
    ({"PLUGIN0": "python:inproc_apps:hello", "PLUGIN0_init": "failing_init"}, 111,
     "python:inproc_apps:hello init failed: RuntimeError: no configuration"),
])
def test_bad_plugins_stop_the_start(apps, variables, code, message):
    result = run("tcpserverd", "true", env=dict(apps, **variables))
    assert result.returncode == code
    assert message in result.stderr.decode()


def test_smtp_example_with_smtplib(mode, apps):
    server = serve(mode, ["-v2"], prog("tcp-env") + ["-H", "python:hello_smtp:serve"], env=apps)
    try:
        client = smtplib.SMTP(server.host, server.port, timeout=10)
        try:
            code, text = client.ehlo("client.example")
            assert code == 250 and text.endswith(b"hello client.example [127.0.0.1]")
            assert client.noop()[0] == 250
            assert client.docmd("VRFY", "someone") == (502, b"5.5.1 not implemented: VRFY")
        finally:
            assert client.quit()[0] == 221
        server.wait_log("exitcode 0")
    finally:
        code, _ = server.stop()
    assert code == 0


def test_http_example_with_http_client(mode, apps):
    server = serve(mode, ["-v2"], prog("tcp-env") + ["-H", "python:hello_http:serve"], env=apps)
    try:
        for method, status, body in (("GET", 200, b"hello 127.0.0.1\n"), ("HEAD", 200, b""),
                                     ("POST", 405, b"GET or HEAD only\n")):
            client = http.client.HTTPConnection(server.host, server.port, timeout=10)
            client.request(method, "/")
            response = client.getresponse()
            assert (response.status, response.read()) == (status, body)
            client.close()
        with server.connect() as sock:
            sock.sendall(b"garbage\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.0 400 Bad Request\r\n")
    finally:
        code, _ = server.stop()
    assert code == 0


def test_tcpserver_front_end_serves_a_target(apps, tmp_path):
    """ucspi-tcp's interface: tcpserver -x rules.cdb HOST PORT python:..., the
    rule's variables in env, the ucspi log lines with pid '-'."""
    rules = tmp_path / "rules.txt"
    rules.write_text('127.0.0.1:allow,GREETING="from tcprules"\n:deny\n')
    cdb = tmp_path / "rules.cdb"
    assert run("tcprules", cdb, tmp_path / "rules.tmp", input=rules.read_bytes()).returncode == 0
    server = Served(prog("tcpserver") + ["-1", "-v", "-HRl0", "-x", str(cdb), "127.0.0.1", "0",
                                         "python:inproc_apps:ahello"], env=apps)
    try:
        assert talk_from(server) == b"ahello 127.0.0.1 from tcprules\n"
        assert talk_from(server, "127.0.0.2") == b""
        server.wait_log("tcpserver: end - status 0")
    finally:
        code, log = server.stop()
    assert code == 0
    assert "tcpserver: pid - from 127.0.0.1" in log


@pytest.mark.parametrize("target", ["hold", "ahold"])
def test_minus_T_cuts_a_connection_that_never_ends(apps, target):
    """-T 1: the function's socket is shut down (an async one cancelled);
    the slot is freed and the daemon goes on."""
    server = serve([], ["-v2", "-T", "1", "-c", "1"], ["python:inproc_apps:" + target], env=apps)
    try:
        with server.connect(timeout=30) as sock:
            assert sock.recv(10) == b"in\n"
            assert sock.recv(10) == b""  # cut: EOF, without the client doing anything
        server.wait_log("tcpserverd: warning: python:inproc_apps:%s: cut after 1 seconds" % target)
        with server.connect(timeout=30) as sock:  # -c 1: the slot is free again
            assert sock.recv(10) == b"in\n"
    finally:
        code, log = server.stop()
    assert code == 0
    assert log.count("cut after 1 seconds") >= 1


def test_counters_count_in_process_connections(apps, tmp_path):
    """-M: in-process connections are accepted, and end, like spawned ones."""
    metrics = tmp_path / "metrics.prom"
    server = serve([], ["-v2", "-M", str(metrics)], ["python:inproc_apps:hello"], env=apps)
    try:
        for _ in range(3):
            assert talk_from(server) == b"hello 127.0.0.1 -\n"
        server.wait_log("exitcode 0", count=3)
    finally:
        code, _ = server.stop()
    assert code == 0
    text = metrics.read_text()  # written at exit
    assert "\ntcpserverd_accepted_total 3\n" in text
    assert '\ntcpserverd_ended_total{status="exitcode 0"} 3\n' in text
    assert "\ntcpserverd_active 0\n" in text
