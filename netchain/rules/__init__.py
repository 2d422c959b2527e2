"""The rules library, cut along two axes as s6's accessrules is (keys x
backends), with one owner for each format and each lookup order:

    keys      lookup orders: which keys are tried, in which order (s6's
              ip4/ip6/reversedns walk; ucspi-tcp 0.88's rules.c order)
    record    a rule (allow/deny, env, exec) and its s6 cdb record bytes
    djb       djb's tcprules text and its cdb values
    tree      the rules tree on disk: read, write a rule atomically,
              compile a tree to a cdb
    cdbfile   cdb files: the validating reader, the atomic writer
    sqlrules  rules in an SQL table (sqlite:PATH): the table's format
              and the backend
    sqlsets   whole rule sets and single rules written to and read from
              a table: the converters' and accessrules' side
    pgrules   the same table in PostgreSQL (postgresql://...): the
              connection, change notices, where a lookup may run
    backends  the backends (tree, cdb of either layout) and the lookups
              over them; what this package exports

Programs import the package (rules.TreeRules, rules.lookup_ip, ...) or
the one module whose format they handle.  doc/rules-formats.md says what
the formats are.
"""

_EXPORTS = ("DJB", "S6", "CdbRules", "CdbSource", "TreeRules", "first_match", "lookup",
            "lookup_djb", "lookup_host", "lookup_ip", "open_cdb", "remembered")
__all__ = list(_EXPORTS) + ["backends", "cdbfile", "djb", "keys", "pgrules", "record", "sqlrules", "sqlsets", "tree"]


def __getattr__(name):
    """rules.TreeRules and the like, imported on first use: tcprules needs
    only djb and cdbfile, and should not pay for the backends (and the
    socket module they pull in) at every start."""
    import importlib

    if name in _EXPORTS:
        return getattr(importlib.import_module(".backends", __name__), name)
    if name in __all__:
        return importlib.import_module("." + name, __name__)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
