"""accessrules: manage a rules tree as a person would.

    accessrules DIR allow [-s NAME=VALUE] [-u NAME] [-x COMMAND] TARGET | DIR deny TARGET
        | DIR remove TARGET | DIR list | DIR check IP [HOST] | DIR compile CDB

that is:

  accessrules DIR allow [-s NAME=VALUE] [-u NAME] [-x COMMAND] TARGET
  accessrules DIR deny TARGET
  accessrules DIR remove TARGET
  accessrules DIR list
  accessrules DIR check IP [HOST]
  accessrules DIR compile CDB

TARGET is an address, a CIDR network (v4 or v6), a host name or domain
(any name below it), '@' (any name), or a raw key such as ip4/10.0.0.0_8.
Every edit builds the whole rule directory and renames it into place.
DIR may also be sqlite:PATH or postgresql://...: the same commands on an
SQL rules table (netchain.rules.sqlrules), each edit one transaction.
"""

import os
import re
import sys

from . import addr, errors, options, rules, runner
from .rules import cdbfile, keys, record, sqlrules, sqlsets, tree

PROG = "accessrules"
USAGE = ("accessrules DIR allow [-s NAME=VALUE] [-u NAME] [-x COMMAND] TARGET"
         " | DIR deny TARGET | DIR remove TARGET | DIR list | DIR check IP [HOST]"
         " | DIR compile CDB")


HOST_MAX = 253          # a DNS name, without its root dot
_HOST = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_LOOKS_NUMERIC = re.compile(r"[0-9.]+(/[0-9]*)?\Z")


def target_key(target, say=None):
    """The tree key for a TARGET; tells say() when it normalised a network.

    BadInput for a target that is neither a valid address or network nor a
    valid host name: '999.1.1.1' or '10.0.0.0/33' is a mistake, not a name.
    """
    if target.startswith(("ip4/", "ip6/", "reversedns/")):
        kind, _, rest = target.partition("/")
        if kind == "reversedns":
            return target_key(rest, say)
        return target_key(rest.replace("_", "/"), say)
    if target == "@":
        return keys.ANY_NAME
    try:
        family, network, length, had_host_bits = addr.parse_network(target)
    except ValueError:
        if _LOOKS_NUMERIC.match(target) or ":" in target or "/" in target:
            raise errors.BadInput("not an address or network: %r" % (target,)) from None
        return _name_key(target)
    key = keys.ip_key(family, network, length)
    if had_host_bits and say:
        say("%s has host bits set: using the network %s" % (target, key))
    return key


def _name_key(target):
    """reversedns/NAME for a host name or domain: ASCII letters, digits,
    '-' and '_' in labels of 1 to 63 (DNS gives nothing else: another name
    could never match)."""
    name = keys.usable_host_name(target.lower())
    if (name is None or len(name) > HOST_MAX or not name.isascii()
            or not all(_HOST.match(label) for label in name.split("."))):
        raise errors.BadInput("not an address, network or host name: %r" % (target,))
    return keys.name_key(name)


def _env_name(name):
    """A variable name a shell can use (record.check_name, shell=True)."""
    record.check_name(os.fsencode(name), shell=True)
    return name


def _env_value(name, text):
    """The bytes of -s NAME=VALUE; BadInput for what the file cannot keep."""
    value = os.fsencode(text)
    if b"\0" in value:
        raise errors.BadInput("a value cannot contain a NUL byte")
    if value.rstrip(b" \t\r") != value:
        raise errors.BadInput("the value of %s ends with a blank, which the rules reader"
                              " would drop: remove it" % name)
    return value


def parse_allow(args, say):
    """Rule for 'allow' options; warns about PROTO and TCP* overrides."""
    opts, rest = options.parse(["allow"] + args, "s:u:x:")
    if len(rest) != 1:
        raise errors.UsageError("allow takes one TARGET after its options")
    env, exec_text = [], b""
    for flag, value in opts:
        if flag == "-s":
            name, sep, text = value.partition("=")
            if not sep:
                raise errors.UsageError("-s needs NAME=VALUE (use NAME= for the empty string)")
            env.append((_env_name(name), _env_value(name, text)))
        elif flag == "-u":
            env.append((_env_name(value), None))
        else:
            exec_text = os.fsencode(value)
    seen = set()
    for name, _ in env:
        # TCPCONNMAX is read by connlimit and set by no server: no warning.
        if name == "PROTO" or (name.startswith("TCP") and name != "TCPCONNMAX"):
            say("rule sets %s, which overrides what the server itself sets" % name)
        if name in seen:
            raise errors.BadInput("variable %s given twice" % name)
        seen.add(name)
    found = record.Rule(True, tuple((os.fsencode(n), v) for n, v in env), exec_text)
    record.encode(found)  # raises BadInput when too big for a record
    return rest[0], found


