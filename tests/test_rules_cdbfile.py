"""The cdb reader fails closed: damaged files are refused, never read as allow."""

import errno
import os

import pytest
from hypothesis import given, settings, strategies as st

from netchain import errors, rules
from netchain.rules import cdbfile, record as rulemod

DENY_ALL = [(b"ip4/0.0.0.0_0", b"D"), (b"ip6/::_0", b"D")]
CLIENTS = ["1.2.3.4", "127.0.0.1", "::1", "2001:db8::7"]


def write(path, records):
    with open(path, "wb") as handle:
        cdbfile.write_records(handle, records)
    return path


def verdicts(path, layout=None):
    """'refused', or the set of allowed-or-not for every client."""
    try:
        backend = rules.open_cdb(str(path), layout)
        return {rules.lookup(backend, ip).allowed if backend.layout == rules.S6
                else rules.lookup_djb(backend, ip).allowed for ip in CLIENTS}
    except errors.CorruptRules:
        return "refused"


def test_deny_all_denies(tmp_path):
    assert verdicts(write(tmp_path / "r.cdb", DENY_ALL)) == {False}


def test_no_single_byte_change_ever_allows(tmp_path):
    good = write(tmp_path / "good.cdb", DENY_ALL).read_bytes()
    damaged = tmp_path / "bad.cdb"
    refused = 0
    for offset in range(len(good)):
        for new in {good[offset] ^ 0x01, good[offset] ^ 0x80, 0, 0xFF, ord("/"), ord("A")}:
            if new == good[offset]:
                continue
            damaged.write_bytes(good[:offset] + bytes([new]) + good[offset + 1:])
            outcome = verdicts(damaged)
            assert outcome in ("refused", {False}), (offset, new, outcome)
            refused += outcome == "refused"
    assert refused > 0


@pytest.mark.parametrize("cut", [0, 100, 2047, 2048 + 5])
def test_truncated_file_is_refused(tmp_path, cut):
    good = write(tmp_path / "good.cdb", DENY_ALL).read_bytes()
    (tmp_path / "bad.cdb").write_bytes(good[:cut])
    assert verdicts(tmp_path / "bad.cdb") == "refused"


def test_mixed_layouts_are_refused(tmp_path):
    path = write(tmp_path / "r.cdb", [(b"ip4/1.2.3.4_32", b"D"), (b"1.2.3.", b"")])
    with pytest.raises(cdbfile.CorruptCdb, match="both"):
        cdbfile.CdbReader(str(path))


def test_layout_comes_from_every_key(tmp_path):
    assert cdbfile.CdbReader(str(write(tmp_path / "a", DENY_ALL))).layout == cdbfile.S6
    assert cdbfile.CdbReader(str(write(tmp_path / "b", [(b"1.2.", b"D\0")]))).layout == cdbfile.DJB
    assert cdbfile.CdbReader(str(write(tmp_path / "c", []))).layout == cdbfile.S6


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "rules.cdb"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as caught:
        cdbfile.CdbReader(str(fifo))
    assert caught.value.errno == errno.EINVAL


def test_the_file_is_not_mapped(tmp_path):
    # Truncating the file after opening must not matter (no SIGBUS possible).
    path = write(tmp_path / "r.cdb", DENY_ALL)
    reader = cdbfile.CdbReader(str(path))
    path.write_bytes(b"")
    assert rulemod.decode(reader.get(b"ip4/0.0.0.0_0")) == rulemod.DENY


records = st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=20)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(records, st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
       st.integers(0, 4000))
def test_damaged_files_give_our_error_or_a_bounded_answer(tmp_path_factory, content, flips, cut):
    path = tmp_path_factory.mktemp("cdb") / "r.cdb"
    data = bytearray(write(path, content).read_bytes())
    for offset, value in flips:
        if offset < len(data):
            data[offset] = value
    path.write_bytes(bytes(data[:max(cut, 0)] if cut < len(data) else data))
    try:
        reader = cdbfile.CdbReader(str(path))
    except cdbfile.CorruptCdb:
        return
    for key, _ in content:
        found = reader.get(key)
        assert found is None or isinstance(found, bytes)
    assert all(isinstance(k, bytes) for k, _ in reader.items())


@given(st.lists(st.tuples(st.binary(max_size=20).map(lambda k: k.replace(b"/", b"")),
                          st.binary(max_size=20)), max_size=8))
@settings(max_examples=100, deadline=None)
def test_every_record_is_found(tmp_path_factory, content):
    path = write(tmp_path_factory.mktemp("cdb") / "r.cdb", content)
    reader = cdbfile.CdbReader(str(path))
    first = {}
    for key, value in content:
        first.setdefault(key, value)
    for key, value in first.items():
        assert reader.get(key) == value
    assert list(reader.items()) == content
