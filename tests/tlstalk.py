"""TLS clients for the tests: Python's ssl, openssl s_client, and a raw
ClientHello of an old protocol version."""

import os
import socket
import ssl
import subprocess

from servers import read_to_eof


class Reply:
    """What one TLS conversation gave: the bytes, the server's
    certificate (DER), the protocol version, or the error."""

    def __init__(self, data=b"", cert=None, version=None, error=None):
        self.data, self.cert, self.version, self.error = data, cert, version, error

    def env(self):
        """The NAME=value lines of the reply, as a dict."""
        found = {}
        for line in self.data.decode("utf-8", "replace").splitlines():
            name, sep, value = line.partition("=")
            if sep and name.isupper():
                found[name] = value
        return found


def half_close(tls_sock):
    """Shut down our sending side of the TCP connection without a
    close_notify (what 'cat | s_client' and many clients do)."""
    with socket.socket(fileno=os.dup(tls_sock.fileno())) as raw:
        raw.shutdown(socket.SHUT_WR)


def talk(port, context, data=b"", servername="localhost", timeout=10, close_notify=False):
    """Connect, handshake, send data, close our side, read to EOF."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        tls = context.wrap_socket(raw, server_hostname=servername)
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        return Reply(error=exc)
    with tls:
        cert, version = tls.getpeercert(binary_form=True), tls.version()
        try:
            if data:
                tls.sendall(data)
            if close_notify:
                tls = tls.unwrap()
                tls.shutdown(socket.SHUT_WR)
            else:
                half_close(tls)
            return Reply(read_to_eof(tls), cert, version)
        except (ssl.SSLError, OSError) as exc:
            return Reply(error=exc, cert=cert, version=version)


def client_context(cafile, minimum=None, maximum=None, certificate=None, check_hostname=True):
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = check_hostname
    if minimum:
        context.minimum_version = minimum
    if maximum:
        context.maximum_version = maximum
    if certificate:
        context.load_cert_chain(certificate[1], certificate[0])
    return context


def s_client(port, cafile, data, *options, timeout=30):
    """openssl s_client on 127.0.0.1:port with data on its stdin;
    (exit code, stdout bytes, stderr text)."""
    done = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                           "-CAfile", cafile, "-verify_return_error", "-quiet", *options],
                          input=data, capture_output=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def old_client_hello(version=b"\x03\x02"):
    """A ClientHello offering only version (TLS 1.1 by default) and one
    cipher suite, without the supported_versions extension."""
    body = version + os.urandom(32) + b"\x00" + b"\x00\x04\x00\x2f\x00\xff" + b"\x01\x00"
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake


def raw_exchange(port, data, timeout=10):
    """Send data (no TLS from us), read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        try:
            return read_to_eof(sock)
        except ConnectionResetError:
            return b""
