"""The DNS and IDENT policy every program shares: what to look up for a
connection and how (doc/design.md sections 1 and 2).

tcp-env, ident-lookup, tcpserver-access, tcpserver-rules and tcpclient
each map their own option letters onto one Lookups; the resolver
settings (DNSCACHEIP, DNSCACHEPORT) and IDENTPORT are checked once when a
program starts, the resolver is made once, every lookup has a deadline
(the connection's, or the timeout), and a name that the forward lookup
does not confirm is forgotten under paranoid checking.  dnspython is
imported only when a lookup is asked for.
"""

import os

from . import conn, dnsclient, identclient, options

DEFAULT_TIMEOUT = 5.0


class Lookups:
    """dns: look names up; paranoid: keep a remote name only when its
    forward lookup gives the address back; local_name: TCPLOCALHOST as
    given (no local lookup); ident: ask the client's identd; timeout:
    seconds for each lookup."""

    def __init__(self, dns=False, paranoid=False, local_name=None, ident=False,
                 timeout=DEFAULT_TIMEOUT):
        self.dns = dns or paranoid
        self.paranoid = paranoid
        self.local_name = local_name
        self.ident = ident
        self.timeout = timeout
        self.resolver = None

    def set_option(self, flag, value):
        """Apply a letter every program reads the same way: -h/-H (names
        or not), -p/-P (paranoid or not; -p implies -h), -l NAME, the last
        letter winning (-p -H: no lookup).  Returns False for any other
        letter."""
        if flag in ("-h", "-H"):
            self.dns = flag == "-h"
        elif flag in ("-p", "-P"):
            self.paranoid = flag == "-p"
            self.dns = self.dns or self.paranoid
        elif flag == "-l":
            self.local_name = value
        else:
            return False
        return True

    def check_settings(self, local_lookup=False, environ=None):
        """Refuse a bad DNSCACHEIP/DNSCACHEPORT (when a name may be looked
        up) or IDENTPORT (with ident) now, at start-up, with exit 100."""
        environ = os.environ if environ is None else environ
        if self.dns or local_lookup:
            dnsclient.settings(environ)
        if self.ident:
            options.scan(environ.get("IDENTPORT", "113"), "IDENTPORT", 1, 65535)

    def may_block(self):
        return self.dns or self.ident

    def name_of(self, ctx, ip):
        """The PTR name of ip (None: no name); LookupFailed when DNS fails."""
        if self.resolver is None:
            self.resolver = dnsclient.make_resolver(ctx.env)
        return dnsclient.reverse_name(self.resolver, ip, ctx.remaining(self.timeout))

    def remote_name(self, ctx, log_prefix=None):
        """TCPREMOTEIP's name, checked when paranoid; None when unknown.

        A name the forward lookup does not confirm is forgotten, with an
        info line under log_prefix (none when None: ucspi-tcp logs nothing).
        """
        ip = ctx.env["TCPREMOTEIP"]
        name = self.name_of(ctx, ip)
        if name and self.paranoid and not dnsclient.forward_confirms(
                self.resolver, name, ip, ctx.remaining(self.timeout)):
            if log_prefix:
                ctx.log("%s: info: forgetting %s for %s: forward lookup does not match"
                        % (log_prefix, conn.sanitize(name), ip))
            return None
        return name

    def remote_info(self, ctx, timeout=None):
        """The client's IDENT user id; IdentFailed (and subclasses) if none."""
        return identclient.query_env(ctx.env, ctx.remaining(self.timeout if timeout is None
                                                             else timeout))
