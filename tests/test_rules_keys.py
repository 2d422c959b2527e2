import ipaddress

from hypothesis import given, strategies as st

from netchain.rules import keys as rulekeys


def test_ip4_walk_order():
    keys = list(rulekeys.ip_keys("192.168.1.77"))
    assert keys[0] == "ip4/192.168.1.77_32"
    assert keys[8] == "ip4/192.168.1.0_24"
    assert keys[-1] == "ip4/0.0.0.0_0"
    assert len(keys) == 33


def test_mapped_address_walks_as_ip4():
    assert list(rulekeys.ip_keys("::ffff:10.0.0.1")) == list(rulekeys.ip_keys("10.0.0.1"))


@given(st.integers(0, (1 << 32) - 1))
def test_ip4_keys_match_ipaddress(value):
    ip = str(ipaddress.IPv4Address(value))
    for length, key in zip(range(32, -1, -1), rulekeys.ip_keys(ip)):
        net = ipaddress.IPv4Network((value, length), strict=False)
        assert key == "ip4/%s_%d" % (net.network_address, length)


@given(st.integers(0, (1 << 128) - 1).filter(lambda v: v >> 32 != 0xFFFF))
def test_ip6_keys_are_bit_exact(value):
    ip = str(ipaddress.IPv6Address(value))
    keys = list(rulekeys.ip_keys(ip))
    assert len(keys) == 129
    for length, key in zip(range(128, -1, -1), keys):
        net = ipaddress.IPv6Network((value, length), strict=False)
        text, _, got_length = key[4:].rpartition("_")
        assert int(got_length) == length
        assert ipaddress.IPv6Address(text) == net.network_address


def test_reversedns_walk():
    assert rulekeys.reversedns_keys("a.example.com.") == [
        "reversedns/a.example.com", "reversedns/example.com", "reversedns/com", "reversedns/@"]


def test_hostile_names_only_reach_at():
    for name in ["../../etc", "a/b.example.com", "a..b", "x\0y", "."]:
        assert rulekeys.reversedns_keys(name) == ["reversedns/@"]


def test_djb_order_matches_ucspi_tcp():
    assert rulekeys.djb_keys("1.2.3.4", "mail.example.com", "joe") == [
        "joe@1.2.3.4", "joe@=mail.example.com", "1.2.3.4", "=mail.example.com",
        "1.2.3.", "1.2.", "1.", "=.example.com", "=.com", "=", ""]
    assert rulekeys.djb_keys("1.2.3.4") == ["1.2.3.4", "1.2.3.", "1.2.", "1.", ""]


@given(st.one_of(st.integers(0, (1 << 128) - 1), st.integers(0, (1 << 40)),
                 st.integers(0, 1 << 32).map(lambda v: (0xFFFF << 32) | v),
                 st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xABCD]), min_size=8, max_size=8).map(
                     lambda groups: int.from_bytes(b"".join(g.to_bytes(2, "big") for g in groups), "big"))))
def test_fast_ipv6_text_is_rfc5952(value):
    from netchain import addr
    assert rulekeys.format_ip6_fast(value) == addr.format_ip6(value)
