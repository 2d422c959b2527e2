"""accessrules-fs-from-cdb: unpack an s6 rules cdb into a new tree.

Refuses an existing target (exit 111, as s6).  The tree is built under a
temporary name beside DIR and renamed into place at the end, so a failed
run leaves nothing half-made.
"""

import os
import shutil
import tempfile

from . import cdbfile, errors, options, rule as rulemod, ruletree

PROG = "accessrules-fs-from-cdb"
USAGE = "accessrules-fs-from-cdb dir cdbfile"


def unpack(cdb_path, root):
    """Write every record of the cdb at cdb_path as a tree at root."""
    reader = cdbfile.CdbReader(cdb_path)
    parent = os.path.dirname(os.path.abspath(root))
    staging = tempfile.mkdtemp(prefix=".%s:" % os.path.basename(root), dir=parent)
    try:
        built = os.path.join(staging, "tree")
        os.mkdir(built)
        for raw_key, value in reader.items():
            _unpack_record(built, raw_key, value)
        if os.path.lexists(root):
            raise FileExistsError(17, os.strerror(17), root)
        os.rename(built, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        reader.close()


def _unpack_record(built, raw_key, value):
    key = os.fsdecode(bytes(raw_key))
    ruletree.check_key(key)
    try:
        found = rulemod.decode(value)
    except rulemod.BadRecord as exc:
        raise errors.BadInput("invalid record %s: %s" % (key, exc)) from None
    if found is None:
        raise errors.BadInput("invalid record %s: unknown type" % key)
    type_dir = os.path.join(built, key.split("/")[0])
    os.makedirs(type_dir, exist_ok=True)
    ruletree.write_rule_dir(os.path.join(built, key), found)


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) < 2:
        raise errors.UsageError()
    root, cdb_path = args[0], args[1]
    if os.path.lexists(root):
        raise errors.SystemFailure("unable to mkdir %s: %s" % (root, os.strerror(17)))
    try:
        unpack(cdb_path, root)
    except FileExistsError as exc:
        raise errors.SystemFailure("unable to mkdir %s: %s" % (root, exc.strerror)) from None
    except OSError as exc:
        raise errors.SystemFailure("unable to unpack %s into %s: %s"
                                   % (cdb_path, root, exc.strerror)) from None
    return 0
