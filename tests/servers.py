"""Helpers for tests that run a real served port on 127.0.0.1."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from conftest import ROOT, make_env

NETCHAIN = [sys.executable, "-m", "netchain"]


def prog(name):
    """argv head that runs a netchain program (works inside a chain too)."""
    return [os.path.join(ROOT, ".venv", "bin", name)] if os.path.exists(
        os.path.join(ROOT, ".venv", "bin", name)) else NETCHAIN + [name]


class Served:
    """A chain started with tcpserver-bind -1; stopped by its own pid.

    Its stderr goes to a file, so that a test can wait for a log line
    (wait_log) instead of sleeping.
    """

    def __init__(self, argv, env=None, unset=(), host="127.0.0.1"):
        if host == "::":
            host = "127.0.0.1"
        full_env = make_env(env, unset)
        full_env["PYTHONPATH"] = python_path(env)
        self.log_dir = tempfile.mkdtemp(prefix="served-")
        self.log_path = os.path.join(self.log_dir, "stderr")
        with open(self.log_path, "ab") as stderr:  # O_APPEND: our reads never move it
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr,
                                         env=full_env, start_new_session=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise AssertionError("server did not start: %r %r" % (line, self.stop()))
        self.port = int(line)
        self.host = host

    def connect(self, timeout=5):
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def talk(self, data=b"", timeout=5):
        """Connect, send data, read until EOF; return the bytes."""
        with self.connect(timeout) as sock:
            if data:
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            return read_to_eof(sock)

    def log(self):
        with open(self.log_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    def wait_log(self, *texts, count=1, timeout=15):
        """Wait until each text is in the log (count times); fail if not."""
        def present():
            log = self.log()
            return all(log.count(text) >= count for text in texts)
        assert wait_for(present, timeout), "not logged: %r\n%s" % (texts, self.log())

    def stop(self, signum=signal.SIGTERM, timeout=15, until=()):
        """Wait for the lines in until, signal the daemon (by pid), reap it;
        return (exit code, log text)."""
        if until:
            self.wait_log(*until)
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        log = self.log()
        shutil.rmtree(self.log_dir, ignore_errors=True)
        return self.proc.returncode, log


def read_to_eof(sock):
    """Every byte sock gives until the peer closes (its timeout applies to each read)."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def talk_from(server, source="127.0.0.1", timeout=10):
    """Connect to server from source (a 127.0.0.0/8 address), read to EOF."""
    with socket.create_connection((server.host, server.port), timeout=timeout,
                                  source_address=(source, 0)) as sock:
        return read_to_eof(sock)


def python_path(env):
    """ROOT, then the PYTHONPATH a test gives (for its python: targets)."""
    given = (env or {}).get("PYTHONPATH")
    return ROOT + (os.pathsep + given if given else "")


def wait_for(predicate, timeout=5.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def serve(mode, daemon_opts, chain, env=None, host="127.0.0.1", **kw):
    """tcpserver-bind HOST 0 tcpserverd -1 MODE OPTS CHAIN..., started."""
    # -1 on tcpserverd: the port is printed once the daemon is ready
    argv = prog("tcpserver-bind") + [host, "0"] + prog("tcpserverd") + \
        ["-1"] + mode + daemon_opts + chain
    return Served(argv, env=env, host="::1" if host == "::1" else "127.0.0.1", **kw)


class Activated:
    """systemd-socket-activate (systemd's own tool) listening on loopback
    ports and running program; its stderr (and the program's) goes to a
    file.  Stopped by its own pid."""

    def __init__(self, options, program, ports=1, env=None, cwd=None, path=()):
        import shutil
        if shutil.which("systemd-socket-activate") is None:
            import pytest
            pytest.skip("systemd-socket-activate not installed (Debian package systemd)")
        full_env = make_env(env)
        full_env["PYTHONPATH"] = ROOT
        full_env["PATH"] = os.pathsep.join([*path, full_env.get("PATH", "/usr/bin:/bin")])
        self.log_dir = tempfile.mkdtemp(prefix="activated-")
        self.log_path = os.path.join(self.log_dir, "stderr")
        for _ in range(5):  # a port taken between picking and binding: pick again
            self.ports = [_free_port() for _ in range(ports)]
            listen = ["--listen=127.0.0.1:%d" % port for port in self.ports]
            with open(self.log_path, "wb") as stderr:
                self.proc = subprocess.Popen(["systemd-socket-activate"] + listen + options + program,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=stderr, env=full_env, cwd=cwd,
                                             start_new_session=True)
            if wait_for(lambda: self.proc.poll() is not None or
                        self.log().count("Listening on") >= ports, timeout=15) and self.proc.poll() is None:
                return
            self.stop()
        raise AssertionError("systemd-socket-activate did not start: %s" % self.log())

    def log(self):
        with open(self.log_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    def talk(self, port, data=b"", timeout=10):
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            if data:
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            return read_to_eof(sock)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        log = self.log()
        shutil.rmtree(self.log_dir, ignore_errors=True)
        return self.proc.returncode, log


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
