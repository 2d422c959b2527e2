"""tcpserver-rules: the per-connection half of ucspi-tcp 0.88's tcpserver.

    tcpserver-rules [ -v verbosity ] [ -hH ] [ -pP ] [ -rR ] [ -X ] [ -dD ]
                    [ -l localname ] [ -t timeout ] [ -B banner ] [ -x rules.cdb ]
                    [ -m db.conf ] prog...

What tcpserver's child does after fork: look up the names (local, remote,
paranoid) and IDENT, check a tcprules cdb in ucspi-tcp's order (no match:
allow), log 'ok'/'deny' in its format, set the variables with the rule's
applied last (they win), write the banner.  With -m (indimail's), the
rows of a MySQL table for the local port are checked before the cdb.  The tcpserver front end puts
it in the chain; tcpserverd fuses it.
"""

import errno
import os
import socket
import sys

from . import chain, conn, dnsclient, errors, identclient, logline, lookups, options, rules
from .errstr import error_str

PROG = "tcpserver-rules"
USAGE = ("tcpserver-rules [ -v verbosity ] [ -hH ] [ -pP ] [ -rR ] [ -X ] [ -dD ] [ -l localname ]"
         " [ -t timeout ] [ -B banner ] [ -x rules.cdb ] [ -m db.conf ] prog...")
LOG_NAME = "tcpserver"


class Config:
    def __init__(self, opts):
        self.verbosity, self.allow_missing = 1, False
        self.nodelay, self.banner, self.rules, self.rules_path = False, b"", None, None
        self.ident_timeout = 26.0
        self.mysql = None  # indimail's -m db.conf: rules.mysqlrules.MysqlRules
        # tcpserver's defaults: remote name and IDENT on, local name looked up
        self.lookups = lookups.Lookups(dns=True, ident=True)
        for flag, value in opts:
            if flag == "-v":
                self.verbosity = options.number(value, "-v")
            elif flag in ("-r", "-R"):
                self.lookups.ident = flag == "-r"
            elif flag == "-X":
                self.allow_missing = True
            elif flag in ("-d", "-D"):
                self.nodelay = flag == "-D"  # ucspi-tcp: -D sets TCP_NODELAY
            elif flag == "-B":
                self.banner = value.encode("utf-8", "surrogateescape")
            elif flag == "-t":
                self.ident_timeout = options.number(value, "-t")
            elif flag == "-x":
                self.rules_path = value
                self.rules = rules.CdbSource(value, rules.DJB)
            elif flag == "-m":
                self.mysql = _mysql_rules(value)
            else:
                self.lookups.set_option(flag, value)
        self.lookups.check_settings(local_lookup=self.lookups.local_name is None)


def parse(argv):
    opts, rest = options.parse(argv, "v:hHpPrRXdDl:t:B:x:m:")
    return Config(opts), rest


def _mysql_rules(path):
    """indimail's -m db.conf, read and checked now; MYSQL_TIMEOUT bounds
    each connect and query (default 30 s)."""
    from .rules import mysqlrules

    timeout = os.environ.get("MYSQL_TIMEOUT")
    conf = mysqlrules.DbConf(path, lambda text: logline.write("%s: warning: %s" % (LOG_NAME, text)))
    return mysqlrules.MysqlRules(conf, options.scan(timeout, "MYSQL_TIMEOUT", 1) if timeout else None)


def may_block(config):
    return config.lookups.may_block() or uses_dns(config) or config.mysql is not None


def uses_dns(config):
    return config.lookups.dns or config.lookups.local_name is None


def safe(text):
    """ucspi-tcp's safecats: '?' for bytes outside 33..126, ':' and '%'."""
    data = (text or "").encode("utf-8", "surrogateescape")
    out = "".join(chr(b) if 33 <= b <= 126 and b not in (58, 37) else "?" for b in data[:100])
    return out + ("..." if len(data) > 100 else "")


def _unless_failed(lookup, *args):
    """lookup(*args), or None when DNS fails: tcpserver goes on without a name."""
    try:
        return lookup(*args)
    except dnsclient.LookupFailed:
        return None


def _names(config, ctx):
    """(local host, remote host, remote info), as tcpserver finds them."""
    env, found = ctx.env, config.lookups
    local = found.local_name
    if local is None:
        local = _unless_failed(found.name_of, ctx, env["TCPLOCALIP"])
    remote = None
    if found.dns:
        remote = _unless_failed(found.remote_name, ctx)
    info = None
    if found.ident:
        try:
            info = found.remote_info(ctx, config.ident_timeout)
        except identclient.IdentRejected as exc:
            if config.verbosity >= 1:
                ctx.log("%s: warning: %s from %s" % (LOG_NAME, exc, env["TCPREMOTEIP"]))
            info = None
        except identclient.IdentFailed:
            info = None
    return local, remote, info


