"""tcpserverd (with tcpserver-bind): a real served port, both modes."""

import os
import resource
import signal
import time

import pytest

from servers import prog, serve, wait_for
from netchain.tcpserverd import EMFILE_PAUSE

ENV_PROG = ["sh", "-c", 'echo "$PROTO $TCPREMOTEIP $TCPLOCALIP $TCPCONNNUM ${TCPREMOTEHOST-unset} ${LEFTOVER-none}"']


def test_environment_and_log_lines(mode):
    server = serve(mode, ["-v2"], ENV_PROG, env={"TCPREMOTEHOST": "stale", "LEFTOVER": "kept"})
    try:
        assert server.talk() == b"TCP 127.0.0.1 127.0.0.1 0 unset kept\n"
    finally:
        code, log = server.stop(until=["tcpserverd: info: end pid "])
    assert code == 0
    lines = log.splitlines()
    assert lines[0] == "tcpserverd: info: starting"
    assert any(line.startswith("tcpserverd: info: allow 127.0.0.1 port ") and line.endswith(" count 1/40")
               for line in lines)
    assert any(line.startswith("tcpserverd: info: end pid ") and line.endswith(" 127.0.0.1 exitcode 0")
               for line in lines)
    assert "tcpserverd: info: status: 0/40" in lines
    assert lines[-1] == "tcpserverd: info: exiting"


@pytest.mark.parametrize("host, connect_to, local_ip", [
    ("127.0.0.1", "127.0.0.1", "127.0.0.1"),   # one address: read once from the listener
    ("0.0.0.0", "127.0.0.2", "127.0.0.2"),     # wildcard: read from each connection
])
def test_local_address_of_each_connection(mode, host, connect_to, local_ip):
    server = serve(mode, [], ["sh", "-c", 'echo "$TCPLOCALIP $TCPLOCALPORT"'], host=host)
    server.host = connect_to
    try:
        assert server.talk() == ("%s %d\n" % (local_ip, server.port)).encode()
    finally:
        assert server.stop()[0] == 0


def test_signal_death_is_decoded(mode):
    server = serve(mode, ["-v2"], ["sh", "-c", "kill -9 $$"])
    try:
        assert server.talk() == b""
    finally:
        code, log = server.stop(until=[" 127.0.0.1 signal 9"])
    assert code == 0


def test_missing_program_does_not_kill_the_daemon(mode):
    server = serve(mode, ["-v2"], ["/nonexistent/program"])
    try:
        for _ in range(3):
            assert server.talk() == b""
        assert server.proc.poll() is None
    finally:
        code, log = server.stop(until=["/nonexistent/program"])
    assert code == 0


def test_per_ip_limit_and_counts_return_to_zero(mode):
    server = serve(mode, ["-v2", "-c", "10", "-C", "2"], ["sh", "-c", "echo $TCPCONNNUM; exec cat"])
    try:
        held = [server.connect() for _ in range(2)]
        assert [s.recv(10) for s in held] == [b"0\n", b"1\n"]
        assert server.talk() == b""  # third from the same IP: closed at once
        for sock in held:
            sock.close()  # their programs end
        server.wait_log("tcpserverd: info: end pid ", count=2)
        assert server.talk() == b"0\n"  # slots came back
        server.wait_log("tcpserverd: info: end pid ", count=3)  # that one's end too
    finally:
        code, log = server.stop()
    assert "tcpserverd: info: deny 127.0.0.1 port " in log
    assert log.count("status: 0/10") >= 2  # after the held pair, after the last


def test_global_limit_waits_in_backlog(mode):
    server = serve(mode, ["-c", "1"], ["sh", "-c", "read x; echo got $x"])
    try:
        first = server.connect()
        second = server.connect()
        second.sendall(b"two\n")
        second.settimeout(0.5)
        with pytest.raises(OSError):
            second.recv(100)  # not served while the first holds the only slot
        first.sendall(b"one\n")
        assert first.recv(100) == b"got one\n"
        first.close()
        second.settimeout(5)
        assert second.recv(100) == b"got two\n"
        second.close()
    finally:
        server.stop()


