"""Listening sockets: resolve a host and port, bind, listen.

Shared by tcpserver-bind (s6's wording) and the tcpserver front end
(ucspi-tcp's wording), which word the failures each their own way.
"""

import os
import socket
import sys

from . import conn, errors, options


def resolve(host, port_text, family=None):
    """(family, sockaddr) to bind; names go through getaddrinfo."""
    if host == "0":
        host = "0.0.0.0"
    port = conn.service_port(port_text)
    if port is None:
        raise errors.BadInput("unknown port: %s" % port_text)
    try:
        infos = socket.getaddrinfo(host, port, family or socket.AF_UNSPEC, socket.SOCK_STREAM,
                                   0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise errors.SystemFailure("unable to resolve %s: %s" % (host, exc.strerror)) from None
    return infos[0][0], infos[0][4]


def bound_socket(family, sockaddr, backlog=-1, reuse=True, dual_stack=True, share=False):
    """A bound, listening, blocking socket; OSError if it cannot be had.
    share sets SO_REUSEPORT: several daemons (of one user) may then listen
    on the same address and port, and the kernel spreads connections."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY,
                            0 if dual_stack and sockaddr[0] == "::" else 1)
        sock.bind(sockaddr)
        sock.listen(socket.SOMAXCONN if backlog < 0 else backlog)
    except OSError:
        sock.close()
        raise
    return sock


def listen(family, sockaddr, backlog=-1, reuse=True, dual_stack=True, share=False):
    """bound_socket(), its failure worded for tcpserver-bind (111)."""
    try:
        return bound_socket(family, sockaddr, backlog, reuse, dual_stack, share)
    except OSError as exc:
        raise errors.SystemFailure("unable to bind to %s port %s: %s"
                                   % (sockaddr[0], sockaddr[1], exc.strerror)) from None


class Listening:
    """One socket the daemon accepts on: its family, the local end of
    every connection when it is bound to one address (else None: each
    connection's own getsockname tells), and its name (systemd's
    LISTEN_FDNAMES; None when not given)."""

    def __init__(self, sock, name=None):
        self.sock, self.name = sock, name
        self.family = sock.family
        self.local_end = conn.fixed_local_end(sock)  # saves a syscall a connection


def _listening_socket(fd):
    """The listening stream socket on fd, non-blocking; BadInput otherwise."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise errors.SystemFailure("unable to use fd %d as a listening socket: %s"
                                   % (fd, exc.strerror)) from None
    try:
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        stream = sock.type == socket.SOCK_STREAM
    except OSError as exc:
        sock.detach()
        raise errors.SystemFailure("unable to use fd %d as a listening socket: %s"
                                   % (fd, exc.strerror)) from None
    if not (listening and stream):
        sock.detach()
        raise errors.BadInput("fd %d is not a listening stream socket (for systemd's Accept=yes,"
                              " run tcp-env, not tcpserverd)" % fd)
    sock.setblocking(False)
    return sock


def inherited(environ, pid):
    """The Listening sockets to serve: systemd's (fds 3.. with LISTEN_FDS,
    when LISTEN_PID is this process), else the one on fd 0."""
    count = environ.get("LISTEN_FDS", "0") if environ.get("LISTEN_PID") == str(pid) else "0"
    number = options.scan(count, "LISTEN_FDS", 0, 1000)
    if number == 0:
        return [Listening(_listening_socket(0))]
    names = environ.get("LISTEN_FDNAMES", "").split(":") if environ.get("LISTEN_FDNAMES") else []
    return [Listening(_listening_socket(3 + i), names[i] if i < len(names) else None)
            for i in range(number)]


def announce(sock):
    """-1: print the port sock listens on, then put /dev/null on fd 1
    (opened first: once the port is out, a reader may act on us at once)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stdout.write("%d\n" % sock.getsockname()[1])
    sys.stdout.flush()
    os.dup2(devnull, 1)
    os.close(devnull)


def adopt_activated_connection(environ, pid):
    """systemd Accept=yes: the connection is on fd 3 (LISTEN_FDS=1 for
    this process); put it on fds 0 and 1, as UCSPI programs want it, and
    forget LISTEN_*.  Returns True when it did."""
    if environ.get("LISTEN_PID") != str(pid) or environ.get("LISTEN_FDS") != "1":
        return False
    os.dup2(3, 0)
    os.dup2(3, 1)
    os.close(3)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(name, None)
    return True
