"""accessrules-sql-from-fs: load a rules tree into an SQL rules table.

    accessrules-sql-from-fs dsn dir

dsn is sqlite:PATH (the file is made if needed, with the table).  The
whole rule set is replaced in one transaction: a reader sees the old set
or the new one, and a failure leaves the old one.
"""

import sqlite3

from . import errors, options
from .rules import sqlrules, tree

PROG = "accessrules-sql-from-fs"
USAGE = "accessrules-sql-from-fs dsn dir"


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) < 2:
        raise errors.UsageError()
    path = sqlrules.sqlite_path(args[0])
    rows = [sqlrules.row_from_rule(key, found) for key, found in tree.walk(args[1])]
    try:
        sqlrules.replace_all(path, rows)
    except sqlite3.Error as exc:
        raise errors.SystemFailure("unable to write the rules table in %s: %s" % (path, exc)) from None
    return 0
