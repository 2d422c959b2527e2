"""Lookup orders: the one owner of which keys are tried, in which order.

s6 layout (doc/design.md 4.2): ip4/NET_LEN for 32..0 or ip6/NET_LEN for
128..0, then reversedns/NAME, each parent domain, reversedns/@.
djb tcprules layout (4.4): ucspi-tcp 0.88's rules.c order.
"""

import socket

from .. import addr


def format_ip6_fast(value):
    """RFC 5952 text of an IPv6 value, through the C inet_ntop (about four
    times cheaper than addr.format_ip6); where glibc would write an
    embedded IPv4 address ('::1.2.3.4', '::ffff:1.2.3.4': the top 96 bits
    zero, or ::ffff:0:0/96), addr.format_ip6 writes it instead."""
    high = value >> 32
    if high == 0 or high == 0xFFFF:
        return addr.format_ip6(value)
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


ANY_NAME = "reversedns/@"


def ip_key(family, network, length, text=None):
    """The key of a network: 'ip4/10.0.0.0_8', 'ip6/2001:db8::_32'.
    text: the network's address text when the caller has it already."""
    if text is None:
        text = addr.format_ip4(network) if family == 4 else format_ip6_fast(network)
    return "ip%d/%s_%d" % (family, text, length)


def name_key(name):
    """The key of a host name or domain: 'reversedns/example.com'."""
    return "reversedns/" + name


def ip_keys(ip_text):
    """s6 keys for an address, most specific first ('::ffff:a.b.c.d' is IPv4).

    A generator: the lookup usually stops at the first few keys, and this
    runs for every connection.
    """
    family, value = addr.parse_ip(ip_text)
    fmt = addr.format_ip4 if family == 4 else format_ip6_fast
    masks = addr.masks(family)
    last_net, text = None, ""
    for length in range(len(masks) - 1, -1, -1):
        net = value & masks[length]
        if net != last_net:
            text, last_net = fmt(net), net
        yield ip_key(family, net, length, text)


def usable_host_name(name):
    """The name without its root dot, or None if it cannot be a key safely.

    A name from DNS is attacker-controlled: one with '/', NUL, an empty or
    dot-only label would address files outside reversedns/ in a tree.
    """
    if not name:
        return None
    if name.endswith("."):
        name = name[:-1]
    if not name or "/" in name or "\0" in name:
        return None
    if any(label in ("", "..") for label in name.split(".")):
        return None
    return name


def reversedns_keys(name):
    """reversedns/NAME, each parent, then reversedns/@ (no name: only @)."""
    keys = []
    name = usable_host_name(name)
    while name:
        keys.append(name_key(name))
        _, _, name = name.partition(".")
    keys.append(ANY_NAME)
    return keys


def djb_keys(ip, host=None, info=None):
    """ucspi-tcp 0.88 rules.c order for the tcprules layout (str keys)."""
    keys = []
    if info is not None:
        keys.append("%s@%s" % (info, ip))
        if host is not None:
            keys.append("%s@=%s" % (info, host))
    keys.append(ip)
    if host is not None:
        keys.append("=" + host)
    for end in range(len(ip), 0, -1):
        # '.' as 0.88; ':' as the IPv6 patch (never a lone leading ':')
        if ip[end - 1] == "." or (ip[end - 1] == ":" and end > 1):
            keys.append(ip[:end])
    if host is not None:
        keys.extend("=" + host[i:] for i in range(len(host)) if host[i] == ".")
        keys.append("=")
    keys.append("")
    return keys