DROP = LOG_NAME + ": warning: dropping connection, "


def _drop(config, ctx, reason):
    """End the connection as tcpserver's child does: the warning (unless
    -q), then exit 111 with nothing more said."""
    if config.verbosity >= 1:
        ctx.log_child(DROP + reason)
    raise errors.NetchainError("", errors.TEMPORARY)


def _rule(config, ctx, ip, host, info):
    if config.mysql is not None:  # indimail: the database's rows before the cdb
        try:
            found = config.mysql.lookup(ip, ctx.env["TCPLOCALPORT"])
        except errors.SystemFailure as exc:
            _drop(config, ctx, "unable to read the MySQL rules: %s" % exc)
        if found is not None:
            return found
    if config.rules is None:
        return rules.record.ALLOW
    try:
        backend = config.rules.current()
        return rules.lookup_djb(backend, ip, host, info).rule
    except errors.CorruptRules:
        _drop(config, ctx, "unable to read %s: protocol error" % config.rules_path)
    except errors.SystemFailure as exc:
        number = getattr(exc, "errno", 0)
        if config.allow_missing and number == errno.ENOENT:
            return rules.record.ALLOW
        _drop(config, ctx, "unable to read %s: %s" % (config.rules_path, error_str(number)))


def _banner_and_delay(config, ctx):
    """TCP_NODELAY and the banner come first, before any lookup and before
    the rules, as in tcpserver.c: a client dropped later still gets it."""
    try:
        ctx.greet(config.nodelay, config.banner)
    except OSError as exc:
        if config.banner:
            _drop(config, ctx, "unable to print banner: %s" % error_str(exc.errno))


def step(config, ctx, argv):
    """tcpserver's child for one connection: the argv to run, or an exit
    (100 denied, 111 dropped) with tcpserver's own log lines."""
    conn.fill_from_socket(ctx)
    env = ctx.env
    _banner_and_delay(config, ctx)
    local, remote, info = _names(config, ctx)
    found = _rule(config, ctx, env["TCPREMOTEIP"], remote, info)
    if found.allow and _over_rule_limit(found, env):
        found = rules.record.DENY
    if config.verbosity >= 2:
        ctx.log_child("%s: %s " % (LOG_NAME, "ok" if found.allow else "deny"),
                      " %s:%s:%s %s:%s:%s:%s" % (
                          safe(local), env["TCPLOCALIP"], env["TCPLOCALPORT"], safe(remote),
                          env["TCPREMOTEIP"], safe(info), env["TCPREMOTEPORT"]))
    if not found.allow:
        raise errors.NetchainError("", errors.PERMANENT)  # the C child's _exit(100)
    for name, value in (("TCPLOCALHOST", local), ("TCPREMOTEHOST", remote), ("TCPREMOTEINFO", info)):
        ctx.set(name, value)
    if _is_ipv6_socket(ctx):
        conn.set_ipv6_variables(env, local, remote, info)
    chain.apply_rule_env(env, found.environment_changes())  # applied last: rules win
    return argv


def _over_rule_limit(found, env):
    """A rule's MAXCONIP (ucspi-tcp6) or MAXPERIP (indimail) per-IP limit."""
    changes = dict(found.environment_changes())
    limit = changes.get("MAXCONIP") or changes.get("MAXPERIP")
    if limit is None:
        return False
    try:
        return options.scan(env.get("TCPCONNNUM", "0"), "TCPCONNNUM") >= options.scan(limit, "limit")
    except errors.BadInput:
        return False  # not a number: no limit, as ucspi-tcp6 reads it


def _is_ipv6_socket(ctx):
    try:
        return ctx.family() == socket.AF_INET6
    except OSError:
        return False


def main(argv):
    config, rest = parse(argv)
    try:
        return chain.run_alone(sys.modules[__name__], argv, (config, rest))
    except errors.NetchainError as exc:
        number = getattr(exc, "errno", None)
        if number is None:
            raise
        # the exec of the program failed: tcpserver's words, exit 111
        if config.verbosity >= 1:
            logline.write("%sunable to run %s: %s" % (DROP, rest[0], error_str(number)))
        raise errors.NetchainError("", errors.TEMPORARY) from None