def test_client_that_vanishes(mode):
    server = serve(mode, [], ["sh", "-c", "echo hi"])
    try:
        for _ in range(20):
            sock = server.connect()
            sock.close()
        assert server.talk() == b"hi\n"
    finally:
        assert server.stop()[0] == 0


def _served_output(mode, program):
    """What program writes when served behind a stage (exec mode runs the
    stage as a Python process that execs it)."""
    server = serve(mode, [], prog("tcp-env") + ["-H"] + program)
    try:
        return server.talk().decode()
    finally:
        server.stop()


def test_children_get_only_0_1_2(mode):
    # ls reads its own fd table: the 4th entry is ls's own directory fd.
    fds = sorted(int(fd) for fd in _served_output(mode, ["ls", "/proc/self/fd"]).split())
    assert fds[:3] == [0, 1, 2] and len(fds) <= 4, fds


def test_children_get_default_signals_and_empty_mask(mode):
    status = _served_output(mode, ["cat", "/proc/self/status"])
    ignored = int(status.split("SigIgn:")[1].split()[0], 16)
    # 32 and 33 are glibc's internal signals (below SIGRTMIN): its
    # posix_spawn leaves them ignored; no program can use them anyway.
    assert ignored & ~0x180000000 == 0, status
    assert int(status.split("SigBlk:")[1].split()[0], 16) == 0


def test_sighup_terms_children_sigterm_exits(mode):
    server = serve(mode, ["-v2"], ["sleep", "30"])
    try:
        sock = server.connect()
        server.wait_log("tcpserverd: info: allow 127.0.0.1 port ")
        server.proc.send_signal(signal.SIGHUP)
        sock.settimeout(10)
        assert sock.recv(10) == b""  # the child was terminated
        sock.close()
    finally:
        code, log = server.stop(until=[" signal 15"])
    assert code == 0


def test_descriptor_limit_does_not_spin(mode):
    """No descriptor left for accept (EMFILE): pause and warn, no busy loop."""
    server = serve(mode, ["-c", "100"], ["sh", "-c", "echo hi"])
    try:
        pid = server.proc.pid
        # the port is printed before /dev/null goes on fd 1
        assert wait_for(lambda: os.readlink("/proc/%d/fd/1" % pid) == "/dev/null")
        fds = set(map(int, os.listdir("/proc/%d/fd" % pid)))
        lowest_free = min(set(range(len(fds) + 1)) - fds)
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free, hard))
        waiting = server.connect()  # accept() now fails with EMFILE
        server.wait_log("unable to accept: ")
        # A window to measure in, not a wait: a daemon that spins on a
        # listener it cannot accept from burns the whole 2 s, a paused one
        # next to nothing.
        before = _cpu(pid)
        time.sleep(2)
        used = _cpu(pid) - before
        assert used < 1.0, "daemon burned %.2fs CPU in 2s" % used
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        waiting.close()
        try:
            answer = server.talk(timeout=EMFILE_PAUSE + 10)  # served once the pause ends
        except OSError as exc:
            answer = exc
    finally:
        code, log = server.stop()
    assert answer == b"hi\n", (answer, code, log)  # serving again once descriptors are back
    assert code == 0
    warnings = [line for line in log.splitlines() if "unable to accept: " in line]
    assert warnings and len(warnings) <= 4  # one a pause, not one a loop turn


