"""The rules tree on disk (doc/design.md 4.1): the one owner of its layout.

    ROOT/<type>/<rule>/allow | deny, env/NAME, exec

Reading follows s6's fs backend and s6-accessrules-cdb-from-fs: entries in
directory listing order, names starting with '.' skipped, env files read
as skalibs' envdir does.  Writing builds a whole rule directory under a
dot-name and renames it into place, so a reader sees the old rule or the
new one, never half of one.
"""

import errno
import os

from .. import errors, regfile
from . import cdbfile, record

ENV_VALUE_MAX = 4095  # skalibs reads at most this much of an env file
EXEC_MAX = 4096


class _Changed(Exception):
    """The rule directory was replaced or removed while we read it."""


def _read_env_value(name, dir_fd):
    """The value an env file gives: None (unset) or bytes (first line)."""
    try:
        data = regfile.read_regular(name, ENV_VALUE_MAX, dir_fd=dir_fd)
    except FileNotFoundError:
        raise _Changed() from None
    if not data:
        return None
    data = data.split(b"\n", 1)[0].rstrip(b" \t\r")
    return data.replace(b"\0", b"\n")


def _read_env_dir(rule_fd):
    """Env entries of env/ in listing order, as skalibs' envdir; () if none."""
    try:
        env_fd = os.open("env", os.O_RDONLY | os.O_DIRECTORY, dir_fd=rule_fd)
    except FileNotFoundError:
        raise _Changed() from None
    try:
        entries = []
        for name in os.listdir(env_fd):
            if name.startswith(".") or "=" in name:
                continue
            entries.append((os.fsencode(name), _read_env_value(name, env_fd)))
        return tuple(entries)
    finally:
        os.close(env_fd)


def _read_exec(rule_fd, rule_dir):
    """The exec file's text; b'' if absent.  A longer file than a record
    holds is refused: a command cut short must never run (s6 warns and
    runs the first 4096 bytes)."""
    try:
        data = regfile.read_regular("exec", EXEC_MAX + 1, dir_fd=rule_fd)
    except FileNotFoundError:
        raise _Changed() from None
    if len(data) > EXEC_MAX:
        raise errors.BadInput("%s/exec is longer than %d bytes: refusing a truncated command"
                              % (rule_dir, EXEC_MAX))
    return data


def _read_rule_at(rule_fd, rule_dir):
    names = os.listdir(rule_fd)  # one listing instead of a stat per file
    if "allow" not in names:
        return record.DENY if "deny" in names else None
    env = _read_env_dir(rule_fd) if "env" in names else ()
    if len(record.encode_env(env)) > record.MAX_PART:
        raise errors.BadInput("environment in %s/env is too big (max %d bytes)"
                              % (rule_dir, record.MAX_PART))
    exec_text = _read_exec(rule_fd, rule_dir) if "exec" in names else b""
    return record.Rule(True, env, exec_text)


