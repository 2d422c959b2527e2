"""tcp-env: fill in the TCP variables from the socket, names from DNS.

    tcp-env [ -H | -h ] [ -p ] [ -l localname ] [ -t timeout ] prog...

Works alone (inetd, systemd Accept=yes: the connection on fd 0) or after
tcpserverd.  -h looks the remote name up, -p forgets it unless the forward
lookup confirms it, -H (default) does no lookup, -l sets TCPLOCALHOST.
"""

import os
import sys

from . import chain, conn, dnsclient, errors, options

PROG = "tcp-env"
USAGE = "tcp-env [ -H | -h ] [ -p ] [ -l localname ] [ -t timeout ] prog..."
DEFAULT_TIMEOUT_MS = 5000


class Config:
    def __init__(self, opts):
        self.lookup = False
        self.paranoid = False
        self.local_name = None
        self.timeout = DEFAULT_TIMEOUT_MS / 1000
        for flag, value in opts:
            if flag in ("-h", "-H"):
                self.lookup = flag == "-h"
            elif flag in ("-p", "-P"):  # -P: not paranoid (tcpserver-access, tcpserver)
                self.paranoid = flag == "-p"
                self.lookup = self.lookup or self.paranoid
            elif flag == "-l":
                self.local_name = value
            elif flag == "-t":
                self.timeout = options.number(value, "-t") / 1000
        self.resolver = None


def parse(argv):
    opts, rest = options.parse(argv, "hHpl:t:")
    config = Config(opts)
    check_lookup_settings(config.lookup, False)
    return config, rest


def may_block(config):
    return config.lookup


def check_lookup_settings(dns, ident, environ=None):
    """Refuse bad DNSCACHEIP/DNSCACHEPORT (with dns) or IDENTPORT (with
    ident) once, at start-up, with exit 100: never per connection."""
    environ = os.environ if environ is None else environ
    if dns:
        dnsclient.settings(environ)
    if ident:
        options.scan(environ.get("IDENTPORT", "113"), "IDENTPORT", 1, 65535)


def fill_from_socket(ctx):
    """Set PROTO and the IP/port variables when absent (we run alone);
    when present, they must be valid (BadInput, exit 100, otherwise)."""
    if "TCPREMOTEIP" in ctx.env and "TCPLOCALIP" in ctx.env:
        if not ctx.endpoints_from_daemon:  # the daemon's own are valid already
            conn.check_endpoints(ctx.env, "TCP")
        return
    try:
        endpoints = conn.endpoints(ctx.socket())
    except OSError as exc:
        raise errors.SystemFailure("unable to read the socket on fd 0: %s" % exc.strerror) from None
    for name in ("TCPREMOTEHOST", "TCPLOCALHOST", "TCPREMOTEINFO"):
        ctx.env.pop(name, None)  # inherited from our parent, not this connection
    ctx.env.update(conn.tcp_variables(*endpoints))


def name_of(config, ctx, ip):
    """The PTR name of ip, with the resolver made once per config."""
    if config.resolver is None:
        config.resolver = dnsclient.make_resolver(ctx.env)
    return dnsclient.reverse_name(config.resolver, ip, ctx.remaining(config.timeout))


def remote_name(config, ctx, log_prefix=None):
    """Look TCPREMOTEHOST up (paranoid if asked); None when unknown.

    A name the forward lookup does not confirm is forgotten, with an info
    line under log_prefix (none when None: ucspi-tcp logs nothing).
    """
    ip = ctx.env["TCPREMOTEIP"]
    name = name_of(config, ctx, ip)
    if name and config.paranoid and not dnsclient.forward_confirms(
            config.resolver, name, ip, ctx.remaining(config.timeout)):
        if log_prefix:
            ctx.log("%s: info: forgetting %s for %s: forward lookup does not match"
                    % (log_prefix, conn.sanitize(name), ip))
        return None
    return name


def step(config, ctx, argv):
    fill_from_socket(ctx)
    if config.local_name is not None:
        ctx.env["TCPLOCALHOST"] = config.local_name
    if config.lookup and "TCPREMOTEHOST" not in ctx.env:
        try:
            ctx.set("TCPREMOTEHOST", remote_name(config, ctx, PROG))
        except dnsclient.LookupFailed as exc:
            ctx.log("%s: warning: %s" % (PROG, exc))
    return argv


def main(argv):
    return chain.run_alone(sys.modules[__name__], argv)
