"""djb cdb files: a bounded reader and an atomic writer.

The writer uses cdbx (C, byte-identical output, about ten times faster)
when it is installed and pure-cdb's cdblib otherwise.  The reader is our
own short one on top of cdblib's hash function because cdblib.Reader loops
forever on a corrupt table with no empty slot, and a daemon must not hang
on a bad file: every probe here is bounded and every offset checked.
"""

import mmap
import os
import struct

from cdblib.djb_hash import djb_hash

from . import errors

_PAIR = struct.Struct("<LL")
_HEADER_SIZE = 2048


class CorruptCdb(errors.CorruptRules):
    """The file is not a well-formed cdb (exit 111, never an allow)."""

    def __init__(self, path, reason="protocol error"):
        super().__init__("unable to read %s: %s" % (path, reason))
        self.path = path
        self.reason = reason


class CdbReader:
    """Read-only view of a cdb file: get(key) and first_key()."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            self.identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if stat.st_size < _HEADER_SIZE:
                raise CorruptCdb(path)
            self.data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self.size = len(self.data)

    def close(self):
        self.data.close()

    def _pair(self, offset):
        if offset + 8 > self.size:
            raise CorruptCdb(self.path)
        return _PAIR.unpack_from(self.data, offset)

    def get(self, key):
        """Return the first value stored under key, or None."""
        hashed = djb_hash(key) & 0xFFFFFFFF
        table_pos, table_len = self._pair((hashed & 255) << 3)
        if not table_len:
            return None
        if table_pos + 8 * table_len > self.size:
            raise CorruptCdb(self.path)
        slot = (hashed >> 8) % table_len
        for _ in range(table_len):
            slot_hash, record_pos = self._pair(table_pos + 8 * slot)
            if not record_pos:
                return None
            if slot_hash == hashed:
                key_len, value_len = self._pair(record_pos)
                start = record_pos + 8
                if start + key_len + value_len > self.size:
                    raise CorruptCdb(self.path)
                if self.data[start:start + key_len] == key:
                    return self.data[start + key_len:start + key_len + value_len]
            slot = slot + 1 if slot + 1 < table_len else 0
        return None

    def first_key(self):
        """Key of the first record, or None for an empty database."""
        end = min(self._pair(8 * i)[0] for i in range(256))
        if end <= _HEADER_SIZE:
            return None
        key_len, _ = self._pair(_HEADER_SIZE)
        if _HEADER_SIZE + 8 + key_len > min(end, self.size):
            raise CorruptCdb(self.path)
        return self.data[_HEADER_SIZE + 8:_HEADER_SIZE + 8 + key_len]

    def items(self):
        """Every (key, value) in file order; raises CorruptCdb on damage."""
        end = min(self._pair(8 * i)[0] for i in range(256))
        if end > self.size:
            raise CorruptCdb(self.path)
        pos = _HEADER_SIZE
        while pos < end:
            key_len, value_len = self._pair(pos)
            pos += 8
            if pos + key_len + value_len > end:
                raise CorruptCdb(self.path)
            yield (self.data[pos:pos + key_len],
                   self.data[pos + key_len:pos + key_len + value_len])
            pos += key_len + value_len


def _make_writer(handle):
    """Return (add, finish) for a new cdb written to an open binary file."""
    try:
        import cdbx
    except ImportError:
        import cdblib

        writer = cdblib.Writer(handle)
        return writer.put, writer.finalize
    maker = cdbx.CDB.make(handle, mmap=False)
    return maker.add, lambda: maker.commit().close()


def write_records(handle, records):
    """Write records (an iterable of (key, value) bytes) as a cdb to handle."""
    add, finish = _make_writer(handle)
    for key, value in records:
        add(key, value)
    finish()
    handle.flush()
    os.fsync(handle.fileno())


def _default_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path, records):
    """Write a cdb next to path, fsync it and rename it into place.

    On any failure the old file is untouched and no temporary is left.
    Raises OSError; the caller words the message.
    """
    import tempfile  # only writers need it; readers start faster without

    directory = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(prefix=os.path.basename(path) + ":", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _default_mode())
            write_records(handle, records)
        os.rename(temp, path)
    except BaseException:
        _unlink_quietly(temp)
        raise


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass  # already gone, or the original error matters more
