"""accessrules-cdb-from-fs: compile a rules tree into a cdb, as s6 does.

Byte-identical to s6-accessrules-cdb-from-fs on the same tree; writes a
temporary next to CDB, fsyncs and renames, so a failure leaves the old
file untouched and no temporary behind.
"""

from . import cdbfile, errors, options, rule as rulemod, ruletree

PROG = "accessrules-cdb-from-fs"
USAGE = "accessrules-cdb-from-fs cdbfile dir"


def compile_tree(cdb_path, root):
    """Compile the tree at root into cdb_path; return the number of rules."""
    count = [0]

    def records():
        for key, found in ruletree.walk(root):
            count[0] += 1
            yield key.encode("utf-8", "surrogateescape"), rulemod.encode(found)

    try:
        cdbfile.write_atomic(cdb_path, records())
    except OSError as exc:
        raise errors.SystemFailure("unable to write %s: %s" % (cdb_path, exc.strerror)) from None
    return count[0]


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) < 2:
        raise errors.UsageError()
    cdb_path, root = args[0], args[1]
    compile_tree(cdb_path, root)
    return 0
