"""tcp-env: fill in the TCP variables from the socket, names from DNS.

    tcp-env [ -H | -h ] [ -p ] [ -l localname ] [ -t timeout ] prog...

Works alone (inetd, systemd Accept=yes: the connection on fd 0) or after
tcpserverd.  -h looks the remote name up, -p forgets it unless the forward
lookup confirms it, -H (default) does no lookup, -l sets TCPLOCALHOST.
"""

import sys

from . import chain, conn, dnsclient, listener, lookups, options

PROG = "tcp-env"
USAGE = "tcp-env [ -H | -h ] [ -p ] [ -l localname ] [ -t timeout ] prog..."


def parse(argv):
    """(Lookups, rest): -h/-H, -p (implies -h), -l, -t milliseconds."""
    opts, rest = options.parse(argv, "hHpl:t:")
    config = lookups.Lookups()
    for flag, value in opts:
        if flag == "-t":
            config.timeout = options.number(value, "-t") / 1000
        else:
            config.set_option(flag, value)
    config.check_settings()
    return config, rest


def may_block(config):
    return config.may_block()


def uses_dns(config):
    return config.dns


def step(config, ctx, argv):
    """Fill the TCP variables (alone) and TCPREMOTEHOST (-h, unless an
    earlier stage set it); a failed lookup is a warning.  Raises BadInput
    (100) for invalid TCP variables, SystemFailure (111) when fd 0 is not
    a connected socket.  May wait on DNS (may_block)."""
    conn.fill_from_socket(ctx)
    if config.local_name is not None:
        ctx.env["TCPLOCALHOST"] = config.local_name
    if config.dns and "TCPREMOTEHOST" not in ctx.env:
        try:
            ctx.set("TCPREMOTEHOST", config.remote_name(ctx, PROG))
        except dnsclient.LookupFailed as exc:
            ctx.log("%s: warning: %s" % (PROG, exc))
    return argv


def main(argv):
    import os

    listener.adopt_activated_connection(os.environ, os.getpid())  # systemd Accept=yes: fd 3
    return chain.run_alone(sys.modules[__name__], argv)
