"""accessrules-fs-from-cdb: unpack an s6 rules cdb into a new tree.

    accessrules-fs-from-cdb dir cdbfile

Refuses an existing target (exit 111, as s6).  The tree is built under a
temporary name beside DIR and renamed into place at the end, so a failed
run leaves nothing half-made.
"""

import errno
import os

from . import errors, options, regfile, runner
from .rules import cdbfile, record, tree

PROG = "accessrules-fs-from-cdb"
USAGE = "accessrules-fs-from-cdb dir cdbfile"


def unpack(cdb_path, root):
    """Write every record of the cdb at cdb_path as a tree at root."""
    reader = cdbfile.CdbReader(cdb_path)

    def fill(built):
        for raw_key, value in reader.items():
            _unpack_record(built, raw_key, value)
    try:
        regfile.build_directory(root, fill)
    finally:
        reader.close()


def _unpack_record(built, raw_key, value):
    """Write one record; SystemFailure (111, as s6) for a key or value that
    is not valid accessrules data.  A record of another type is skipped
    with a warning, as s6 skips it."""
    key = os.fsdecode(bytes(raw_key))
    try:
        if "\0" in key:
            raise errors.BadInput("NUL byte in key")
        tree.check_key(key)
        found = record.decode(value)
    except (errors.BadInput, record.BadRecord) as exc:
        raise errors.SystemFailure("unable to handle cdb record %r: %s" % (key, exc)) from None
    if found is None:
        runner.warn(PROG, "skipping record %r: not an allow or deny rule" % key)
        return
    tree.add_rule(built, key, found)


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) < 2:
        raise errors.UsageError()
    root, cdb_path = args[0], args[1]
    if os.path.lexists(root):
        raise errors.SystemFailure("unable to mkdir %s: %s" % (root, os.strerror(errno.EEXIST)))
    try:
        unpack(cdb_path, root)
    except FileExistsError as exc:
        raise errors.SystemFailure("unable to mkdir %s: %s" % (root, exc.strerror)) from None
    except OSError as exc:
        raise errors.SystemFailure("unable to unpack %s into %s: %s"
                                   % (cdb_path, root, exc.strerror)) from None
    return 0