def _cpu(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_usage_errors():
    from conftest import run
    assert run("tcpserverd").returncode == 100
    result = run("tcpserverd", "-c", "x", "true")
    assert result.returncode == 100
    assert result.stderr.startswith(b"tcpserverd: usage: ")


def test_sigterm_during_load(mode):
    """SIGTERM while clients keep connecting: clean exit 0, children finish."""
    import threading
    server = serve(mode, ["-c", "20"], ["sh", "-c", "echo hi"])
    stop = threading.Event()
    served = []

    def load():
        while not stop.is_set():
            try:
                served.append(server.talk(timeout=2))
            except OSError:
                pass
    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        assert wait_for(lambda: served.count(b"hi\n") >= 10, timeout=30)
    finally:
        code, log = server.stop()
        stop.set()
        for thread in threads:
            thread.join(10)
    assert code == 0
    assert set(served) <= {b"hi\n", b""}


def test_systemd_socket_activation(tmp_path):
    """LISTEN_FDS=1 with LISTEN_PID = the daemon's pid: serve fd 3."""
    import socket
    import subprocess
    import sys
    from conftest import ROOT
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    script = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ['LISTEN_FDS'] = '1'; "
              "os.environ['LISTEN_PID'] = str(os.getpid()); "
              "os.execv(sys.executable, [sys.executable, '-m', 'netchain', 'tcpserverd', "
              "'sh', '-c', 'echo ${LISTEN_FDS-gone} $TCPLOCALPORT'])")
    proc = subprocess.Popen([sys.executable, "-c", script, str(listener.fileno())],
                            pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.PIPE)
    listener.close()
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    answer = sock.recv(100)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert answer == b"gone %d\n" % port


@pytest.mark.parametrize("by_path", [True, False])
def test_a_program_named_like_a_stage_is_not_replaced(tmp_path, by_path):
    # qmail's tcp-env or a user's own connlimit must run as themselves.
    impostor = tmp_path / "connlimit"
    impostor.write_text("#!/bin/sh\necho not netchain\n")
    impostor.chmod(0o755)
    head = [str(impostor)] if by_path else ["connlimit"]
    server = serve([], [], head + ["echo", "netchain"],
                   env={"PATH": "%s:%s" % (tmp_path, os.environ["PATH"])})
    try:
        assert server.talk() == b"not netchain\n"
    finally:
        server.stop()


def test_a_denied_connection_is_logged_in_both_modes(mode, tmp_path):
    """At -v2 the log names the client and why, fused or not; a per-IP
    limit reads differently from a stage's refusal."""
    root = tmp_path / "rules"
    server = serve(mode, ["-v2", "-C", "1"],
                   prog("tcpserver-access") + ["-H", "-i", str(root), "sh", "-c", "exec cat"])
    try:
        assert server.talk() == b""  # no rules: denied
        reason = "by tcpserver-access exitcode 1" if mode == [] else " 127.0.0.1 exitcode 1"
        server.wait_log(reason)
    finally:
        code, log = server.stop()
    assert code == 0
    line = [text for text in log.splitlines() if reason in text][0]
    assert line.startswith("tcpserverd: info: ")
    assert ("refused 127.0.0.1 port " in line) == (mode == [])


def test_one_failing_connection_does_not_stall_the_drain():
    """Mailbox.drain: a callback that raises is logged, the rest still run."""
    from netchain import fuse

    class Log:
        warnings = []

        def warn(self, text):
            self.warnings.append(text)

    log = Log()
    pipeline = fuse.Pipeline([], ["true"], log)
    finished = []

    def finish(accepted, env, outcome):
        if accepted == "bad":
            raise RuntimeError("boom")
        finished.append(accepted)
    for item in ("bad", "good1", "good2"):
        pipeline.mailbox.posted.put((finish, (item, {}, fuse.Outcome(["true"]))))
    try:
        pipeline.mailbox.drain()
    finally:
        pipeline.close()
    assert finished == ["good1", "good2"]
    assert log.warnings and "boom" in log.warnings[0]


def test_socket_activation_with_two_named_listeners():
    """systemd passes two listeners (LISTEN_FDS=2, LISTEN_FDNAMES): both are
    served, the names are in the log lines, LISTEN_* never reach the program."""
    from servers import Activated
    show = ["sh", "-c", "echo $TCPLOCALPORT ${LISTEN_FDS-gone} ${LISTEN_PID-gone}"]
    daemon = Activated(["--fdname=smtp:submission"], prog("tcpserverd") + ["-v2"] + show, ports=2)
    try:
        for port in daemon.ports:
            assert daemon.talk(port) == b"%d gone gone\n" % port
        assert wait_for(lambda: " on submission" in daemon.log() and " on smtp" in daemon.log())
    finally:
        code, log = daemon.stop()
    assert code == 0, log
    assert [line for line in log.splitlines() if line.startswith("tcpserverd: info: allow 127.0.0.1 port ")
            and line.endswith(" count 1/40 on smtp")]


