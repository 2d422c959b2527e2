"""accessrules-cdb-from-fs: compile a rules tree into a cdb, as s6 does.

    accessrules-cdb-from-fs cdbfile dir

Byte-identical to s6-accessrules-cdb-from-fs on the same tree; writes a
temporary next to CDB, fsyncs and renames, so a failure leaves the old
file untouched and no temporary behind.
"""

from . import errors, options
from .rules import tree

PROG = "accessrules-cdb-from-fs"
USAGE = "accessrules-cdb-from-fs cdbfile dir"


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) < 2:
        raise errors.UsageError()
    cdb_path, root = args[0], args[1]
    tree.compile_to_cdb(root, cdb_path)
    return 0
