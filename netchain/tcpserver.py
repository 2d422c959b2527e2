"""tcpserver: ucspi-tcp 0.88's tcpserver, as a chain of netchain programs.

    tcpserver [ -1UXpPhHrRoOdDqQv ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] [ -g gid ]
              [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] host port program

(0.88's usage line, printed as is; netchain also takes -C perip, -V as
indimail's, -4, -6, -I interface as Debian's ucspi-tcp-ipv6, and
indimail's TLS options -n certfile, -s, -i certdir, -a cafile, -L
crlfile, -f ciphers, -M method, -N, -S timeout, -z, which add tlsd.)

Binds the port itself (so that its errors read as ucspi-tcp's: 'unable to
bind: address already used'), drops privileges, then execs
    tcpserverd -L ucspi ... tcpserver-rules ... program
with the listening socket on fd 0.
"""

import os
import shutil
import sys

from . import chain, conn, daemonconfig, errors, listener, options, privs
from .errstr import error_str

PROG = "tcpserver"
USAGE = ("tcpserver [ -1UXpPhHrRoOdDqQv ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] [ -g gid ]"
         " [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] host port program")
# Debian's ucspi-tcp-ipv6 adds -4, -6 and -I interface; accepted here too.
SPEC = "461UXpPhHrRoOdDqQvVc:C:x:B:g:u:b:l:t:I:n:si:a:L:f:M:NS:zT:m:"
# indimail's TLS options (-n certfile turns TLS on); -s and -i only name the file
TLS_FLAGS = ("-n", "-s")
CERTDIR = "/etc/indimail/certs"


def program(name):
    """How to run a netchain program: its console script, else python -m."""
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    return [found] if found else [sys.executable, "-m", "netchain", name]


def _last(opts, *flags):
    chosen = None
    for flag, _ in opts:
        if flag in flags:
            chosen = flag
    return chosen


def per_ip_limit(values):
    """-C, else MAXCONIP (ucspi-tcp6), else MAXPERIP (indimail), else None."""
    if "-C" in values:
        return options.number(values["-C"], "-C", 1)
    for name in ("MAXCONIP", "MAXPERIP"):
        if os.environ.get(name) is not None:
            return options.scan(os.environ[name], name, 1)
    return None


class Plan:
    """What a tcpserver command line asks for: where to listen, as whom,
    and the chain to exec with the listening socket on fd 0."""

    def __init__(self, argv):
        opts, rest = options.parse(argv, SPEC, djb=True)
        if len(rest) < 3:
            raise errors.UsageError()
        values = dict(opts)
        chosen = _last(opts, "-q", "-Q", "-v", "-V") or "-Q"
        self.verbosity = {"-q": 0, "-Q": 1, "-v": 2, "-V": 2}[chosen]
        self.table = chosen == "-V"  # indimail's: -v and the connection table
        self.host = listen_host(rest[0], opts, values.get("-I"))
        self.port = rest[1]
        self.backlog = options.number(values["-b"], "-b") if "-b" in values else -1
        self.ids = ("-U" in values, values.get("-u"), values.get("-g"))
        for flag in ("-u", "-g"):
            if flag in values:
                options.number(values[flag], flag, 0, options.ID_MAX)
        self.tls_env = tls_environment(values, os.environ) if _last(opts, *TLS_FLAGS) else {}
        tls = self._tls(values) if self.tls_env else []
        self.chain = self._daemon(opts, values) + self._child(opts, values) + ["--"] + tls + rest[2:]

    def _daemon(self, opts, values):
        limit = values.get("-c", "40")
        if limit.startswith(("/", ".")):  # indimail's -c FILE: checked here, read by tcpserverd
            daemonconfig.read_limit(limit)
        else:
            limit = str(options.number(limit, "-c", 1))
        daemon = program("tcpserverd") + ["-L", "ucspi", "-N", PROG, "-v", str(self.verbosity),
                                          "-c", limit]
        if "-1" in values:
            daemon.append("-1")
        if self.table:
            daemon.append("-V")
        perip = per_ip_limit(values)
        if perip is not None:
            daemon += ["-C", str(perip)]
        if "-T" in values:  # indimail's: cut a client silent this long (the daemon relays)
            daemon += ["-I", str(options.number(values["-T"], "-T", 1))]
        return daemon

    def _child(self, opts, values):
        child = program("tcpserver-rules") + ["-v", str(self.verbosity)]
        for group in (("-h", "-H"), ("-p", "-P"), ("-r", "-R"), ("-d", "-D")):
            chosen = _last(opts, *group)
            if chosen:
                child.append(chosen)
        if "-X" in values:
            child.append("-X")
        for flag in ("-x", "-B", "-l", "-m"):
            if flag in values:
                child += [flag, values[flag]]
        if "-t" in values:
            child += ["-t", str(options.number(values["-t"], "-t"))]
        return child


    def _tls(self, values):
        """tlsd with indimail's handshake timeout (-S, default 60 s) and,
        with a CA, an optional client certificate checked against it."""
        seconds = options.number(values.get("-S", "60"), "-S")
        tlsd = program("tlsd") + ["-v", str(self.verbosity), "-K", str(seconds * 1000)]
        if "CAFILE" in self.tls_env:
            tlsd.append("-Y")
        return tlsd


