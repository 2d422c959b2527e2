import ipaddress

import pytest
from hypothesis import given, strategies as st

from netchain import addr


@pytest.mark.parametrize("text,expected", [
    ("127.0.0.1", (4, 0x7F000001)),
    ("::ffff:10.1.2.3", (4, 0x0A010203)),
    ("::1", (6, 1)),
])
def test_parse_ip(text, expected):
    assert addr.parse_ip(text) == expected


@pytest.mark.parametrize("bad", ["", "1.2.3", "1.2.3.4.5", "01.2.3.4x", "host", "1.2.3.256"])
def test_parse_ip_rejects(bad):
    with pytest.raises(ValueError):
        addr.parse_ip(bad)


@pytest.mark.parametrize("text,expected", [
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ("2001:0db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
    ("0:0:0:0:0:0:0:0", "::"),
    ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
    ("FE80::ABCD", "fe80::abcd"),
])
def test_rfc5952(text, expected):
    assert addr.canonical_ip(text) == expected


@given(st.integers(0, (1 << 128) - 1))
def test_format_ip6_round_trips(value):
    text = addr.format_ip6(value)
    assert int(ipaddress.IPv6Address(text)) == value
    assert text == text.lower()
    if value >> 32 != 0xFFFF and "." not in ipaddress.IPv6Address(value).compressed:
        assert text == ipaddress.IPv6Address(value).compressed


@pytest.mark.parametrize("text,expected", [
    ("10.1.2.3/8", (4, 0x0A000000, 8, True)),
    ("10.0.0.0_8", (4, 0x0A000000, 8, False)),
    ("::ffff:10.0.0.0/104", (4, 0x0A000000, 8, False)),
    ("2001:db8::/32", (6, 0x20010DB8 << 96, 32, False)),
])
def test_parse_network(text, expected):
    assert addr.parse_network(text) == expected


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "::/129", "10.0.0.0/x", "x/8", "10.0.0.0/-1"])
def test_parse_network_rejects(bad):
    with pytest.raises(ValueError):
        addr.parse_network(bad)
