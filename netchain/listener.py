"""Listening sockets: resolve a host and port, bind, listen.

Shared by tcpserver-bind (s6's wording) and the tcpserver front end
(ucspi-tcp's wording), which word the failures each their own way.
"""

import socket

from . import conn, errors


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


def bound_socket(family, sockaddr, backlog=-1, reuse=True, dual_stack=True):
    """A bound, listening, blocking socket; OSError if it cannot be had."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY,
                            0 if dual_stack and sockaddr[0] == "::" else 1)
        sock.bind(sockaddr)
        sock.listen(socket.SOMAXCONN if backlog < 0 else backlog)
    except OSError:
        sock.close()
        raise
    return sock


def listen(family, sockaddr, backlog=-1, reuse=True, dual_stack=True):
    """bound_socket(), its failure worded for tcpserver-bind (111)."""
    try:
        return bound_socket(family, sockaddr, backlog, reuse, dual_stack)
    except OSError as exc:
        raise errors.SystemFailure("unable to bind to %s port %s: %s"
                                   % (sockaddr[0], sockaddr[1], exc.strerror)) from None