def test_a_connected_socket_is_refused_naming_tcp_env():
    """Accept=yes hands a connected socket: tcpserverd says to use tcp-env (100)."""
    from servers import Activated
    daemon = Activated(["--accept"], prog("tcpserverd") + ["true"])
    try:
        assert daemon.talk(daemon.ports[0]) == b""
        assert wait_for(lambda: "not a listening stream socket" in daemon.log())
    finally:
        _, log = daemon.stop()
    line = [text for text in log.splitlines() if "not a listening stream socket" in text][0]
    assert line.startswith("tcpserverd: fatal: fd 3 is not a listening stream socket") and "tcp-env" in line


def test_sigusr1_prints_the_live_connections(mode):
    server = serve(mode, ["-v1"], ["sh", "-c", "echo in; exec cat"])
    try:
        held = [server.connect() for _ in range(2)]
        assert [sock.recv(10) for sock in held] == [b"in\n", b"in\n"]
        server.proc.send_signal(signal.SIGUSR1)
        server.wait_log("tcpserverd: info: status: 2/40")
        assert server.proc.poll() is None  # SIGUSR1's default action would have killed it
        for sock in held:
            sock.close()
    finally:
        code, log = server.stop()
    assert code == 0
    assert log.count("tcpserverd: info: connection pid ") == 2
    assert " from 127.0.0.1" in log


def _metrics(path):
    """{(name, labels): value} of a Prometheus text file, read by
    prometheus-client's own parser (the oracle for the format)."""
    from prometheus_client.parser import text_string_to_metric_families
    with open(path) as handle:
        text = handle.read()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_counters_file(tmp_path):
    from netchain.rules import record, tree
    root = str(tmp_path / "rules")
    tree.install_rule(root, "ip4/127.0.0.2_32", record.DENY)
    tree.install_rule(root, "ip4/127.0.0.0_8", record.ALLOW)
    metrics = tmp_path / "metrics.prom"
    server = serve([], ["-v2", "-C", "1", "-M", str(metrics)],
                   prog("tcpserver-access") + ["-H", "-i", root, "sh", "-c", "echo in; exec cat"])
    try:
        assert server.talk() == b"in\n"
        import socket
        with socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                      source_address=("127.0.0.2", 0)) as denied:
            assert denied.recv(10) == b""  # the rules deny it
        server.wait_log("tcpserverd: info: end pid ")  # the first one's slot is free again
        with server.connect() as held:
            assert held.recv(10) == b"in\n"
            assert server.talk() == b""  # over -C 1
        server.wait_log("tcpserverd: info: end pid ", count=2)
        want = {("tcpserverd_accepted_total", ()): 4.0, ("tcpserverd_limit", ()): 40.0,
                ("tcpserverd_refused_total", (("reason", "rules"),)): 1.0,
                ("tcpserverd_refused_total", (("reason", "per-ip"),)): 1.0,
                ("tcpserverd_ended_total", (("status", "exitcode 0"),)): 2.0,
                ("tcpserverd_active", ()): 0.0}
        assert wait_for(lambda: os.path.exists(metrics) and
                        all(_metrics(metrics).get(key) == value for key, value in want.items()), timeout=15), \
            _metrics(metrics) if os.path.exists(metrics) else "no file"
    finally:
        code, _ = server.stop()
    assert code == 0
    assert _metrics(metrics)[("tcpserverd_refused_total", (("reason", "errors"),))] == 0.0
    assert [name for name in os.listdir(tmp_path) if name.startswith("metrics.prom:")] == []


def test_an_unwritable_counters_file_never_stops_the_daemon(tmp_path):
    server = serve([], ["-M", str(tmp_path / "missing" / "metrics.prom")], ["sh", "-c", "echo hi"])
    try:
        for _ in range(3):
            assert server.talk() == b"hi\n"
    finally:
        code, _ = server.stop()
    assert code == 0


