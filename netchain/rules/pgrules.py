"""Rules in a PostgreSQL table (tcpserver-access -m postgresql://...), for a
fleet of servers sharing one rule set.  The table is sqlrules' (same
columns, same meaning); this module owns what differs: the connection,
the change notices, and where a lookup may run.

- The password never comes from the command line: a DSN holding one is
  refused; libpq reads it from PGPASSFILE (or ~/.pgpass).
- Changes: a trigger on the table (made by accessrules-sql-from-fs, or
  by NOTIFY_SQL) sends NOTIFY accessrules; the backend LISTENs on a
  connection of its own and drops its remembered decisions when a notice
  comes (read without waiting, once per connection).  Without the
  trigger nothing is remembered: every lookup asks the table.
- A lookup that is not remembered needs the network: in tcpserverd's
  loop thread it raises WouldBlock and runs in a worker instead, so a
  slow or hung server never stalls the loop.  Every failure is
  CorruptRules (exit 111), never an allow; the next lookup reconnects.
"""

import threading
import urllib.parse

from .. import errors
from . import cdbfile, sqlrules

CHANNEL = "accessrules"
TIMEOUT = 2  # seconds: connect, and each statement
NOTIFY_SQL = (
    "CREATE OR REPLACE FUNCTION netchain_accessrules_notify() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM pg_notify('accessrules', ''); RETURN NULL; END $$; "
    "DROP TRIGGER IF EXISTS netchain_accessrules_changed ON accessrules; "
    "CREATE TRIGGER netchain_accessrules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON accessrules FOR EACH STATEMENT EXECUTE FUNCTION netchain_accessrules_notify()")
QUERY = "SELECT key, decision, env, exec FROM accessrules WHERE key = ANY(%s)"


def check_dsn(dsn):
    """dsn, or BadInput (100) when it holds a password."""
    parts = urllib.parse.urlsplit(dsn)
    if parts.password is not None or "password=" in parts.query:
        raise errors.BadInput("a password on the command line is refused: put it in PGPASSFILE")
    return dsn


def where(dsn):
    """host/db of a DSN, for messages (never the user or options)."""
    parts = urllib.parse.urlsplit(dsn)
    return "%s%s" % (parts.hostname or "", parts.path)


def connect(dsn, autocommit=True):
    try:
        import psycopg
    except ImportError:
        raise errors.BadInput("PostgreSQL rules need psycopg: pip install 'netchain[postgresql]'") from None
    return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=TIMEOUT,
                           options="-c statement_timeout=%d" % (TIMEOUT * 1000))


class PgRules:
    layout = cdbfile.S6

    def __init__(self, dsn):
        self.dsn = check_dsn(dsn)
        self.lock = threading.Lock()      # the listening connection, and the decisions
        self.query_lock = threading.Lock()  # the query connection (workers only)
        self.listener = self.queries = None
        self.decisions = {}

    def current(self, may_wait=True):
        """A view for one connection; remembered decisions dropped if a
        notice came.  Reconnecting may wait: not in the loop thread."""
        with self.lock:
            if self.listener is None:
                if not may_wait:
                    from ..stage import WouldBlock

                    raise WouldBlock()
                self._listen()
            try:
                # twice: a server that ends the session sends an error
                # first, which one read takes; the end is seen by the next
                self.listener.pgconn.consume_input()
                self.listener.pgconn.consume_input()
                if self.listener.pgconn.notifies() is not None:
                    while self.listener.pgconn.notifies() is not None:
                        pass
                    self.decisions = {} if self.decisions is not None else None
            except Exception as exc:
                self._drop()
                raise errors.CorruptRules("rules database %s: %s" % (where(self.dsn), exc)) from None
        return sqlrules.View(self, may_wait)

    def _listen(self):
        try:
            self.listener = connect(self.dsn)
            self.listener.execute("LISTEN " + CHANNEL)
            triggered = self.listener.execute(
                "SELECT 1 FROM pg_trigger WHERE tgname = 'netchain_accessrules_changed'").fetchone()
        except Exception as exc:
            self._drop()
            raise errors.CorruptRules("unable to reach rules database %s: %s" % (where(self.dsn), exc)) from None
        # without the trigger no notice comes: remember nothing
        self.decisions = {} if triggered else None

    def close(self):
        with self.lock, self.query_lock:
            self._drop()

    def _drop(self):
        for connection in (self.listener, self.queries):
            if connection is not None:
                connection.close()
        self.listener = self.queries = None

    def find_first(self, candidates, may_wait):
        if not may_wait:
            from ..stage import WouldBlock

            raise WouldBlock()  # a query is a round trip: made in a worker
        with self.query_lock:
            try:
                if self.queries is None:
                    self.queries = connect(self.dsn)
                rows = {row[0]: row for row in self.queries.execute(QUERY, (list(candidates),))}
            except Exception as exc:
                if self.queries is not None:
                    self.queries.close()
                self.queries = None
                raise errors.CorruptRules("unable to read rules database %s: %s" % (where(self.dsn), exc)) from None
        return sqlrules.first_of(candidates, rows)


def replace_all(dsn, rows):
    """The whole rule set replaced in one transaction, with the table and
    its notice trigger made if needed."""
    connection = connect(check_dsn(dsn), autocommit=False)
    try:
        with connection.transaction():
            connection.execute(sqlrules.SCHEMA)
            connection.execute(NOTIFY_SQL)
            connection.execute("DELETE FROM accessrules")
            with connection.cursor() as cursor:
                cursor.executemany("INSERT INTO accessrules (key, decision, env, exec) VALUES (%s, %s, %s, %s)",
                                   rows)
    finally:
        connection.close()


def all_rows(dsn):
    connection = connect(check_dsn(dsn))
    try:
        return connection.execute("SELECT key, decision, env, exec FROM accessrules ORDER BY key").fetchall()
    finally:
        connection.close()


def install_rule(dsn, key, rule):
    """Set key's rule in one transaction (table and trigger made if
    needed); return the rule it replaced, or None."""
    row = sqlrules.row_from_rule(key, rule)
    connection = connect(check_dsn(dsn), autocommit=False)
    try:
        with connection.transaction():
            connection.execute(sqlrules.SCHEMA)
            connection.execute(NOTIFY_SQL)
            old = connection.execute("SELECT key, decision, env, exec FROM accessrules WHERE key = %s FOR UPDATE",
                                     (key,)).fetchone()
            connection.execute("INSERT INTO accessrules (key, decision, env, exec) VALUES (%s, %s, %s, %s) "
                               "ON CONFLICT (key) DO UPDATE SET decision = EXCLUDED.decision, "
                               "env = EXCLUDED.env, exec = EXCLUDED.exec", row)
    finally:
        connection.close()
    return sqlrules.rule_from_row(*old) if old else None


def remove_rule(dsn, key):
    connection = connect(check_dsn(dsn))
    try:
        return connection.execute("DELETE FROM accessrules WHERE key = %s", (key,)).rowcount > 0
    finally:
        connection.close()
