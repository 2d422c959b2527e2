"""accessrules-fs-from-sql: unpack an SQL rules table into a new tree.

    accessrules-fs-from-sql dir dsn

dsn is sqlite:PATH or postgresql://user@host:port/db (the password from
PGPASSFILE).
Refuses an existing target (exit 111, as accessrules-fs-from-cdb).  The
tree is built under a temporary name beside dir and renamed into place
at the end, so a failed run leaves nothing half-made.
"""

import errno
import os

from . import errors, options, regfile
from .rules import sqlrules, sqlsets, tree

PROG = "accessrules-fs-from-sql"
USAGE = "accessrules-fs-from-sql dir dsn"


def unpack(dsn, root):
    rows = sqlsets.rows_of(dsn)

    def fill(built):
        for row in rows:
            try:
                tree.check_key(row[0])
            except errors.BadInput as exc:
                raise errors.CorruptRules("malformed row %r in the rules table: %s" % (row[0], exc)) from None
            tree.add_rule(built, row[0], sqlrules.rule_from_row(*row))
    regfile.build_directory(root, fill)


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) < 2:
        raise errors.UsageError()
    root, dsn = args[0], args[1]
    sqlsets.where(dsn)  # a bad DSN is exit 100 before anything is made
    if os.path.lexists(root):
        raise errors.SystemFailure("unable to mkdir %s: %s" % (root, os.strerror(errno.EEXIST)))
    try:
        unpack(dsn, root)
    except FileExistsError as exc:  # made meanwhile: never replaced
        raise errors.SystemFailure("unable to mkdir %s: %s" % (root, exc.strerror)) from None
    except OSError as exc:
        raise errors.SystemFailure("unable to unpack %s into %s: %s" % (dsn, root, exc.strerror)) from None
    return 0
