"""RFC 1413 client: ask the peer's identd who owns a connection.

The answer is attacker-controlled: a line longer than 1000 bytes, or a
user id holding any control byte (below 32, or 127: ucspi-tcp 0.88 passes
them on) is rejected; the user id is cut at 512 bytes.  The port is 113,
or IDENTPORT (for tests).
"""

import socket
import time

from . import errors, options

MAX_LINE = 1000
MAX_USERID = 512


class IdentFailed(errors.SystemFailure):
    """No usable answer: timeout, refused, malformed (exit 111 when fatal)."""


class IdentRejected(IdentFailed):
    """An answer refused for what it holds; the log says why."""


class IdentError(IdentFailed):
    """The identd answered ERROR (exit 2 with ident-lookup -w)."""

    code = 2


class IdentTimeout(IdentFailed):
    """No answer before the deadline (exit 99 with ident-lookup -w)."""

    code = 99


def query(remote_ip, remote_port, local_ip, local_port, timeout, ident_port=113):
    """The user id the peer's identd gives for this connection (str)."""
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in remote_ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(max(timeout, 0.001))
            sock.bind((local_ip, 0))
            sock.connect((remote_ip, ident_port))
            sock.sendall(b"%d , %d\r\n" % (remote_port, local_port))
            line = _read_line(sock, deadline)
    except socket.timeout:
        raise IdentTimeout("unable to get an IDENT answer from %s: timed out" % remote_ip) from None
    except OSError as exc:
        raise IdentFailed("unable to query IDENT at %s: %s" % (remote_ip, exc.strerror)) from None
    return parse_answer(line, remote_port, local_port)


def _read_line(sock, deadline):
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        sock.settimeout(left)
        chunk = sock.recv(MAX_LINE + 1 - len(data))
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE:
            raise IdentFailed("IDENT answer too long")
    return data.split(b"\n", 1)[0].removesuffix(b"\r")


def parse_answer(line, remote_port, local_port):
    """The user id in 'PORTS : USERID : OS : id', or IdentError/IdentFailed."""
    parts = line.split(b":", 3)
    ports = parts[0].replace(b" ", b"").replace(b"\t", b"").split(b",")
    if len(parts) < 3 or ports != [b"%d" % remote_port, b"%d" % local_port]:
        raise IdentFailed("malformed IDENT answer")
    kind = parts[1].strip()
    if kind == b"ERROR":
        raise IdentError("IDENT error: %s" % parts[2].strip().decode("ascii", "replace")[:64])
    if kind != b"USERID" or len(parts) < 4:
        raise IdentFailed("malformed IDENT answer")
    userid = parts[3].lstrip(b" \t")[:MAX_USERID]
    if not userid:
        raise IdentFailed("malformed IDENT answer")
    if any(c < 32 or c == 127 for c in userid):
        raise IdentRejected("IDENT user id with a control byte rejected")
    return userid.decode("utf-8", "surrogateescape")


def query_env(env, timeout):
    """query() for the connection the TCP variables describe."""
    import os

    def port(text, what):
        return options.scan(text, what, 0, 65535)
    return query(env["TCPREMOTEIP"], port(env["TCPREMOTEPORT"], "TCPREMOTEPORT"), env["TCPLOCALIP"],
                 port(env["TCPLOCALPORT"], "TCPLOCALPORT"), timeout,
                 port(os.environ.get("IDENTPORT", "113"), "IDENTPORT"))
