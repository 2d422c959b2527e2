"""djb cdb files: a validating reader and an atomic writer.

The writer is cdbx's (C, byte-identical to cdbmake).  The reader is our
own, on top of pure-cdb's hash function (cdblib.djb_hash), because a
daemon must neither hang nor die on a bad file:

- the file is read into memory once (never mmap'ed: a file truncated in
  place under a mapping kills the process with SIGBUS), through a
  non-blocking open that refuses anything but a regular file;
- its whole structure is checked once, when it is opened: header, every
  record and every hash slot (each slot must point at the start of a
  record whose key has that hash, in that table).  A file that fails is
  refused as a whole (CorruptCdb, exit 111): one damaged byte can never
  make a lookup miss a rule and so turn a deny into an allow;
- the layout (s6 keys all hold '/', tcprules keys never) is read from
  every key, and a file that mixes both is refused.
"""

import os
import struct

from cdblib.djb_hash import djb_hash

from .. import errors, regfile

_PAIR = struct.Struct("<LL")
_HEADER_SIZE = 2048
MAX_SIZE = 1 << 32  # cdb offsets are 32-bit

S6 = "s6"
DJB = "tcprules"


class CorruptCdb(errors.CorruptRules):
    """The file is not a well-formed cdb (exit 111, never an allow)."""

    def __init__(self, path, reason="protocol error"):
        super().__init__("unable to read %s: %s" % (path, reason))
        self.path = path
        self.reason = reason


class CdbReader:
    """A validated, in-memory cdb: get(key), items(), layout, identity."""

    def __init__(self, path):
        self.path = path
        fd, info = regfile.open_regular(path)
        try:
            if info.st_size >= MAX_SIZE:
                raise CorruptCdb(path, "file too big for a cdb")
            data = regfile.read_fd(fd, info.st_size)
        finally:
            os.close(fd)
        self.identity = regfile.identity(info)
        if len(data) != info.st_size:
            raise CorruptCdb(path, "file changed while being read")
        self.data = data
        self.size = len(data)
        self.tables = _check_header(data, path)
        self.records, self.layout = _check_records(data, self.tables, path)

    def close(self):
        self.data = b""

    def get(self, key):
        """Return the first value stored under key, or None."""
        hashed = djb_hash(key) & 0xFFFFFFFF
        table_pos, table_len = self.tables[hashed & 255]
        if not table_len:
            return None
        data, slot = self.data, (hashed >> 8) % table_len
        for _ in range(table_len):  # validated: every pointer is a record
            slot_hash, record_pos = _PAIR.unpack_from(data, table_pos + 8 * slot)
            if not record_pos:
                return None
            if slot_hash == hashed:
                key_len, value_len = _PAIR.unpack_from(data, record_pos)
                start = record_pos + 8
                if key_len == len(key) and data[start:start + key_len] == key:
                    return data[start + key_len:start + key_len + value_len]
            slot = slot + 1 if slot + 1 < table_len else 0
        return None

    def items(self):
        """Every (key, value) in file order."""
        data = self.data
        for pos, key_len, value_len in self.records:
            start = pos + 8
            yield data[start:start + key_len], data[start + key_len:start + key_len + value_len]


def _check_header(data, path):
    """The 256 (position, slots) pairs, each table inside the file."""
    if len(data) < _HEADER_SIZE:
        raise CorruptCdb(path, "file too short for a cdb")
    tables = [_PAIR.unpack_from(data, 8 * i) for i in range(256)]
    for pos, slots in tables:
        if pos < _HEADER_SIZE or pos + 8 * slots > len(data):
            raise CorruptCdb(path, "hash table out of bounds")
    return tables


def _check_records(data, tables, path):
    """[(pos, key length, value length)] and the layout; every slot checked."""
    end = min(pos for pos, _ in tables)
    records, hashes, with_slash = [], {}, 0
    pos = _HEADER_SIZE
    while pos < end:
        if pos + 8 > end:
            raise CorruptCdb(path, "record out of bounds")
        key_len, value_len = _PAIR.unpack_from(data, pos)
        if pos + 8 + key_len + value_len > end:
            raise CorruptCdb(path, "record out of bounds")
        key = data[pos + 8:pos + 8 + key_len]
        records.append((pos, key_len, value_len))
        hashes[pos] = djb_hash(key) & 0xFFFFFFFF
        with_slash += b"/" in key
        pos += 8 + key_len + value_len
    _check_slots(data, tables, hashes, path)
    if with_slash and with_slash != len(records):
        raise CorruptCdb(path, "keys of both the s6 and the tcprules layout")
    return records, (DJB if records and not with_slash else S6)


def _check_slots(data, tables, hashes, path):
    """Each record in exactly one slot, of its own table, with its hash."""
    used = 0
    for number, (pos, slots) in enumerate(tables):
        for slot_hash, record_pos in struct.iter_unpack("<LL", data[pos:pos + 8 * slots]):
            if not record_pos:
                continue
            if hashes.get(record_pos) != slot_hash or slot_hash & 255 != number:
                raise CorruptCdb(path, "hash table does not match the records")
            used += 1
    if used != len(hashes):
        raise CorruptCdb(path, "hash table does not match the records")


def write_pairs(handle, keys, values):
    """Write the records keys[i] -> values[i] (bytes), in that order, as a
    cdb to the open binary file handle (regfile.write_atomic fsyncs it).

    The one cdb writer: cdbx's (C, a required dependency, byte-identical
    to djb's cdbmake).  The records go to it through map() inside a
    zero-length deque, so that no Python code runs per record.
    """
    import collections

    import cdbx

    maker = cdbx.CDB.make(handle, mmap=False)
    collections.deque(map(maker.add, keys, values), maxlen=0)
    maker.commit().close()
    handle.flush()


def write_records(handle, records):
    """write_pairs for an iterable of (key, value)."""
    pairs = list(records)
    write_pairs(handle, [key for key, _ in pairs], [value for _, value in pairs])


def write_atomic(path, records):
    """Write records as a cdb at path, whole or not at all (regfile's one
    atomic writer: temporary, fsync, rename, fsync the directory).
    Raises OSError; the caller words the message."""
    try:
        regfile.write_atomic(path, lambda handle: write_records(handle, records))
    except regfile.WriteFailed as exc:
        raise exc.cause from None
