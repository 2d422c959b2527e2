"""A throwaway MariaDB server for tests: mariadb-install-db and mariadbd
from Debian's mariadb-server, with a data directory, a Unix socket and a
port on 127.0.0.1 of its own, run as the mysql user, stopped by pid.  A
user 'netchain' with a password may read the database 'rules'."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from servers import _free_port

PASSWORD = "netchain-test-password"
INSTALL, SERVER = "/usr/bin/mariadb-install-db", "/usr/sbin/mariadbd"


class MariaDB:
    def __init__(self):
        if not (os.path.exists(INSTALL) and os.path.exists(SERVER)) or os.geteuid() != 0:
            pytest.skip("MariaDB tests need Debian's mariadb-server and root")
        pytest.importorskip("pymysql")
        self.user = pwd.getpwnam("mysql")
        self.base = tempfile.mkdtemp(prefix="netchain-maria-")
        os.chmod(self.base, 0o755)
        self.data = os.path.join(self.base, "data")
        self.socket = os.path.join(self.base, "mysqld.sock")
        os.mkdir(self.data, 0o700)
        os.chown(self.data, self.user.pw_uid, self.user.pw_gid)
        os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        done = subprocess.run([INSTALL, "--no-defaults", "--datadir=" + self.data, "--user=mysql",
                               "--auth-root-authentication-method=normal", "--skip-test-db"],
                              capture_output=True, timeout=300, cwd=self.base)
        assert done.returncode == 0, done.stderr.decode()
        self.port = _free_port()
        with open(os.path.join(self.base, "log"), "wb") as log:
            self.proc = subprocess.Popen(
                [SERVER, "--no-defaults", "--datadir=" + self.data, "--user=mysql",
                 "--socket=" + self.socket, "--port=%d" % self.port, "--bind-address=127.0.0.1",
                 "--pid-file=" + os.path.join(self.base, "pid"), "--skip-log-bin",
                 "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=4M"],
                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        self._wait_ready()
        self.admin("CREATE DATABASE rules",
                   "CREATE USER 'netchain'@'127.0.0.1' IDENTIFIED BY '%s'" % PASSWORD,
                   "CREATE USER 'netchain'@'localhost' IDENTIFIED BY '%s'" % PASSWORD,
                   "GRANT SELECT ON rules.* TO 'netchain'@'127.0.0.1'",
                   "GRANT SELECT ON rules.* TO 'netchain'@'localhost'")

    def _root(self, database=None):
        import pymysql

        return pymysql.connect(unix_socket=self.socket, user="root", password="",
                               database=database, connect_timeout=10, autocommit=True)

    def _wait_ready(self):
        end = time.monotonic() + 120
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("mariadbd exited: " + self.log())
            # our own probe first: PyMySQL leaves a socket open when a connect fails
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(self.socket)
            except OSError:
                time.sleep(0.1)
                continue
            finally:
                probe.close()
            self._root().close()
            return
        raise AssertionError("mariadbd did not start: " + self.log())

    def admin(self, *statements, database=None):
        """Run statements as root; the rows of the last one."""
        connection = self._root(database)
        try:
            with connection.cursor() as cursor:
                # a lock held by the code under test fails the test, never hangs it
                cursor.execute("SET SESSION lock_wait_timeout = 20")
                for statement in statements:
                    cursor.execute(statement)
                return cursor.fetchall()
        finally:
            connection.close()

    def log(self):
        with open(os.path.join(self.base, "log"), errors="replace") as handle:
            return handle.read()

    def db_conf(self, directory, server="127.0.0.1", table="tcprules", password=PASSWORD):
        path = os.path.join(directory, "db.conf")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write("%s:netchain:%s:rules:%s\n" % (server, password, table))
        return path

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)
