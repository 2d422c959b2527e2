"""rblsmtpd: refuse SMTP from clients on DNS blocklists (ucspi-tcp 0.88's).

    rblsmtpd [ -b ] [ -R ] [ -t timeout ] [ -r base ] [ -a base ] smtpd [ arg ... ]

The decision comes from RBLSMTPD when it is set (empty: go on; text:
refuse with 451 text; -text: refuse with 553 text), else from the lists,
in the order given: -r base (a TXT record at REVERSED-IP.base blocks,
its text the reason), -a base (an A record at REVERSED-IP.base lets the
client through).  A refused client gets the SMTP dialogue of
netchain.smtpreject and never reaches smtpd.  A stage: fused, the lookups
and the dialogue run in a worker thread, and a refused client costs no
process.
"""

import sys

from . import addr, chain, dnsclient, errors, options, smtpreject
from .errstr import error_str

PROG = "rblsmtpd"
USAGE = "rblsmtpd [ -b ] [ -R ] [ -t timeout ] [ -r base ] [ -a base ] smtpd [ arg ... ]"
LOOKUP_DEADLINE = 30.0  # djb's resolver gives up after about a minute; we say 30 s
TEMPORARY_TEXT = b"temporary RBL lookup error"


class Blocked(errors.Denied):
    """The client was refused and told so: exit 0, as 0.88, silently."""

    code = errors.OK


class Config:
    def __init__(self, opts):
        self.bounce = self.fail_closed = False
        self.timeout = 60
        self.lists = []  # ("r" | "a", base), in the order given
        for flag, value in opts:
            if flag in ("-b", "-B"):
                self.bounce = flag == "-b"
            elif flag in ("-c", "-C"):
                self.fail_closed = flag == "-c"
            elif flag == "-t":
                self.timeout = options.number(value, "-t")
            else:
                self.lists.append((flag[1], _checked_base(value)))
        self.resolver = dnsclient.make_resolver() if self.lists else None


def _checked_base(base):
    """A base that makes a DNS name with any address before it (exit 100
    otherwise, at start rather than at each connection)."""
    import dns.exception
    import dns.name

    try:
        dns.name.from_text("255.255.255.255." + base.rstrip("."))
        dns.name.from_text("f." * 32 + base.rstrip("."))
    except dns.exception.DNSException:
        raise errors.BadInput("not a DNS name suffix: %r" % base[:80]) from None
    return base.rstrip(".")


def parse(argv):
    opts, rest = options.parse(argv, "bBcCt:r:a:", djb=True)
    if not rest:
        raise errors.UsageError()
    return Config(opts), rest


def may_block(config):
    return True  # the blocklist lookups, and the dialogue with a refused client


def uses_dns(config):
    return bool(config.lists)


def reversed_name(ip):
    """4.3.2.1 for 1.2.3.4; the 32 nibbles for IPv6 (RFC 5782: 0.88 knew
    no IPv6).  ValueError when ip is not an address."""
    family, value = addr.parse_ip(ip)
    if family == 4:
        return ".".join(reversed(ip.split(".")))
    return ".".join(reversed("%032x" % value))


def decide(config, env, remaining):
    """(refusal code, text) or None to go on: RBLSMTPD first, then the lists."""
    preset = env.get("RBLSMTPD")
    if preset is not None:
        raw = preset.encode("utf-8", "surrogateescape")
        if not raw:
            return None
        return (553, raw[1:]) if raw.startswith(b"-") else (451, raw)
    if not config.lists:
        return None
    ip = env.get("TCPREMOTEIP")
    try:
        reverse = reversed_name(ip or "")
    except ValueError:
        raise errors.BadInput("TCPREMOTEIP is not an IP address: %r" % (ip or "")[:60]) from None
    return _look_up(config, reverse, remaining)


def _look_up(config, reverse, remaining):
    failed = False  # a lookup failed: never a permanent 553 (0.88)
    for kind, base in config.lists:
        name = reverse + "." + base
        try:
            if kind == "a":
                if dnsclient.addresses(config.resolver, name, remaining()):
                    return None
                continue
            text = dnsclient.txt_bytes(config.resolver, name, remaining())
        except dnsclient.LookupFailed:
            failed = True
            if kind == "a" and not config.fail_closed:
                return None  # 0.88: an allow list that fails lets the client in
            if kind == "r" and config.fail_closed:
                return 451, TEMPORARY_TEXT
            continue
        if text:
            return (553 if config.bounce and not failed else 451), text
    return None


def step(config, ctx, argv):
    """Go on to smtpd, or hold the refusal dialogue with the client and
    raise Blocked (exit 0).  BadInput (100) for a TCPREMOTEIP that is not
    an address when a list must be looked up."""
    refusal = decide(config, ctx.env, lambda: ctx.remaining(LOOKUP_DEADLINE))
    if refusal is None:
        return argv
    line = smtpreject.message(*refusal)
    ctx.log_child("rblsmtpd: %s pid " % ctx.env.get("TCPREMOTEIP", ""),
                  ": " + line.decode("ascii"))
    # exec mode reads fd 0 and writes fd 1 (as 0.88); fused, both are the socket
    out_fd = 1 if ctx.pid is not None else ctx.fd
    try:
        smtpreject.hold(ctx.fd, out_fd, line, config.timeout)
    except OSError:
        pass  # the client went away or stopped reading: the dialogue is over
    raise Blocked()


def main(argv):
    try:
        return chain.run_alone(sys.modules[__name__], argv)
    except errors.NetchainError as exc:
        if getattr(exc, "errno", None) is None:
            raise
        # 0.88's wording and exit code for a smtpd it cannot run
        raise errors.SystemFailure("unable to run %s: %s" % (exc.command, error_str(exc.errno))) from None
