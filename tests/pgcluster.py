"""A throwaway PostgreSQL cluster for tests: initdb and postgres from
Debian's postgresql package, run as the postgres user in a temporary
directory, listening on 127.0.0.1 and a Unix socket there, stopped by the
postmaster's pid.  A role with a password kept in a 0600 PGPASSFILE."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

PASSWORD = "netchain-test-password"


def _bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    return found[-1] if found else None


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    def __init__(self):
        if _bin("initdb") is None or os.geteuid() != 0:
            pytest.skip("PostgreSQL tests need Debian's postgresql and root")
        self.user = pwd.getpwnam("postgres")
        self.base = tempfile.mkdtemp(prefix="netchain-pg-")
        os.chmod(self.base, 0o755)
        self.data = os.path.join(self.base, "data")
        os.mkdir(self.data, 0o700)
        os.chown(self.data, self.user.pw_uid, self.user.pw_gid)
        pwfile = os.path.join(self.base, "initpw")
        with open(os.open(pwfile, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            handle.write(PASSWORD + "\n")
        os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        self._as_postgres([_bin("initdb"), "-D", self.data, "-A", "scram-sha-256", "-U", "postgres",
                           "--pwfile=" + pwfile, "-E", "UTF8"])
        os.unlink(pwfile)
        self.port = _free_port()
        with open(os.path.join(self.base, "log"), "wb") as log:
            self.proc = subprocess.Popen(
                ["runuser", "-u", "postgres", "--", _bin("postgres"), "-D", self.data, "-p", str(self.port),
                 "-h", "127.0.0.1", "-k", self.data, "-c", "fsync=off"],
                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        self.passfile = os.path.join(self.base, "pgpass")
        with open(os.open(self.passfile, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            handle.write("127.0.0.1:%d:*:postgres:%s\n" % (self.port, PASSWORD))
        self._wait_ready()

    def _as_postgres(self, argv):
        result = subprocess.run(["runuser", "-u", "postgres", "--"] + argv, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=120, cwd=self.base)
        assert result.returncode == 0, result.stderr.decode()

    def _wait_ready(self):
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                with open(os.path.join(self.base, "log")) as log:
                    raise AssertionError("postgres exited: " + log.read())
            result = subprocess.run([_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                    capture_output=True)
            if result.returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError("postgres did not start")

    def dsn(self):
        return "postgresql://postgres@127.0.0.1:%d/postgres" % self.port

    def env(self):
        return {"PGPASSFILE": self.passfile}

    def stop(self):
        """Stopped by the postmaster's own pid, waited for."""
        if self.proc.poll() is None:
            with open(os.path.join(self.data, "postmaster.pid")) as handle:
                pid = int(handle.readline())
            os.kill(pid, signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)
