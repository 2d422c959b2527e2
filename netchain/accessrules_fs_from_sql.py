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
import shutil
import tempfile

from . import errors, options, regfile
from .rules import sqlrules, sqlsets, tree

PROG = "accessrules-fs-from-sql"
USAGE = "accessrules-fs-from-sql dir dsn"


def unpack(dsn, root):
    rows = sqlsets.rows_of(dsn)
    parent = os.path.dirname(os.path.abspath(root))
    staging = tempfile.mkdtemp(prefix=".%s:" % os.path.basename(root), dir=parent)
    try:
        built = os.path.join(staging, "tree")
        os.mkdir(built)
        for row in rows:
            key = row[0]
            try:
                tree.check_key(key)
            except errors.BadInput as exc:
                raise errors.CorruptRules("malformed row %r in the rules table: %s" % (key, exc)) from None
            os.makedirs(os.path.join(built, key.split("/")[0]), exist_ok=True)
            tree.write_rule_dir(os.path.join(built, key), sqlrules.rule_from_row(*row))
        os.rename(built, root)
        regfile.fsync_directory(parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
    except OSError as exc:
        raise errors.SystemFailure("unable to unpack %s into %s: %s" % (dsn, root, exc.strerror)) from None
    return 0
