"""accessrules-sql-from-fs: load a rules tree into an SQL rules table.

    accessrules-sql-from-fs dsn dir

dsn is sqlite:PATH (the file is made if needed, with the table) or
postgresql://user@host:port/db (the table and its change trigger made if
needed; the password from PGPASSFILE).  The
whole rule set is replaced in one transaction: a reader sees the old set
or the new one, and a failure leaves the old one.
"""

from . import errors, options
from .rules import sqlrules, sqlsets, tree

PROG = "accessrules-sql-from-fs"
USAGE = "accessrules-sql-from-fs dsn dir"


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) != 2:
        raise errors.UsageError()
    dsn, root = args
    sqlsets.load(dsn, [sqlrules.row_from_rule(key, found) for key, found in tree.walk(root)])
    return 0