def describe(found):
    """One readable line for a rule: allow/deny, env, exec."""
    if not found.allow:
        return "deny"
    words = ["allow"]
    for name, value in found.environment_changes():
        words.append("unset %s" % name if value is None else "%s=%s" % (name, _quote(value)))
    if found.exec_text:
        words.append("exec " + _quote(os.fsdecode(found.exec_text)))
    return " ".join(words)


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sort_key(key):
    kind, _, rest = key.partition("/")
    if kind in ("ip4", "ip6"):
        text, _, length = rest.rpartition("_")
        try:
            return (0 if kind == "ip4" else 1, addr.parse_ip(text)[1], int(length), "")
        except ValueError:
            return (2, 0, 0, key)
    if kind == "reversedns":
        return (3, 1 if rest == "@" else 0, 0, ".".join(reversed(rest.split("."))))
    return (4, 0, 0, key)


class _SqlStore:
    """accessrules on an SQL table (DIR is sqlite:PATH or postgresql://...)."""

    def __init__(self, dsn):
        self.dsn = dsn
        sqlsets.where(dsn)  # a bad DSN is exit 100 before anything

    def rules(self):
        return [(row[0], sqlrules.rule_from_row(*row)) for row in sqlsets.rows_of(self.dsn)]

    def backend(self):
        return sqlrules.open_rules(self.dsn).current()

    def install(self, key, found):
        return sqlsets.set_rule(self.dsn, key, found)

    def remove(self, key):
        return sqlsets.unset_rule(self.dsn, key)


class _TreeStore:
    def __init__(self, root):
        self.root = root

    def rules(self):
        return list(tree.walk(self.root))  # a missing tree: 111, 'unable to opendir'

    def backend(self):
        return rules.TreeRules(self.root)

    def install(self, key, found):
        return tree.install_rule(self.root, key, found)

    def remove(self, key):
        return tree.remove_rule(self.root, key)


def _store(where):
    is_sql = where.startswith("sqlite:") or sqlrules.is_postgresql(where)
    return _SqlStore(where) if is_sql else _TreeStore(where)


def list_rules(root):
    found = _store(root).rules()

    return ["%s %s" % (key, describe(rule)) for key, rule in sorted(found, key=lambda kr: _sort_key(kr[0]))]


def check(root, ip, host=None):
    """(exit code, lines) explaining the decision for ip and host."""
    try:
        addr.parse_ip(ip)
    except ValueError:
        raise errors.BadInput("not an IP address: %r" % (ip,)) from None
    decision = rules.lookup(_store(root).backend(), ip, host, with_host=host is not None)
    if decision.rule is None:
        return 1, ["no rule matched: deny"]
    lines = ["%s: %s" % (decision.key, "allow" if decision.allowed else "deny")]
    if decision.allowed:
        for name, value in decision.rule.environment_changes():
            lines.append("unset %s" % name if value is None else "set %s=%s" % (name, _quote(value)))
        if decision.rule.exec_text:
            lines.append("exec " + _quote(os.fsdecode(decision.rule.exec_text)))
    return (0 if decision.allowed else 1), lines


def _edit(root, command, args):
    def say(text):
        runner.info(PROG, text)
    if command == "allow":
        target, found = parse_allow(args, lambda text: runner.warn(PROG, text))
    elif len(args) != 1:
        raise errors.UsageError("%s takes one TARGET" % command)
    else:
        target, found = args[0], record.DENY
    key = target_key(target, say)
    try:
        if command == "remove":
            if not _store(root).remove(key):
                raise errors.Denied("warning: no rule %s to remove" % key)
            return 0
        old = _store(root).install(key, found)
        if old is not None and old.allow != found.allow:
            say("%s was %s, now %s" % (key, describe(old).split()[0], describe(found).split()[0]))
    except OSError as exc:
        raise errors.SystemFailure("unable to write rule %s in %s: %s"
                                   % (key, root, exc.strerror)) from None
    return 0


def _compile(root, cdb_path):
    if isinstance(_store(root), _TreeStore):
        return tree.compile_to_cdb(root, cdb_path)
    found = _store(root).rules()
    try:
        cdbfile.write_atomic(cdb_path, ((key.encode(), record.encode(rule)) for key, rule in found))
    except OSError as exc:
        raise errors.SystemFailure("unable to write %s: %s" % (cdb_path, exc.strerror)) from None
    return len(found)


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) < 2:
        raise errors.UsageError()
    root, command, rest = args[0], args[1], args[2:]
    if command in ("allow", "deny", "remove"):
        return _edit(root, command, rest)
    if command == "list" and not rest:
        lines = list_rules(root)
        code = 0
    elif command == "check" and len(rest) in (1, 2):
        code, lines = check(root, *rest)
    elif command == "compile" and len(rest) == 1:
        count = _compile(root, rest[0])
        lines, code = ["compiled %d rules into %s" % (count, rest[0])], 0
    else:
        raise errors.UsageError()
    sys.stdout.write("".join(line + "\n" for line in lines))
    return code
