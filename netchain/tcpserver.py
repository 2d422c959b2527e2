"""tcpserver: ucspi-tcp 0.88's tcpserver, as a chain of netchain programs.

    tcpserver [ -1UXpPhHrRoOdDqQv ] [ -c limit ] [ -C perip ] [ -x rules.cdb ] [ -B banner ]
              [ -g gid ] [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ]
              host port program...

Translates its options into
    tcpserver-bind ... host port tcpserverd -L ucspi ... tcpserver-rules ... program
and execs it; it does no socket work itself.
"""

import os
import shutil
import sys

from . import chain, errors, options

PROG = "tcpserver"
USAGE = ("tcpserver [ -1UXpPhHrRoOdDqQv ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] [ -g gid ]"
         " [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] host port program")
# Debian's ucspi-tcp-ipv6 adds -4, -6 and -I interface; accepted here too.


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
    for text, name in ((values.get("-C"), "-C"), (os.environ.get("MAXCONIP"), "MAXCONIP"),
                       (os.environ.get("MAXPERIP"), "MAXPERIP")):
        if text is not None:
            return options.scan(text, name, 1)
    return None


def translate(argv):
    """The chain argv for a tcpserver command line."""
    opts, rest = options.parse(argv, "461UXpPhHrRoOdDqQvc:C:x:B:g:u:b:l:t:I:")
    if len(rest) < 3:
        raise errors.UsageError()
    values = dict(opts)
    host, port, prog = rest[0], rest[1], rest[2:]
    verbosity = {"-q": 0, "-Q": 1, "-v": 2}[_last(opts, "-q", "-Q", "-v") or "-Q"]
    limit = options.number(values.get("-c", "40"), "-c", 1)
    bind = program("tcpserver-bind")
    for flag, high in (("-u", options.ID_MAX), ("-g", options.ID_MAX), ("-b", options.INT_MAX)):
        if flag in values:
            bind += [flag, str(options.number(values[flag], flag, 0, high))]
    if "-U" in values:
        bind.append("-U")
    daemon = program("tcpserverd") + ["-L", "ucspi", "-N", PROG, "-v", str(verbosity), "-c", str(limit)]
    if "-1" in values:
        daemon.append("-1")
    perip = per_ip_limit(values)
    if perip is not None:
        daemon += ["-C", str(perip)]
    child = program("tcpserver-rules") + ["-v", str(verbosity)]
    for group in (("-h", "-H"), ("-p", "-P"), ("-r", "-R"), ("-d", "-D")):
        chosen = _last(opts, *group)
        if chosen:
            child.append(chosen)
    if "-X" in values:
        child.append("-X")
    for flag in ("-x", "-B", "-l"):
        if flag in values:
            child += [flag, values[flag]]
    if "-t" in values:
        child += ["-t", str(options.number(values["-t"], "-t"))]
    return bind + [listen_host(host, opts, values.get("-I")), port] + daemon + child + ["--"] + prog


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


def main(argv):
    argv_chain = translate(argv)
    chain.exec_into(argv_chain, dict(os.environ))
    return 0
