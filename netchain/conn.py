"""The TCP environment of one connection (doc/design.md section 2)."""

import os
import socket

from . import addr, errors, options

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
    family = sock.family
    return address_text(sock.getsockname(), family) + address_text(sock.getpeername(), family)


def address_text(address, family):
    """(ip, port) of a socket address, the ip in canonical text."""
    if family == socket.AF_INET:  # dotted decimal already: skip the parse
        return address[0], address[1]
    return addr.canonical_ip(address[0]), address[1]


def fixed_local_end(listener):
    """The (ip, port) every connection accepted on listener has as its local
    end, or None when it is bound to a wildcard address (then each
    connection's own getsockname tells)."""
    local = address_text(listener.getsockname(), listener.family)
    return None if local[0] in ("0.0.0.0", "::") else local


def local_end(fd, family, fixed=None):
    """(ip, port) of our end of connection fd: fixed (see fixed_local_end)
    when the listener tells it, else getsockname.  Raises OSError."""
    if fixed is not None:
        return fixed
    sock = socket.socket(family, socket.SOCK_STREAM, 0, fd)
    try:
        return address_text(sock.getsockname(), family)
    finally:
        sock.detach()


def tcp_variables(local_ip, local_port, remote_ip, remote_port):
    return {"PROTO": "TCP", "TCPLOCALIP": local_ip, "TCPLOCALPORT": str(local_port),
            "TCPREMOTEIP": remote_ip, "TCPREMOTEPORT": str(remote_port)}


def service_port(text):
    """The port for text, a number (ASCII digits, 0..65535) or a service
    name from /etc/services; None for a name that is not there."""
    if text.isascii() and text.isdigit():
        return options.number(text, "port", 0, 65535)
    try:
        return socket.getservbyname(text, "tcp")
    except OSError:
        return None


def check_endpoints(env, proto):
    """BadInput (exit 100) naming the first of ${proto}REMOTEIP,
    REMOTEPORT, LOCALIP, LOCALPORT that is missing or not valid."""
    for suffix in ("REMOTEIP", "REMOTEPORT", "LOCALIP", "LOCALPORT"):
        name = proto + suffix
        value = env.get(name)
        if value is None:
            raise errors.BadInput("%s not set" % name)
        if suffix.endswith("PORT"):
            options.scan(value, name, 0, 65535)
            continue
        try:
            addr.parse_ip(value)
        except ValueError:
            raise errors.BadInput("invalid %s: %r" % (name, value[:60])) from None


def fill_from_socket(ctx):
    """Set PROTO and the IP/port variables from the socket when absent (a
    program run alone: inetd, systemd Accept=yes); when present, they must
    be valid (BadInput, exit 100, otherwise)."""
    if "TCPREMOTEIP" in ctx.env and "TCPLOCALIP" in ctx.env:
        if not ctx.endpoints_from_daemon:  # the daemon's own are valid already
            check_endpoints(ctx.env, "TCP")
        return
    try:
        found = endpoints(ctx.socket())
    except OSError as exc:
        raise errors.SystemFailure("unable to read the socket on fd 0: %s" % exc.strerror) from None
    for name in ("TCPREMOTEHOST", "TCPLOCALHOST", "TCPREMOTEINFO"):
        ctx.env.pop(name, None)  # inherited from our parent, not this connection
    ctx.env.update(tcp_variables(*found))


def set_ipv6_variables(env, local, remote, info):
    """What Debian's ucspi-tcp-ipv6 adds on an IPv6 socket.

    TCP6* for every client (an IPv4 client's addresses as ::ffff:a.b.c.d);
    PROTO=TCP6 for an IPv6 client.  TCP* keep the dotted IPv4 form.
    """
    def six(ip):
        return ip if ":" in ip else "::ffff:" + ip
    env["TCP6LOCALIP"] = six(env["TCPLOCALIP"])
    env["TCP6REMOTEIP"] = six(env["TCPREMOTEIP"])
    env["TCP6LOCALPORT"] = env["TCPLOCALPORT"]
    env["TCP6REMOTEPORT"] = env["TCPREMOTEPORT"]
    for name, value in (("TCP6LOCALHOST", local), ("TCP6REMOTEHOST", remote),
                        ("TCP6REMOTEINFO", info)):
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    if ":" in env["TCPREMOTEIP"]:
        env["PROTO"] = "TCP6"


def sanitize(text, limit=100):
    """Network text for a log line: bytes outside 33..126 and ':' become '?'."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return "".join(chr(b) if 33 <= b <= 126 and b != 58 else "?" for b in data[:limit])


def no_delay(fd):
    """TCP_NODELAY on the client's socket: the relay writes whole TLS
    flights and records at once, and Nagle would hold the next one back
    until the client's delayed ACK (40 ms)."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass  # not a TCP socket (a pipe, a Unix socket): nothing to set


def shut_write(fd):
    """Half-close fd: the peer reads EOF, and can still send."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # not a socket, or already gone: nothing to tell
    finally:
        sock.close()
