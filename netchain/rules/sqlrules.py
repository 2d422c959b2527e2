"""Rules in an SQL table (tcpserver-access -m sqlite:PATH): the backend and
the one owner of the table's format.

    accessrules(key TEXT PRIMARY KEY,
                decision TEXT NOT NULL CHECK (decision IN ('allow','deny')),
                env TEXT NOT NULL DEFAULT '', exec TEXT)

key is the cdb key (ip4/10.0.0.0_8, reversedns/@); env holds one entry
a line, NAME=value to set, NAME alone to unset; exec is NULL or the
command.  One query per lookup fetches every candidate key; the first in
lookup order decides, as in the tree and the cdb.  Every failure (no
file, no table, a locked or damaged database, a malformed row) raises
CorruptRules (exit 111): never an allow.  Remembered decisions are
dropped when the database changes (PRAGMA data_version, or a new file).
"""

import os
import threading
import urllib.parse

from .. import errors
from . import cdbfile, record

SCHEMA = ("CREATE TABLE IF NOT EXISTS accessrules ("
          "key TEXT PRIMARY KEY, "
          "decision TEXT NOT NULL CHECK (decision IN ('allow','deny')), "
          "env TEXT NOT NULL DEFAULT '', exec TEXT)")
BUSY_TIMEOUT = 2.0  # seconds a lookup waits for a writer's lock before it fails (111)


def is_postgresql(dsn):
    return dsn.startswith(("postgresql://", "postgres://"))


def sqlite_path(dsn, postgresql_too=""):
    """PATH of sqlite:PATH; BadInput (100) for any other DSN."""
    scheme, sep, rest = dsn.partition(":")
    if scheme == "sqlite" and sep and rest:
        return rest
    if is_postgresql(dsn):
        raise errors.BadInput("%s: a PostgreSQL rule set is edited with SQL or loaded with"
                              " accessrules-sql-from-fs (here: sqlite:PATH)" % dsn[:80])
    raise errors.BadInput("not a rules database: %r (sqlite:PATH%s)" % (dsn[:80], postgresql_too))


def open_rules(dsn):
    """The backend for -m DSN: sqlite:PATH or postgresql://..."""
    if is_postgresql(dsn):
        from . import pgrules  # psycopg only for those who use it

        return pgrules.PgRules(dsn)
    return SqliteRules(sqlite_path(dsn, " or postgresql://user@host:port/db"))


def rule_from_row(key, decision, env, exec_text):
    """The Rule of a row; CorruptRules for a row no writer should make."""
    try:
        if decision == "deny":
            return record.DENY
        if decision != "allow" or not isinstance(env, str) or not isinstance(exec_text, (str, type(None))):
            raise errors.BadInput("decision %r" % (decision,))
        entries = []
        for line in env.split("\n") if env else ():
            name, sep, value = line.partition("=")
            record.check_name(os.fsencode(name))
            entries.append((os.fsencode(name), os.fsencode(value) if sep else None))
        exec_bytes = os.fsencode(exec_text or "")
        if len(exec_bytes) > record.MAX_PART:
            raise errors.BadInput("exec longer than %d bytes" % record.MAX_PART)
        return record.Rule(True, tuple(entries), exec_bytes)
    except errors.BadInput as exc:
        raise errors.CorruptRules("malformed row %r in the rules table: %s" % (key, exc)) from None


def row_from_rule(key, rule):
    """(key, decision, env, exec) for a Rule; BadInput for what the table
    cannot hold (a value with a newline, bytes that are not UTF-8)."""
    if not rule.allow:
        return key, "deny", "", None
    lines = []
    for name, value in rule.env:
        if value is not None and b"\n" in value:
            raise errors.BadInput("rule %s: the value of %s holds a newline" % (key, os.fsdecode(name)))
        lines.append(name if value is None else name + b"=" + value)
    try:
        env = b"\n".join(lines).decode("utf-8")
        exec_text = rule.exec_text.decode("utf-8") if rule.exec_text else None
    except UnicodeDecodeError:
        raise errors.BadInput("rule %s: not UTF-8 text" % key) from None
    return key, "allow", env, exec_text


