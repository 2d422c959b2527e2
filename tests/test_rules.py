"""The rule backends: decisions remembered per cdb file, never across files."""

import os

import pytest

from hypothesis import given, strategies as st

from netchain import errors, rules
from netchain.rules import cdbfile, djb as djbrules, record as rule


def write_cdb(path, records):
    cdbfile.write_atomic(str(path), [(k.encode(), rule.encode(v)) for k, v in records])


def test_cdb_decisions_are_remembered_until_the_file_changes(tmp_path):
    path = tmp_path / "rules.cdb"
    write_cdb(path, [("ip4/10.0.0.0_8", rule.ALLOW), ("ip4/0.0.0.0_0", rule.DENY)])
    source = rules.CdbSource(str(path))
    backend = source.current()
    assert rules.lookup_ip(backend, "10.1.2.3") == rule.Decision("ip4/10.0.0.0_8", rule.ALLOW)
    assert rules.lookup_ip(backend, "192.0.2.1") == rule.Decision("ip4/0.0.0.0_0", rule.DENY)
    assert len(backend.decisions) == 2
    assert source.current() is backend  # same file: same backend, same decisions
    write_cdb(path, [("ip4/0.0.0.0_0", rule.ALLOW)])
    changed = source.current()
    assert changed is not backend and changed.decisions == {}
    assert rules.lookup_ip(changed, "10.1.2.3") == rule.Decision("ip4/0.0.0.0_0", rule.ALLOW)


def test_remembered_decisions_are_bounded(tmp_path, monkeypatch):
    path = tmp_path / "rules.cdb"
    write_cdb(path, [("ip4/0.0.0.0_0", rule.ALLOW)])
    backend = rules.CdbSource(str(path)).current()
    monkeypatch.setattr(rules.backends, "MAX_REMEMBERED", 8)
    for n in range(20):
        rules.lookup_ip(backend, "10.0.0.%d" % n)
        assert len(backend.decisions) <= 8
    assert ("ip", "10.0.0.19") in backend.decisions


def test_tree_decisions_are_never_remembered(tmp_path):
    os.makedirs(tmp_path / "ip4" / "10.0.0.0_8")
    (tmp_path / "ip4" / "10.0.0.0_8" / "allow").touch()
    backend = rules.TreeRules(str(tmp_path))
    assert rules.lookup_ip(backend, "10.0.0.1").rule.allow
    os.rename(tmp_path / "ip4" / "10.0.0.0_8" / "allow", tmp_path / "ip4" / "10.0.0.0_8" / "deny")
    assert not rules.lookup_ip(backend, "10.0.0.1").rule.allow


def test_a_corrupt_record_is_an_error_and_is_not_remembered(tmp_path):
    path = tmp_path / "rules.cdb"
    cdbfile.write_atomic(str(path), [(b"ip4/0.0.0.0_0", b"A\x00\x09X=1\x00\x00\x00")])  # env overruns
    backend = rules.CdbSource(str(path)).current()
    for _ in range(2):
        with pytest.raises(errors.CorruptRules):
            rules.lookup_ip(backend, "10.0.0.1")
    assert backend.decisions == {}


@given(st.binary(max_size=40) | st.builds(lambda a, b: b"A" + a + b, st.binary(max_size=6), st.binary(max_size=30)))
def test_s6_record_decoder_fails_closed(value):
    """Any bytes: a Rule, 'not found' (None) or BadRecord; never anything
    else; a decoded allow encodes back to the same bytes."""
    try:
        found = rule.decode(value)
    except rule.BadRecord:
        return
    if found is not None and found.allow:
        assert rule.encode(found) == value
    if found is not None and not found.allow:
        assert value[:1] == b"D"


@given(st.binary(max_size=60))
def test_tcprules_value_decoder_never_raises(value):
    found = djbrules.decode(value)
    assert found.allow == (not any(item.startswith(b"D") for item in value.split(b"\0")[:-1]))


def _instructions_as_tcprules_c(text):
    """tcprules.c's loop over the instructions, step by step: the oracle."""
    if text.startswith(b"deny"):
        data, rest = [b"D\0"], text[4:]
    elif text.startswith(b"allow"):
        data, rest = [], text[5:]
    else:
        return None
    while rest:
        if rest[:1] != b",":
            return None
        equals = rest.find(b"=")
        if equals < 0 or equals + 1 >= len(rest):
            return None
        quote = rest[equals + 1:equals + 2]
        end = rest.find(quote, equals + 2)
        if end < 0:
            return None
        data.append(b"+" + rest[1:equals + 1] + rest[equals + 2:end] + b"\0")
        rest = rest[end + 1:]
    return b"".join(data)


@given(st.builds(lambda head, tail: head + tail, st.sampled_from([b"allow", b"deny", b"all", b""]),
                 st.lists(st.sampled_from([b",", b"=", b'"', b"'", b"|", b"A", b"x", b" ", b"\n", b"\0"]),
                          max_size=14).map(b"".join)))
def test_instruction_parser_reads_as_tcprules_c(text):
    expected = _instructions_as_tcprules_c(text)
    try:
        got = djbrules.parse_instructions(text, b"line")
    except djbrules.ParseError:
        got = None
    assert got == expected


@given(st.lists(st.builds(lambda head, tail, blanks: head + tail + blanks,
                          st.sampled_from([b"allow", b"deny", b"all"]),
                          st.lists(st.sampled_from([b",", b"=", b'"', b"'", b"|", b"A", b"x", b" ", b"\0",
                                                    b"allow", b"deny"]), max_size=10).map(b"".join),
                          st.sampled_from([b"", b" ", b"\t "])), min_size=1, max_size=8))
def test_bulk_instruction_values_read_as_one_by_one(texts):
    """_values_in_bulk gives each text's value, or None when any is bad."""
    one_by_one = [djbrules.instruction_value(text.rstrip(b" \t")) for text in texts]
    bulk = djbrules._values_in_bulk(texts)
    assert bulk == (None if None in one_by_one else one_by_one)
