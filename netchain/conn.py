"""The TCP environment of one connection (DESIGN.md section 2)."""

import os
import socket

from . import addr

# Every variable a netchain stage sets for a connection; tcpserverd drops
# inherited copies so that a value can only come from this connection.
TCP_VARIABLES = ("PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPLOCALHOST", "TCPREMOTEIP",
                 "TCPREMOTEPORT", "TCPREMOTEHOST", "TCPREMOTEINFO", "TCPCONNNUM")


def base_environment(environ=None):
    """The environment without any inherited TCP* variable."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items()
            if not k.startswith("TCP") and k not in ("PROTO", "LISTEN_FDS", "LISTEN_PID",
                                                     "LISTEN_FDNAMES")}


def endpoints(sock):
    """(local ip, local port, remote ip, remote port) in canonical text."""
    local, remote = sock.getsockname(), sock.getpeername()
    if sock.family == socket.AF_INET:  # dotted decimal already: skip the parse
        return local[0], local[1], remote[0], remote[1]
    return (addr.canonical_ip(local[0]), local[1], addr.canonical_ip(remote[0]), remote[1])


def tcp_variables(local_ip, local_port, remote_ip, remote_port):
    return {"PROTO": "TCP", "TCPLOCALIP": local_ip, "TCPLOCALPORT": str(local_port),
            "TCPREMOTEIP": remote_ip, "TCPREMOTEPORT": str(remote_port)}


def sanitize(text, limit=100):
    """Network text for a log line: bytes outside 33..126 and ':' become '?'."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return "".join(chr(b) if 33 <= b <= 126 and b != 58 else "?" for b in data[:limit])