class SqliteRules:
    """The rules of sqlite:PATH, read through one read-only connection."""

    layout = cdbfile.S6  # its keys and lookup order are s6's

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()  # one connection, used by the stage's worker threads in turn
        self.connection = self.version = self.file = None
        self.waiting = None  # the connection's busy timeout: set only when it must change
        self.decisions = {}

    def current(self, may_wait=True):
        """A view of this backend for one connection, its remembered
        decisions dropped if the database changed since the last one.
        may_wait False (tcpserverd's loop thread): a writer's lock raises
        stage.WouldBlock at once instead of waiting for it."""
        with self.lock:
            try:
                stat = os.stat(self.path)
                file = (stat.st_dev, stat.st_ino)
                if file != self.file:
                    self._reopen(file)
                self._set_wait(may_wait)  # after a reopen too: the loop thread never waits
                version = self.connection.execute("PRAGMA data_version").fetchone()[0]
            except (OSError, _sqlite_error()) as exc:
                _would_block(exc, may_wait)
                self._close()
                raise errors.CorruptRules("unable to read rules database %s: %s"
                                          % (self.path, getattr(exc, "strerror", None) or exc)) from None
            if version != self.version:
                self.version, self.decisions = version, {}
        return View(self, may_wait)

    def _reopen(self, file):
        import sqlite3

        self._close()
        self.connection = sqlite3.connect(read_only_uri(self.path), uri=True,
                                          timeout=BUSY_TIMEOUT, check_same_thread=False)
        self.file = file
        self.waiting = True  # connect(timeout=BUSY_TIMEOUT)

    def _close(self):
        if self.connection is not None:
            self.connection.close()
        self.connection = self.file = self.version = self.waiting = None

    def _set_wait(self, may_wait):
        """Wait for a writer's lock (up to BUSY_TIMEOUT) or not at all; one
        PRAGMA when the mode changes, none per connection otherwise."""
        if self.connection is not None and self.waiting != may_wait:
            self.connection.execute("PRAGMA busy_timeout = %d" % (BUSY_TIMEOUT * 1000 if may_wait else 0))
            self.waiting = may_wait

    def find_first(self, candidates, may_wait=True):
        """The Decision of the first candidate key that has a row."""
        if not candidates:
            return record.Decision()
        query = ("SELECT key, decision, env, exec FROM accessrules WHERE key IN (%s)"
                 % ",".join("?" * len(candidates)))
        with self.lock:
            try:
                if self.connection is None:
                    raise _sqlite_error()("the database was closed after an error")
                self._set_wait(may_wait)
                rows = {row[0]: row for row in self.connection.execute(query, candidates)}
            except _sqlite_error() as exc:
                _would_block(exc, may_wait)
                raise errors.CorruptRules("unable to read rules database %s: %s" % (self.path, exc)) from None
        return first_of(candidates, rows)


def first_of(candidates, rows):
    """The Decision of the first candidate key among rows (key -> row), in
    lookup order: what one query for all the candidates gives back."""
    for key in candidates:
        if key in rows:
            return record.Decision(key, rule_from_row(*rows[key]))
    return record.Decision()


class View:
    """An SQL backend (SqliteRules, pgrules.PgRules) for one connection:
    whether its lookup may wait (see stage.WouldBlock)."""

    layout = cdbfile.S6

    def __init__(self, rules, may_wait):
        self.rules, self.may_wait = rules, may_wait
        self.decisions = rules.decisions

    def find_first(self, candidates):
        return self.rules.find_first(candidates, self.may_wait)

    def find(self, key):
        return self.find_first([key]).rule


def _would_block(exc, may_wait):
    """A locked database where waiting is not allowed: WouldBlock, so that
    the lookup is made again where it may wait."""
    if not may_wait and "locked" in str(exc):
        from ..stage import WouldBlock

        raise WouldBlock() from None


def read_only_uri(path):
    """SQLite's URI for path, opened read-only (never created)."""
    return "file:%s?mode=ro" % urllib.parse.quote(os.path.abspath(path))


def _sqlite_error():
    import sqlite3

    return sqlite3.Error
