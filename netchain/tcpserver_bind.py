"""tcpserver-bind: create a TCP socket, bind, listen, drop privileges, exec.

    tcpserver-bind [-d|-D] [-b backlog] [-1] [-U] [-u uid] [-g gid] [-G gids] host port prog...

The listening socket is left on fd 0 for the next program (tcpserverd).
host: an IPv4 or IPv6 address, 0 (every IPv4 address), :: (every IPv4
and IPv6 address: dual stack, IPv4 peers appear as IPv4) or a name.
"""

import os
import socket
import sys

from . import chain, conn, errors, options, privs

PROG = "tcpserver-bind"
USAGE = ("tcpserver-bind [ -d | -D ] [ -b backlog ] [ -1 ] [ -U | -u uid -g gid -G gidlist ]"
         " host port prog...")


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


def main(argv):
    opts, rest = options.parse(argv, "dDb:1Uu:g:G:")
    flags = dict(opts)
    if len(rest) < 3:
        raise errors.UsageError()
    backlog = options.number(flags["-b"], "-b") if "-b" in flags else -1
    reuse = True
    for flag, _ in opts:  # the last of -d / -D wins
        reuse = {"-d": True, "-D": False}.get(flag, reuse)
    ids = privs.parse_ids(flags.get("-u"), flags.get("-g"), flags.get("-G"), "-U" in flags)
    family, sockaddr = resolve(rest[0], rest[1])
    sock = listen(family, sockaddr, backlog, reuse)
    port = sock.getsockname()[1]
    os.dup2(sock.fileno(), 0)  # dup2 makes fd 0 inheritable
    sock.close()
    if "-1" in flags:
        devnull = os.open(os.devnull, os.O_WRONLY)
        sys.stdout.write("%d\n" % port)
        sys.stdout.flush()
        os.dup2(devnull, 1)
        os.close(devnull)
    next_program = chain.prepare_next(rest[2:])  # before the drop: see prepare_next
    privs.drop(*ids)
    if next_program is not None:
        return next_program()
    chain.exec_into(rest[2:], dict(os.environ))
    return 0
