"""tcpserver-access: allow or deny a connection from rules (s6's interface).

    tcpserver-access [ -v verbosity ] [ -W | -w ] [ -D | -d ] [ -H | -h ] [ -R | -r ]
                     [ -P | -p ] [ -l localname ] [ -B banner ] [ -t timeout ]
                     [ -i rulesdir | -x rulesfile | -m dsn ] prog...

As s6-tcpserver-access 2.8: defaults -h -R -P -W -d.  The banner is
written first; PROTO and ${PROTO}REMOTEIP/PORT, ${PROTO}LOCALIP/PORT must
be present and valid (exit 100), or all absent (then they are read from
the socket, as tcp-env does).  IP rules first; a name (TCPREMOTEHOST left
by an earlier stage, or looked up with -h unless an IP rule denied) for
reversedns rules; IDENT (-r) when TCPREMOTEINFO is not set.  The rule's
env is applied, then TCPLOCALHOST/TCPREMOTEHOST/TCPREMOTEINFO (so those
three win: under -H a rule cannot set them); the rule's exec replaces
prog (run with /bin/sh -c).  Denied: exit 1.
"""

import sys

from . import chain, conn, dnsclient, errors, identclient, lookups, options, rules

PROG = "tcpserver-access"
USAGE = ("tcpserver-access [ -v verbosity ] [ -W | -w ] [ -D | -d ] [ -H | -h ] [ -R | -r ]"
         " [ -P | -p ] [ -l localname ] [ -B banner ] [ -t timeout ]"
         " [ -i rulesdir | -x rulesfile | -m dsn ] prog...")


class Config:
    def __init__(self, opts):
        self.verbosity, self.fatal_lookups, self.nodelay = 1, False, False
        self.banner, self.rules = None, None
        self.lookups = lookups.Lookups(dns=True)  # s6's default: names are looked up
        for flag, value in opts:
            if flag == "-v":
                self.verbosity = options.number(value, "-v")
            elif flag in ("-W", "-w"):
                self.fatal_lookups = flag == "-w"
            elif flag in ("-D", "-d"):
                self.nodelay = flag == "-D"  # as ucspi-tcp: -D never delays (TCP_NODELAY)
            elif flag in ("-R", "-r"):
                self.lookups.ident = flag == "-r"
            elif flag == "-B":
                self.banner = value.encode("utf-8", "surrogateescape")
            elif flag == "-i":
                self.rules = rules.TreeRules(value)
            elif flag == "-x":
                self.rules = rules.CdbSource(value)
            elif flag == "-m":
                self.rules = rules.sqlrules.open_rules(value)
            elif flag == "-t":
                self.lookups.timeout = options.number(value, "-t") / 1000
            else:
                self.lookups.set_option(flag, value)
        self.lookups.check_settings()

    def backend(self, may_wait=True):
        """The backend for this connection: a cdb reopened if its file
        changed, an SQL table checked for changes (see stage.WouldBlock
        for may_wait), or the tree."""
        if isinstance(self.rules, rules.CdbSource):
            return self.rules.current()
        current = getattr(self.rules, "current", None)
        return current(may_wait) if current is not None else self.rules


def parse(argv):
    opts, rest = options.parse(argv, "v:WwDdHhRrPpl:B:t:i:x:m:")
    return Config(opts), rest


def may_block(config):
    # an SQL table locked by a writer is met in the loop thread and handed
    # to a worker then (stage.WouldBlock): it does not make the stage block
    return config.lookups.may_block()


def uses_dns(config):
    return config.lookups.dns


def _say(config, ctx, level, text, *args):
    """Log at verbosity level; the text is formatted only when it is logged."""
    if config.verbosity >= level:
        ctx.log("%s: %s" % (PROG, text % args if args else text))


def _lookup_failed(config, ctx, exc):
    if config.fatal_lookups:
        raise exc
    _say(config, ctx, 1, "warning: %s" % exc)


def _remote_host(config, ctx):
    """TCPREMOTEHOST as left by an earlier stage, or looked up now (-h)."""
    if "TCPREMOTEHOST" in ctx.env or not config.lookups.dns:
        return ctx.env.get("TCPREMOTEHOST")
    try:
        return config.lookups.remote_name(ctx, PROG)
    except dnsclient.LookupFailed as exc:
        _lookup_failed(config, ctx, exc)
        return None


