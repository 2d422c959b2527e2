"""tcpclient: ucspi-tcp 0.88's tcpclient.

    tcpclient [ -hHrRdDqQv ] [ -i localip ] [ -p localport ] [ -T timeoutconn ]
              [ -l localname ] [ -t timeoutinfo ] host port program

Connects, then execs program with fd 6 reading from and fd 7 writing to
the network, and the TCP variables set.  Names are looked up with the
same DNS code as tcp-env (DNSCACHEIP/DNSCACHEPORT); -H and -R turn the
remote name and IDENT lookups off, as in ucspi-tcp.
"""

import os
import socket

from . import addr, chain, conn, dnsclient, errors, identclient, logline, lookups, options
from .errstr import error_str

PROG = "tcpclient"
USAGE = ("tcpclient [ -hHrRdDqQv ] [ -i localip ] [ -p localport ] [ -T timeoutconn ]"
         " [ -l localname ] [ -t timeoutinfo ] host port program")


class Fail(errors.NetchainError):
    """tcpclient's own wording: 'tcpclient: TEXT' without 'fatal:' (111)."""

    bare = True


class Config:
    def __init__(self, opts):
        flags, last = dict(opts), {}
        for flag, _ in opts:
            for group in ("hH", "rR", "dD", "qQv"):
                if flag[1] in group:
                    last[group] = flag[1]
        self.nodelay = last.get("dD", "d") == "D"
        self.verbosity = {"q": 0, "Q": 1, "v": 2}[last.get("qQv", "Q")]
        self.local_ip = flags.get("-i")
        self.local_port = options.number(flags.get("-p", "0"), "-p", 0, 65535)
        first, _, second = flags.get("-T", "2+58").partition("+")
        self.connect_timeout = options.number(first, "-T") + (options.number(second, "-T") if second else 0)
        self.info_timeout = options.number(flags.get("-t", "26"), "-t")
        self.lookups = lookups.Lookups(dns=last.get("hH", "h") == "h", local_name=flags.get("-l"),
                                       ident=last.get("rR", "r") == "r")


def _address(host, resolver_env):
    """The address to connect to, as 0.88 reads host: '' and '0' are
    127.0.0.1, '[1.2.3.4]' and '127.000.000.001' are addresses (each part
    at most 255: 0.88 would wrap 256 to 0), IPv6 text as ucspi-tcp-ipv6;
    anything else is a name for DNS."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host in ("", "0"):
        return "127.0.0.1"
    parts = host.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and len(p) <= 3 and int(p) <= 255
                               for p in parts):
        return ".".join(str(int(p)) for p in parts)
    if ":" in host:
        try:
            return addr.canonical_ip(host)
        except ValueError:
            pass
    found = dnsclient.addresses(dnsclient.make_resolver(resolver_env), host, 30)
    if not found:
        raise errors.SystemFailure("no IP address for %s" % host)
    return found[0]


def _port(text):
    port = conn.service_port(text)
    if port is None:
        raise errors.SystemFailure("unable to figure out port number for %s" % text)
    return port


def connect(config, ip, port):
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(config.connect_timeout)
    try:
        if config.local_ip or config.local_port:
            sock.bind((config.local_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"),
                       config.local_port))
        sock.connect((ip, port))
    except OSError as exc:
        sock.close()
        reason = "timed out" if isinstance(exc, socket.timeout) else error_str(exc.errno)
        raise Fail("unable to connect to %s port %d: %s" % (ip, port, reason), errors.TEMPORARY) from None
    sock.settimeout(None)
    if config.nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def environment(config, sock, env):
    """env with the TCP variables of the connection, names and IDENT as
    asked; a failed lookup leaves its variable unset, as in 0.88."""
    values = conn.tcp_variables(*conn.endpoints(sock))
    ctx = chain.Context(dict(env, **values))  # what the lookups read
    found = config.lookups
    names = {"TCPLOCALHOST": found.local_name, "TCPREMOTEHOST": None, "TCPREMOTEINFO": None}
    try:
        if found.local_name is None:
            names["TCPLOCALHOST"] = found.name_of(ctx, values["TCPLOCALIP"])
        if found.dns:
            names["TCPREMOTEHOST"] = found.name_of(ctx, values["TCPREMOTEIP"])
    except dnsclient.LookupFailed:
        pass
    if found.ident:
        try:
            names["TCPREMOTEINFO"] = found.remote_info(ctx, config.info_timeout)
        except identclient.IdentFailed:
            pass
    for name in names:
        env.pop(name, None)
    env.update(values)
    env.update({k: v for k, v in names.items() if v is not None})
    if ":" in values["TCPREMOTEIP"]:
        env["PROTO"] = "TCP6"  # as ucspi-tcp-ipv6's tcpclient: TCP* names kept
    return env


def main(argv):
    opts, rest = options.parse(argv, "46hHrRdDqQvi:p:T:l:t:", djb=True)
    if len(rest) < 3:
        raise errors.UsageError()
    config = Config(opts)
    try:
        run(config, rest)
    except errors.NetchainError as exc:
        if config.verbosity == 0 and not isinstance(exc, errors.UsageError):
            raise errors.NetchainError("", exc.code) from None  # -q: 0.88 says nothing
        raise
    return 0


def run(config, rest):
    """Connect and exec the program with fd 6 and 7 on the connection."""
    ip, port = _address(rest[0], os.environ), _port(rest[1])
    sock = connect(config, ip, port)
    if config.verbosity >= 2:
        logline.write("tcpclient: connected to %s port %d" % (ip, port))
    env = environment(config, sock, dict(os.environ))
    for fd in (6, 7):
        os.dup2(sock.fileno(), fd)
    sock.close()
    try:
        chain.exec_into(rest[2:], env)
    except errors.NetchainError as exc:
        raise errors.SystemFailure("unable to run %s: %s"
                                   % (rest[2], error_str(getattr(exc, "errno", 0)))) from None
