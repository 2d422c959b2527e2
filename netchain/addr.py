"""Address text forms (doc/design.md section 2).

IPv4 in dotted decimal, IPv6 in RFC 5952 text, an IPv4-mapped IPv6
address always folded to its IPv4 form so that IPv4 rules cannot be
bypassed through a dual-stack socket.
"""

import socket

_MAPPED_PREFIX = 0xFFFF << 32
_V4_MASKS = tuple(((1 << 32) - 1) ^ ((1 << (32 - n)) - 1) for n in range(33))
_V6_MASKS = tuple(((1 << 128) - 1) ^ ((1 << (128 - n)) - 1) for n in range(129))


def parse_ip(text):
    """Return (4, int) or (6, int) for an address; ValueError if it is not one.

    An IPv4-mapped IPv6 address is returned as (4, int).
    """
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, TypeError):
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0])
    except (OSError, TypeError):
        raise ValueError("not an IP address: %r" % (text,)) from None
    value = int.from_bytes(packed, "big")
    if value >> 32 == 0xFFFF:
        return 4, value & 0xFFFFFFFF
    return 6, value


def format_ip4(value):
    return "%d.%d.%d.%d" % (value >> 24, (value >> 16) & 255, (value >> 8) & 255, value & 255)


def format_ip6(value):
    """RFC 5952: lowercase, no leading zeros, first longest zero run as '::'."""
    groups = [(value >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best_start, best_len, run_start = -1, 0, -1
    for i, group in enumerate(groups + [1]):
        if group == 0 and i < 8:
            if run_start < 0:
                run_start = i
        elif run_start >= 0:
            if i - run_start > best_len:
                best_start, best_len = run_start, i - run_start
            run_start = -1
    text = ["%x" % g for g in groups]
    if best_len < 2:
        return ":".join(text)
    return ":".join(text[:best_start]) + "::" + ":".join(text[best_start + best_len:])


def format_ip(family, value):
    return format_ip4(value) if family == 4 else format_ip6(value)


def canonical_ip(text):
    """Canonical text of an address ('::ffff:1.2.3.4' gives '1.2.3.4')."""
    return format_ip(*parse_ip(text))


def masks(family):
    """Masks indexed by prefix length, for IPv4 (33) or IPv6 (129)."""
    return _V4_MASKS if family == 4 else _V6_MASKS


def mask(family, length):
    return masks(family)[length]


def max_length(family):
    return 32 if family == 4 else 128


def parse_network(text):
    """Parse 'ADDR', 'ADDR/LEN' or 'ADDR_LEN'.

    Returns (family, network, length, had_host_bits).  An IPv4-mapped
    network is folded to IPv4 when its length covers the mapped prefix.
    """
    sep = "/" if "/" in text else "_" if "_" in text else None
    if sep:
        address, _, length_text = text.rpartition(sep)
        if not (length_text.isascii() and length_text.isdigit()) or len(length_text) > 3:
            raise ValueError("bad prefix length in %r" % (text,))
        length = int(length_text)
    else:
        address, length = text, None
    try:
        packed = socket.inet_pton(socket.AF_INET, address)
        family = 4
    except OSError:
        try:
            packed = socket.inet_pton(socket.AF_INET6, address)
            family = 6
        except OSError:
            raise ValueError("not an IP address: %r" % (address,)) from None
    value = int.from_bytes(packed, "big")
    if length is None:
        length = len(packed) * 8
    if family == 6 and value >> 32 == 0xFFFF and length >= 96:
        family, value, length = 4, value & 0xFFFFFFFF, length - 96
    if length > max_length(family):
        raise ValueError("prefix length %d too long for IPv%d" % (length, family))
    network = value & mask(family, length)
    return family, network, length, network != value