def read_rule(rule_dir):
    """Rule stored in rule_dir, or None if it has neither allow nor deny.

    Reads through a directory descriptor and checks afterwards that the
    directory is still the one at rule_dir: a rule swapped in or removed
    meanwhile (accessrules does both) is read again, never half-read.
    Raises OSError for anything but a missing rule (EINVAL for a file that
    is not a regular one: a FIFO must not block the reader), and BadInput
    when the environment or the exec is larger than a record can hold.
    """
    for _ in range(8):
        try:
            rule_fd = os.open(rule_dir, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            return None
        try:
            found = _read_rule_at(rule_fd, rule_dir)
            if _same_dir(rule_fd, rule_dir):
                return found
        except _Changed:
            pass
        finally:
            os.close(rule_fd)
    raise OSError(errno.EAGAIN, "rule kept changing while being read", rule_dir)


def _same_dir(fd, path):
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def walk(root):
    """Yield (key, Rule) for every rule of the tree, in listing order.

    Raises SystemFailure (111) with s6's wording for unreadable parts.
    """
    for type_name in _listdir(root):
        type_dir = os.path.join(root, type_name)
        for rule_name in _listdir(type_dir):
            rule_dir = os.path.join(type_dir, rule_name)
            try:
                found = read_rule(rule_dir)
            except OSError as exc:
                raise errors.SystemFailure("unable to read rule %s: %s"
                                           % (rule_dir, exc.strerror)) from None
            if found is not None:
                yield "%s/%s" % (type_name, rule_name), found


def _listdir(path):
    try:
        return [name for name in os.listdir(path) if not name.startswith(".")]
    except OSError as exc:
        raise errors.SystemFailure("unable to opendir %s: %s" % (path, exc.strerror)) from None


def compile_to_cdb(root, cdb_path):
    """Compile the tree at root into the cdb at cdb_path, as
    s6-accessrules-cdb-from-fs does (byte for byte); return the number of
    rules.  The old file stays in place on any failure."""
    count = 0

    def records():
        nonlocal count
        for key, found in walk(root):
            count += 1
            yield key.encode("utf-8", "surrogateescape"), record.encode(found)

    try:
        cdbfile.write_atomic(cdb_path, records())
    except OSError as exc:
        raise errors.SystemFailure("unable to write %s: %s" % (cdb_path, exc.strerror)) from None
    return count


def check_key(key):
    """Refuse a key that would write outside its TYPE/RULE directory."""
    parts = key.split("/")
    if len(parts) != 2 or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise errors.BadInput("invalid rule key: %r" % (key,))


def add_rule(root, key, found):
    """Write key's rule into a tree being built (no rule there yet)."""
    os.makedirs(os.path.join(root, key.split("/")[0]), exist_ok=True)
    write_rule_dir(os.path.join(root, key), found)


def write_rule_dir(rule_dir, found):
    """Create rule_dir (which must not exist) holding found."""
    os.mkdir(rule_dir)
    _write_file(os.path.join(rule_dir, "allow" if found.allow else "deny"), b"")
    if not found.allow:
        return
    if found.env:
        os.mkdir(os.path.join(rule_dir, "env"))
    for name, value in found.env:
        record.check_name(name)
        # newline in a value came from a NUL in the file: write it back so.
        content = b"" if value is None else value.replace(b"\n", b"\0") + b"\n"
        _write_file(os.path.join(rule_dir, "env", os.fsdecode(name)), content)
    if found.exec_text:
        _write_file(os.path.join(rule_dir, "exec"), found.exec_text)


def _write_file(path, content):
    with open(path, "xb") as handle:
        handle.write(content)


def _renameat2_exchange():
    """Return a function swapping two paths atomically, or None."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return None
    at_fdcwd, rename_exchange = -100, 2

    def exchange(first, second):
        if func(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange):
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), second)
    return exchange


class _Editing:
    """One editor at a time in a TYPE directory (an exclusive flock on it),
    which makes it safe to remove what a killed editor left behind
    (.new-*/.old-* directories) before going on."""

    def __init__(self, type_dir):
        self.type_dir = type_dir

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.type_dir, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        import shutil

        for name in os.listdir(self.fd):
            if name.startswith((".new-", ".old-")):
                shutil.rmtree(os.path.join(self.type_dir, name), ignore_errors=True)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # releases the lock


def _old_rule(target):
    try:
        return read_rule(target)
    except (OSError, errors.NetchainError):
        return None  # unreadable: replaced all the same


def install_rule(root, key, found):
    """Put found at ROOT/key, replacing what is there, atomically; return
    the rule it replaced (None if there was none)."""
    import shutil
    import tempfile

    check_key(key)
    type_dir = os.path.join(root, key.split("/")[0])
    os.makedirs(type_dir, exist_ok=True)
    target = os.path.join(root, key)
    with _Editing(type_dir):
        old = _old_rule(target)
        staging = tempfile.mkdtemp(prefix=".new-", dir=type_dir)
        try:
            built = os.path.join(staging, "rule")
            write_rule_dir(built, found)
            _swap_into_place(built, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return old


def _swap_into_place(built, target):
    if not os.path.lexists(target):
        os.rename(built, target)  # built now gone; staging removed by caller
        regfile.fsync_directory(os.path.dirname(target))
        return
    exchange = _renameat2_exchange()
    if exchange is None:
        raise OSError(errno.ENOSYS, "renameat2 not available", target)
    exchange(built, target)  # old rule now lives at built, removed with staging
    regfile.fsync_directory(os.path.dirname(target))


def remove_rule(root, key):
    """Remove ROOT/key atomically; False if there was no such rule."""
    import shutil
    import tempfile

    check_key(key)
    target = os.path.join(root, key)
    if not os.path.isdir(os.path.dirname(target)):
        return False
    with _Editing(os.path.dirname(target)):
        if not os.path.lexists(target):
            return False
        graveyard = tempfile.mkdtemp(prefix=".old-", dir=os.path.dirname(target))
        try:
            os.rename(target, os.path.join(graveyard, "rule"))
        finally:
            shutil.rmtree(graveyard, ignore_errors=True)
    return True
