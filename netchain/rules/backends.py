"""Rule backends (tree, s6 cdb, tcprules cdb) and the lookups over them.

Each backend answers find(key) with a Rule or None and raises
CorruptRules (exit 111) when it cannot read: an error is never an allow.
"""

import os

from .. import errors, regfile
from . import cdbfile, keys, record, tree

S6 = cdbfile.S6
DJB = cdbfile.DJB


class TreeRules:
    """Rules in a directory tree (-i DIR); a missing tree matches nothing."""

    layout = S6
    decisions = None  # a tree changes rule by rule: never remembered

    def __init__(self, root):
        self.root = root

    def find(self, key):
        try:
            return tree.read_rule(os.path.join(self.root, key))
        except OSError as exc:
            raise errors.CorruptRules("unable to read rule %s in %s: %s"
                                      % (key, self.root, exc.strerror)) from None
        except errors.BadInput as exc:
            raise errors.CorruptRules(str(exc)) from None


class CdbRules:
    """Rules in a cdb (-x FILE) of either layout."""

    def __init__(self, reader, layout):
        self.reader = reader
        self.layout = layout
        if layout == DJB:
            from . import djb  # its regular expressions cost s6 readers' start-up nothing

            self.decode_djb = djb.decode
        # Decisions already looked up in this file, by lookup; a changed
        # file is a new CdbRules (CdbSource), so they never go stale.
        self.decisions = {}

    def raw(self, key):
        return self.reader.get(key.encode("utf-8", "surrogateescape"))

    def find(self, key):
        value = self.raw(key)
        if value is None:
            return None
        if self.layout == DJB:
            return self.decode_djb(value)
        try:
            return record.decode(value)
        except record.BadRecord as exc:
            raise errors.CorruptRules("invalid record %s in %s: %s"
                                      % (key, self.reader.path, exc)) from None


def _open_failed(path, exc):
    """SystemFailure for a cdb that cannot be opened, keeping its errno."""
    failure = errors.SystemFailure("unable to open %s: %s" % (path, exc.strerror))
    failure.errno = exc.errno
    return failure


def open_cdb(path, layout=None):
    """CdbRules for path; layout None means the file's own (every key of it
    agrees, or the reader refuses the file).  Missing: exit 111."""
    try:
        reader = cdbfile.CdbReader(path)
    except OSError as exc:
        raise _open_failed(path, exc) from None
    return CdbRules(reader, layout or reader.layout)


class CdbSource:
    """A cdb reopened whenever the file at path changes (hot reload)."""

    def __init__(self, path, layout=None):
        self.path = path
        self.layout = layout
        self.rules = None

    def current(self):
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            self.rules = None
            raise _open_failed(self.path, exc) from None
        identity = regfile.identity(stat)
        if self.rules is None or self.rules.reader.identity != identity:
            self.rules = open_cdb(self.path, self.layout)
        return self.rules


def first_match(backend, candidates):
    find_first = getattr(backend, "find_first", None)
    if find_first is not None:  # SQL: one query for every candidate
        return find_first(list(candidates))
    for key in candidates:
        found = backend.find(key)
        if found is not None:
            return record.Decision(key, found)
    return record.Decision()


MAX_REMEMBERED = 4096


def remembered(backend, question, lookup):
    """lookup(), or its answer from backend.decisions (bounded: cleared when full)."""
    decisions = backend.decisions
    if decisions is None:
        return lookup()
    decision = decisions.get(question)
    if decision is None:
        if len(decisions) >= MAX_REMEMBERED:
            decisions.clear()
        decision = decisions[question] = lookup()
    return decision


def lookup_ip(backend, ip):
    """s6 order, IP part: the Decision of the first ip4/ip6 key found."""
    return remembered(backend, ("ip", ip),
                      lambda: first_match(backend, keys.ip_keys(ip)))


def lookup_host(backend, host):
    """s6 order, name part: reversedns keys (host None: only '@')."""
    return first_match(backend, keys.reversedns_keys(host))


def lookup(backend, ip, host=None, with_host=False):
    """Full s6 lookup; the name part runs only when with_host is true."""
    decision = lookup_ip(backend, ip)
    if decision.rule is None and with_host:
        decision = lookup_host(backend, host)
    return decision


def lookup_djb(backend, ip, host=None, info=None):
    """ucspi-tcp order over a tcprules cdb; no match is an allow."""
    decision = remembered(backend, ("djb", ip, host, info),
                          lambda: first_match(backend, keys.djb_keys(ip, host, info)))
    if decision.rule is None:
        return record.Decision(None, record.ALLOW)
    return decision