def _local_host(config, ctx):
    """-l NAME, TCPLOCALHOST as left by an earlier stage, or its PTR (-h)."""
    if config.lookups.local_name is not None:
        return config.lookups.local_name
    if "TCPLOCALHOST" in ctx.env or not config.lookups.dns:
        return ctx.env.get("TCPLOCALHOST")
    try:
        return config.lookups.name_of(ctx, ctx.env["TCPLOCALIP"])
    except dnsclient.LookupFailed as exc:
        _lookup_failed(config, ctx, exc)
        return None


def _remote_info(config, ctx):
    if "TCPREMOTEINFO" in ctx.env or not config.lookups.ident:
        return ctx.env.get("TCPREMOTEINFO")
    try:
        return config.lookups.remote_info(ctx)
    except identclient.IdentFailed as exc:
        _lookup_failed(config, ctx, exc)
        return None


def _names(config, ctx):
    """(local host, remote host, remote info), each looked up if asked."""
    return _local_host(config, ctx), _remote_host(config, ctx), _remote_info(config, ctx)


def decide(config, ctx, ip):
    """(Decision, names) for the connection; names is None when an IP rule
    denied (no lookup is made then), else (local host, remote host, info)."""
    backend = config.backend(ctx.may_wait)
    if backend.layout == rules.DJB:
        names = _names(config, ctx)
        return rules.lookup_djb(backend, ip, names[1], names[2]), names
    decision = rules.lookup_ip(backend, ip)
    if decision.rule is not None and not decision.allowed:
        return decision, None  # an IP deny skips the lookups
    names = _names(config, ctx)
    if decision.rule is None and names[1] is not None:
        decision = rules.lookup_host(backend, names[1])
    return decision, names


def check_environment(ctx):
    """PROTO and its four endpoint variables, valid; read from the socket
    when none of them is there (we run alone).  Returns the remote IP."""
    env = ctx.env
    if "PROTO" not in env and "TCPREMOTEIP" not in env and "TCPLOCALIP" not in env:
        conn.fill_from_socket(ctx)
    proto = env.get("PROTO")
    if not proto:
        raise errors.BadInput("PROTO not set")
    if not (ctx.endpoints_from_daemon and proto == "TCP"):
        conn.check_endpoints(env, proto)
    return env[proto + "REMOTEIP"]


def step(config, ctx, argv):
    """Decide for one connection; the argv to run, or Denied (exit 1).

    Raises BadInput (100) for a missing or invalid PROTO variable,
    CorruptRules (111) for rules that cannot be read, LookupFailed or
    IdentFailed under -w.  May wait on DNS and IDENT (may_block).
    """
    _prepare_socket(config, ctx)  # s6 writes the banner before anything else
    ip = check_environment(ctx)
    if config.rules is None:
        _say(config, ctx, 1, "warning: no rules given (-i or -x): allowing everything")
        decision = rules.record.Decision(None, rules.record.ALLOW)
        names = _names(config, ctx)
    else:
        decision, names = decide(config, ctx, ip)
    if not decision.allowed:
        _say(config, ctx, 2, "info: deny %s key %s", ip, decision.key or "(none)")
        raise errors.Denied()
    _say(config, ctx, 2, "info: allow %s key %s", ip, decision.key or "(none)")
    chain.apply_rule_env(ctx.env, decision.rule.environment_changes())
    for name, value in zip(("TCPLOCALHOST", "TCPREMOTEHOST", "TCPREMOTEINFO"), names):
        ctx.set(name, value)
    if decision.rule.exec_text:
        return ["/bin/sh", "-c", decision.rule.exec_text.decode("utf-8", "surrogateescape")]
    return argv


def _prepare_socket(config, ctx):
    try:
        ctx.greet(config.nodelay, config.banner)
    except OSError as exc:
        raise errors.SystemFailure("unable to write banner: %s" % exc.strerror) from None


def main(argv):
    return chain.run_alone(sys.modules[__name__], argv)
