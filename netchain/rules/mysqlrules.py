"""indimail's rules in MySQL/MariaDB: tcpserver -m db.conf.

db.conf is one line, server:user:password:database:table (all five
fields; the server a host name or address, or the path of a Unix
socket; MYSQL_TCP_PORT the port, 3306 by default).  The table:

    iprule    the client: per octet (IPv4) or per group of the full
              IPv6 form, a number, '*' and '?' wildcards, or a range a-b
    decision  'D' denies; anything else allows
    env       NAME=value,NAME=value ('\\,' is a comma in a value; a NAME
              without '=' unsets it)
    port      the local port the row applies to

The rows for the connection's local port are read in one query, and the
most specific matching row decides (an exact address before a range
before a wildcard; between equals, the table's order).  No matching row:
the cdb rules decide.  A database that cannot be reached, or an invalid
row, fails closed (SystemFailure: the connection is dropped, exit 111).
The driver is PyMySQL, an optional extra: pip install netchain[mysql].
"""

import fnmatch
import ipaddress
import os
import queue
import re
import stat

from .. import errors, regfile
from . import record

TABLE_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
DEFAULT_TIMEOUT = 30


class DbConf:
    """The five fields of db.conf: BadInput (100) when malformed,
    SystemFailure (111) when it cannot be read; a warning when others may
    read it (it holds a password)."""

    def __init__(self, path, warn=None):
        try:
            text = regfile.read_regular(path, 4096).decode("utf-8", "surrogateescape")
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise errors.SystemFailure("unable to read %s: %s" % (path, exc.strerror)) from None
        lines = [line for line in text.splitlines() if line.strip()]
        fields = lines[0].strip().split(":") if len(lines) == 1 else []
        if len(fields) != 5 or not all(fields[i] for i in (0, 1, 3, 4)):
            raise errors.BadInput("%s: expected one line server:user:password:database:table"
                                  % path)
        self.server, self.user, self.password, self.database, self.table = fields
        if not TABLE_NAME.match(self.table):
            raise errors.BadInput("%s: invalid table name %r" % (path, self.table))
        if warn and mode & (stat.S_IRGRP | stat.S_IROTH):
            warn("%s holds a password and may be read by others" % path)


def octet_matches(pattern, text, base):
    """One octet (or IPv6 group) against its pattern."""
    if "-" in pattern:
        low, _, high = pattern.partition("-")
        try:
            return int(low, base) <= int(text, base) <= int(high, base)
        except ValueError:
            raise errors.CorruptRules("invalid range %r in iprule" % pattern) from None
    return fnmatch.fnmatchcase(text, pattern)


def ip_matches(iprule, ip):
    """Whether iprule matches the address ip (text)."""
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 4:
        parts, patterns, base = str(address).split("."), iprule.split("."), 10
    else:
        parts, patterns, base = address.exploded.split(":"), iprule.lower().split(":"), 16
        parts = [part.lstrip("0") or "0" for part in parts]
    if len(patterns) != len(parts):
        return False
    return all(octet_matches(pattern, part, base) for pattern, part in zip(patterns, parts))


def specificity(iprule):
    """Sort key: exact addresses first, then ranges, then wildcards."""
    return (iprule.count("*") + iprule.count("?"), iprule.count("-"))


def parse_env(text):
    """'A=b,C=d' ('\\,' a literal comma) as (name, value-or-None) bytes."""
    changes, item, escaped = [], "", False
    for char in (text or "") + ",":
        if escaped:
            item, escaped = item + char, False
        elif char == "\\":
            escaped = True
        elif char == ",":
            if item:
                name, sep, value = item.partition("=")
                raw = os.fsencode(name.strip())
                record.check_name(raw)
                changes.append((raw, os.fsencode(value) if sep else None))
            item = ""
        else:
            item += char
    return tuple(changes)


def decide(rows, ip):
    """The record.Rule of the most specific row matching ip, or None."""
    matching = []
    for order, (iprule, decision, env) in enumerate(rows):
        iprule = _text(iprule)
        try:
            if ip_matches(iprule, ip):
                matching.append((specificity(iprule), order, _text(decision), _text(env)))
        except errors.BadInput as exc:
            raise errors.CorruptRules("invalid row for %r: %s" % (iprule, exc)) from None
    if not matching:
        return None
    _, _, decision, env = min(matching)
    if decision.strip().upper().startswith("D"):
        return record.DENY
    try:
        return record.Rule(True, parse_env(env))
    except errors.BadInput as exc:
        raise errors.CorruptRules("invalid env %r: %s" % (env, exc)) from None


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "surrogateescape")
    return "" if value is None else str(value)


class MysqlRules:
    """Lookups in the table db.conf names, over a few kept connections
    (one per thread at a time: a connection is never shared)."""

    def __init__(self, conf, timeout=None):
        try:
            import pymysql
        except ImportError:
            raise errors.BadInput("-m needs PyMySQL: pip install 'netchain[mysql]'") from None
        self.driver, self.conf = pymysql, conf
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.idle = queue.SimpleQueue()

    def _connect(self):
        conf, where = self.conf, {}
        if conf.server.startswith("/"):
            where["unix_socket"] = conf.server
        else:
            where["host"] = conf.server
            where["port"] = int(os.environ.get("MYSQL_TCP_PORT") or 3306)
        # autocommit: each SELECT ends its transaction, so a kept connection
        # holds no metadata lock that would stall an operator's ALTER or RENAME
        return self.driver.connect(user=conf.user, password=conf.password, database=conf.database,
                                   connect_timeout=self.timeout, read_timeout=self.timeout,
                                   write_timeout=self.timeout, autocommit=True, **where)

    def rows_for(self, port):
        """(iprule, decision, env) of every row for port; SystemFailure if
        the database fails."""
        try:
            connection = self.idle.get_nowait()
        except queue.Empty:
            connection = None
        try:
            if connection is None:
                connection = self._connect()
            with connection.cursor() as cursor:
                cursor.execute("SELECT iprule, decision, env FROM `%s` WHERE port = %%s"
                               % self.conf.table, (int(port),))
                rows = cursor.fetchall()
        except (self.driver.MySQLError, OSError, ValueError) as exc:
            if connection is not None:
                _close(connection)
            raise errors.SystemFailure("MySQL %s: %s" % (self.conf.server, exc)) from None
        self.idle.put(connection)
        return rows

    def lookup(self, ip, port):
        return decide(self.rows_for(port), ip)


def _close(connection):
    try:
        connection.close()
    except Exception:  # a broken connection may refuse even to close
        pass