def test_counter_labels_are_escaped():
    from netchain import counters
    table = counters.Counters("/nonexistent", 5)
    table.accept('a"b\\c\nd')
    assert _labels_of(table.text()) == [('a"b\\c\nd',)]


def _labels_of(text):
    from prometheus_client.parser import text_string_to_metric_families
    return [tuple(sample.labels.values()) for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == "tcpserverd_accepted_total"]


@pytest.mark.parametrize("chain,loaded", [
    (["tcp-env", "-h"], True), (["tcpserver-rules", "-HR"], True),  # no -l: the local name
    (["ident-lookup"], False), (["proxy-server"], False), (["tcpserver-access", "-H"], False),
])
def test_dnspython_is_loaded_before_the_drop_only_when_a_stage_looks_names_up(chain, loaded):
    import subprocess
    import sys
    from conftest import ROOT
    code = ("import sys; from netchain import tcpserverd; "
            "tcpserverd.prepare(['tcpserverd', sys.executable, '-m', 'netchain'] + sys.argv[1:] + ['true']); "
            "print('dns.resolver' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code] + chain, capture_output=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.stdout == (b"True\n" if loaded else b"False\n"), result.stderr


def test_idle_client_is_cut_after_I_seconds(mode):
    """-I 1: the daemon relays; a client silent for a second is cut (never
    before a second has passed since it last sent), the program sees EOF."""
    served = serve(mode, ["-v2", "-I", "1"], ["sh", "-c", "echo greeting; cat; echo program saw eof >&2"])
    try:
        with served.connect(timeout=30) as sock:
            assert sock.recv(100) == b"greeting\n"  # the program speaks first, through the relay
            before_sending = time.monotonic()  # the daemon hears the data after this
            sock.sendall(b"ping\n")
            assert sock.recv(100) == b"ping\n"
            assert sock.recv(100) == b""  # cut
            assert time.monotonic() - before_sending >= 1.0
        served.wait_log("tcpserverd: warning: idle timeout: closing connection from 127.0.0.1 port ",
                        "program saw eof", "end pid ")
    finally:
        served.stop()


def test_idle_check_counts_from_the_last_data():
    """In-process: the relay's last_heard decides, at the daemon's clock."""
    import selectors
    import socket as sockets

    from netchain import fusedrelay, serverlog

    log = serverlog.make("s6", "tcpserverd", 0, 40, 40)
    relays = fusedrelay.FusedRelays(None, log, idle=5)
    selector = selectors.DefaultSelector()
    started = []
    relays.attach(selector, lambda accepted, env, outcome, fd: started.append(fd) or 4242,
                  lambda accepted, outcome: None)
    client, server = sockets.socketpair()
    accepted = type("Accepted", (), {"fd": server.detach(), "remote_ip": "127.0.0.9",
                                     "remote_port": 1})()
    relays.start(accepted, {}, type("Outcome", (), {"argv": ["x"], "lines": ()})())
    relay = relays.relaying[4242].relay
    relay.last_heard = 1000.0
    relays.cut_overdue(1004.9)
    assert 4242 in relays.relaying
    relays.cut_overdue(1005.0 + fusedrelay.IDLE_CHECK)  # the next look, 5 s after the last data
    assert 4242 not in relays.relaying
    client.settimeout(5)
    assert client.recv(10) == b""  # the client's connection is closed
    client.close()
    selector.close()


def test_signals_are_handled_once_the_port_is_announced(mode):
    """-1 says the daemon is ready: a SIGUSR1 sent the moment the port is
    read is answered with the table, never the signal's default (death)."""
    served = serve(mode, ["-v2"], ["echo", "hello"])
    try:
        served.proc.send_signal(signal.SIGUSR1)
        served.wait_log("tcpserverd: info: status: 0/40")
        assert served.proc.poll() is None
        assert served.talk() == b"hello\n"
    finally:
        code, _ = served.stop()
    assert code == 0
