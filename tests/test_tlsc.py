"""tlsc after tcpclient: against netchain's own tlsd and against a plain
Python TLS server; verification, SNI, client certificates, usage."""

import socket
import ssl
import subprocess
import sys
import threading

import pytest

from conftest import make_env, run
from servers import prog, serve
from tlscerts import Certs

# the client program: send a line on fd 7, shut down, print what fd 6 gives
CLIENT = [sys.executable, "-c",
          "import os, socket\n"
          "sock = socket.socket(fileno=7)\n"
          "sock.sendall(b'ping\\n'); sock.shutdown(socket.SHUT_WR)\n"
          "data = b''.join(iter(lambda: os.read(6, 65536), b''))\n"
          "os.write(1, data + ('PEER=%s\\n' % os.environ.get('SSL_PEER_CERT_SUBJECT')).encode())\n"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certs(str(tmp_path_factory.mktemp("certs")))


def client(port, certs, tlsc_opts=(), env=None, unset=()):
    full_env = {"CAFILE": certs.ca.cert}
    full_env.update(env or {})
    argv = prog("tcpclient") + ["-RHl0", "127.0.0.1", str(port)] + prog("tlsc") + \
        list(tlsc_opts) + CLIENT
    return subprocess.run(argv, capture_output=True, timeout=60,
                          env=make_env(full_env, ("KEYFILE", "CERTFILE") + tuple(unset)))


def test_against_tlsd(mode, certs):
    served = serve(mode, [], prog("tlsd") + ["sh", "-c", "echo hello $SSL_PROTOCOL; cat"],
                   env=certs.server_env())
    try:
        done = client(served.port, certs, ["-k", "localhost"])
        assert done.returncode == 0, done.stderr
        assert done.stdout == b"hello TLSv1.3\nping\nPEER=CN=localhost,O=netchain tests\n"
    finally:
        served.stop()


class PythonTlsServer:
    """A plain ssl server (not netchain) on 127.0.0.1: greets, echoes one
    connection's bytes until EOF, closes with close_notify."""

    def __init__(self, key, cert):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.port = self.listener.getsockname()[1]
        self.names = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.context.sni_callback = lambda obj, name, ctx: self.names.append(name)
        try:
            raw, _ = self.listener.accept()
        except OSError:
            return
        raw.settimeout(30)
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                tls.sendall(b"greetings\n")
                data = b"".join(iter(lambda: tls.recv(65536), b""))
                tls.sendall(data)
                tls.unwrap()
        except (OSError, ssl.SSLError):
            pass

    def close(self):
        self.listener.close()
        self.thread.join(timeout=30)


def test_against_a_python_tls_server(certs):
    """-S: the client's EOF goes as close_notify, which the server reads as
    an end and still answers (a plain EOF is an error to OpenSSL 3 there)."""
    server = PythonTlsServer(certs.server_key, certs.server_cert)
    try:
        done = client(server.port, certs, ["-S", "-k", "localhost"])
        assert done.returncode == 0, done.stderr
        assert done.stdout == b"greetings\nping\nPEER=CN=localhost,O=netchain tests\n"
        assert server.names == ["localhost"]
    finally:
        server.close()


def test_untrusted_server_is_refused(certs):
    key, cert = certs.rogue.issue("rogue-server", "localhost", ("localhost",))
    server = PythonTlsServer(key, cert)
    try:
        done = client(server.port, certs, ["-v2", "-k", "localhost"])
        assert done.returncode == 98
        assert done.stdout == b""  # the program never ran
        assert b"tlsc: warning: handshake failed for " in done.stderr
        assert b"certificate verify failed" in done.stderr
    finally:
        server.close()


def test_wrong_name_is_refused(certs):
    server = PythonTlsServer(certs.server_key, certs.server_cert)
    try:
        done = client(server.port, certs, ["-v2", "-k", "other.test"])
        assert (done.returncode, done.stdout) == (98, b"")
    finally:
        server.close()


def test_client_certificate(mode, certs):
    served = serve(mode, [], prog("tlsd") + ["-y", "sh", "-c", "echo $SSL_PEER_CERT_SUBJECT"],
                   env=certs.server_env(CAFILE=certs.ca.cert))
    try:
        done = client(served.port, certs, ["-y", "-k", "localhost"],
                      env={"KEYFILE": certs.client_key, "CERTFILE": certs.client_cert})
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(b"CN=client one,O=netchain tests\n")
        refused = client(served.port, certs, ["-k", "localhost"])  # -Y: none sent
        assert not refused.stdout.startswith(b"CN=")
    finally:
        served.stop()


def test_usage_and_configuration_errors(certs):
    done = run("tlsc", "true", unset=("CAFILE", "CADIR"))
    assert done.returncode == 100
    assert done.stderr.startswith(b"tlsc: fatal: CAFILE or CADIR must be set")
    done = run("tlsc", "-y", "true", env={"CAFILE": certs.ca.cert}, unset=("CERTFILE",))
    assert done.returncode == 96
    done = run("tlsc", env={"CAFILE": certs.ca.cert})
    assert done.returncode == 100 and done.stderr.startswith(b"tlsc: usage: tlsc ")
