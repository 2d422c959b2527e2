"""Whole SQL rule sets and single rules, written and read: what the
converters (accessrules-sql-from-fs, accessrules-fs-from-sql) and
accessrules do with a table.  The table's format and the serving backend
are sqlrules'; PostgreSQL's side is pgrules'."""

from .. import errors
from . import sqlrules

def replace_all(path, rows):
    """Replace the whole rule set of the database at path with rows, in one
    transaction (made with the table if it is not there)."""
    import sqlite3

    connection = sqlite3.connect(path, timeout=sqlrules.BUSY_TIMEOUT, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(sqlrules.SCHEMA)
        connection.execute("DELETE FROM accessrules")
        connection.executemany("INSERT INTO accessrules (key, decision, env, exec) VALUES (?, ?, ?, ?)", rows)
        connection.execute("COMMIT")
    finally:
        connection.close()


def all_rows(path):
    """Every row of the table of the database at path, in key order."""
    import sqlite3

    connection = sqlite3.connect(sqlrules.read_only_uri(path), uri=True, timeout=sqlrules.BUSY_TIMEOUT)
    try:
        return connection.execute("SELECT key, decision, env, exec FROM accessrules ORDER BY key").fetchall()
    finally:
        connection.close()


def all_rules(path):
    """[(key, Rule)] of the table at path (the key order of SQLite)."""
    return [(row[0], sqlrules.rule_from_row(*row)) for row in all_rows(path)]


def install_rule(path, key, rule):
    """Set key's rule in one transaction (table made if needed); return
    the rule it replaced, or None."""
    import sqlite3

    row = sqlrules.row_from_rule(key, rule)
    connection = sqlite3.connect(path, timeout=sqlrules.BUSY_TIMEOUT, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(sqlrules.SCHEMA)
        old = connection.execute("SELECT key, decision, env, exec FROM accessrules WHERE key = ?",
                                 (key,)).fetchone()
        connection.execute("INSERT OR REPLACE INTO accessrules (key, decision, env, exec) VALUES (?, ?, ?, ?)",
                           row)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return sqlrules.rule_from_row(*old) if old else None


def remove_rule(path, key):
    """Delete key's row; return whether there was one."""
    import sqlite3

    connection = sqlite3.connect(sqlrules.read_only_uri(path).replace("?mode=ro", "?mode=rw"), uri=True,
                                 timeout=sqlrules.BUSY_TIMEOUT, isolation_level=None)
    try:
        return connection.execute("DELETE FROM accessrules WHERE key = ?", (key,)).rowcount > 0
    finally:
        connection.close()


def load(dsn, rows):
    """Replace the rule set of the database dsn with rows (one transaction);
    SystemFailure (111) in the driver's words when it cannot."""
    target = where(dsn)
    try:
        if sqlrules.is_postgresql(dsn):
            from . import pgrules

            pgrules.replace_all(dsn, rows)
        else:
            replace_all(target, rows)
    except errors.NetchainError:
        raise
    except Exception as exc:  # sqlite3.Error, psycopg.Error
        raise errors.SystemFailure("unable to write the rules table in %s: %s" % (target, str(exc).strip())) from None


def rows_of(dsn):
    """Every row of the database dsn; SystemFailure (111) when unreadable."""
    target = where(dsn)
    try:
        if sqlrules.is_postgresql(dsn):
            from . import pgrules

            return pgrules.all_rows(dsn)
        return all_rows(target)
    except errors.NetchainError:
        raise
    except Exception as exc:
        raise errors.SystemFailure("unable to read the rules table in %s: %s" % (target, str(exc).strip())) from None


def where(dsn):
    """The file of sqlite:PATH, host/db of postgresql://...; checks the DSN."""
    if sqlrules.is_postgresql(dsn):
        from . import pgrules

        pgrules.check_dsn(dsn)
        return pgrules.where(dsn)
    return sqlrules.sqlite_path(dsn, " or postgresql://user@host:port/db")


def set_rule(dsn, key, rule):
    """accessrules' edit of one rule, in the database dsn; the old rule or None."""
    return _edit(dsn, "install_rule", key, rule)


def unset_rule(dsn, key):
    """accessrules' removal of one rule; whether there was one."""
    return _edit(dsn, "remove_rule", key)


def _edit(dsn, action, *args):
    target = where(dsn)
    try:
        if sqlrules.is_postgresql(dsn):
            from . import pgrules

            return getattr(pgrules, action)(dsn, *args)
        return globals()[action](target, *args)
    except errors.NetchainError:
        raise
    except Exception as exc:  # sqlite3.Error, psycopg.Error
        raise errors.SystemFailure("unable to write rule %s in %s: %s" % (args[0], target, str(exc).strip())) from None
