"""Helpers for tests that run a real served port on 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
import time

from conftest import ROOT, make_env

NETCHAIN = [sys.executable, "-m", "netchain"]


def prog(name):
    """argv head that runs a netchain program (works inside a chain too)."""
    return [os.path.join(ROOT, ".venv", "bin", name)] if os.path.exists(
        os.path.join(ROOT, ".venv", "bin", name)) else NETCHAIN + [name]


class Served:
    """A chain started with tcpserver-bind -1; stopped by its own pid."""

    def __init__(self, argv, env=None, unset=(), host="127.0.0.1"):
        if host == "::":
            host = "127.0.0.1"
        self.log_path = None
        full_env = make_env(env, unset)
        full_env["PYTHONPATH"] = ROOT
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=full_env, start_new_session=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise AssertionError("server did not start: %r %r" % (line, self.stop(settle=0)))
        self.port = int(line)
        self.host = host
        self.stderr_lines = []

    def connect(self, timeout=5):
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def talk(self, data=b"", timeout=5):
        """Connect, send data, read until EOF; return the bytes."""
        with self.connect(timeout) as sock:
            if data:
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)

    def stop(self, signum=signal.SIGTERM, timeout=10, settle=0.4):
        """Signal the daemon (by pid), reap it, return (exit code, stderr text).

        settle: time for children that just ended to be reaped and logged.
        """
        time.sleep(settle)
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            err = self.proc.communicate(timeout=timeout)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            err = self.proc.communicate()[1]
        return self.proc.returncode, err.decode("utf-8", "replace")


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