def tls_environment(values, environ):
    """What indimail's TLS options tell tlsd, as its variables."""
    certdir = values.get("-i") or environ.get("CERTDIR") or CERTDIR
    if "-n" in values and values["-n"]:
        certfile = values["-n"]
    elif "-n" in values:  # -n '': TLS_CERTFILE
        certfile = environ.get("TLS_CERTFILE") or os.path.join(certdir, "servercert.pem")
    else:  # -s
        certfile = os.path.join(certdir, "servercert.pem")
    env = {"CERTFILE": certfile, "KEYFILE": certfile}  # one PEM holds both
    for flag, name in (("-a", "CLIENTCA"), ("-L", "CLIENTCRL"), ("-f", "TLS_CIPHER_LIST")):
        value = values.get(flag) or environ.get(name)
        if value:
            env["CAFILE" if flag == "-a" else name] = value
    if "-M" in values:
        from .tlsconf import METHODS  # tlsd's list: a method it would refuse is a usage error here

        methods = sorted(name for name in METHODS if name)
        if values["-M"] not in methods:
            raise errors.UsageError("-M %s is not supported: TLS 1.2 and 1.3 only (%s)"
                                    % (values["-M"], ", ".join(methods)))
        env["TLS_METHOD"] = values["-M"]
    if "-N" in values:
        env["TLS_RENEGOTIATION"] = "1"
    if "-z" in values:
        env["TLS_PROVIDER"] = ""  # tlsd fills it in for the program
    return env


def translate(argv):
    """The chain argv for a tcpserver command line (after the bind)."""
    return Plan(argv).chain


def listen_host(host, opts, interface):
    """host 0: every IPv4 and IPv6 address (dual stack), or IPv4 only with -4.

    As Debian's ucspi-tcp-ipv6, whose refusal of '::' is not copied; -I
    gives the interface of a link-local address.
    """
    if host == "0":
        host = "0.0.0.0" if _last(opts, "-4", "-6") == "-4" or not _has_ipv6() else "::"
    if interface and ":" in host and "%" not in host:
        host = "%s%%%s" % (host, interface)
    return host


def _has_ipv6():
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::", 0))
        return True
    except OSError:
        return False


def _port_number(text):
    port = conn.service_port(text)
    if port is None:
        raise errors.SystemFailure("unable to figure out port number for %s" % text)
    return port


def bind(plan):
    """The listening socket, or ucspi-tcp's fatal errors (111)."""
    port = _port_number(plan.port)
    try:
        family, sockaddr = listener.resolve(plan.host, str(port))
    except errors.NetchainError:
        raise errors.SystemFailure("temporarily unable to figure out IP address for %s"
                                   % plan.host) from None
    try:
        return listener.bound_socket(family, sockaddr, plan.backlog)
    except OSError as exc:
        raise errors.SystemFailure("unable to bind: %s" % error_str(exc.errno)) from None


def check_tls(tls_env):
    """The certificate and the other TLS files, read once now: a bad one
    is the front end's exit 96 at start, naming the file."""
    if tls_env:
        from . import tlsconf

        policy = tlsconf.Policy(True, tlsconf.ASK_CERTIFICATE if "CAFILE" in tls_env else 0)
        tlsconf.make_context(tlsconf.Sources(tls_env, policy), policy)


def main(argv):
    plan = Plan(argv)
    try:
        check_tls(plan.tls_env)
        from_env, uid, gid = plan.ids
        ids = privs.parse_ids(uid, gid, None, from_env)
        sock = bind(plan)
    except errors.NetchainError as exc:
        if plan.verbosity == 0:  # -q: 0.88 says nothing, even when fatal
            raise errors.NetchainError("", exc.code) from None
        raise
    os.dup2(sock.fileno(), 0)  # dup2 makes fd 0 inheritable
    sock.close()
    os.environ.update(plan.tls_env)  # read by tlsd (fused: by tcpserverd, before the drop)
    daemon = chain.prepare_next(plan.chain, PROG)  # tcpserverd, loaded before the drop
    privs.drop(*ids)
    if daemon is not None:
        return daemon()
    chain.exec_into(plan.chain, dict(os.environ))
    return 0
