"""The PROXY protocol, versions 1 and 2 (HAProxy's proxy-protocol.txt).

A proxy in front of a server sends one header before the client's bytes,
naming the real client.  Everything in it comes from the network: each
field is checked as the specification says and anything else refuses the
whole header (Invalid).  The reader takes exactly the header's bytes from
the connection, never one byte of the client's data, and gives up at its
deadline.

    v1: 'PROXY TCP4|TCP6|UNKNOWN src dst sport dport\\r\\n', 107 bytes at most
    v2: the 12-byte signature, version 2, LOCAL or PROXY, TCP over IPv4
        or IPv6, the addresses, then TLVs within the announced length
"""

import collections
import os
import select
import time

from . import addr

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_MAX = 107
V2_FIXED = 16
TLV_AUTHORITY, TLV_SSL = 0x02, 0x20
SSL_VERSION, SSL_CN, SSL_CIPHER = 0x21, 0x22, 0x23

# local: the proxy speaks for itself (v2 LOCAL, v1 UNKNOWN): keep the real
# endpoints.  Otherwise the client (remote) and the address it reached.
Header = collections.namedtuple("Header", "version local remote_ip remote_port local_ip local_port tlvs")


class Invalid(ValueError):
    """Not a PROXY header the specification allows; str() says why."""


def _port(text):
    if not text.isdigit() or len(text) > 5 or (text[:1] == b"0" and text != b"0") or int(text) > 65535:
        raise Invalid("bad port in v1 header")
    return int(text)


def _ip(text, family):
    if b"%" in text:
        raise Invalid("scope in v1 header address")
    try:
        found, value = addr.parse_ip(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise Invalid("bad address in v1 header") from None
    if (family == b"TCP4") != (found == 4 and ":" not in text.decode("ascii")):
        raise Invalid("address of the wrong family in v1 header")
    return addr.format_ip(found, value)


def parse_v1(line):
    """The Header of one v1 line (with its CRLF)."""
    if not line.startswith(b"PROXY ") or not line.endswith(b"\r\n") or len(line) > V1_MAX:
        raise Invalid("bad v1 header")
    words = line[6:-2].split(b" ")
    if words[0] == b"UNKNOWN":
        return Header(1, True, None, None, None, None, {})
    if words[0] not in (b"TCP4", b"TCP6") or len(words) != 5 or b"\r" in line[:-2] or b"\n" in line[:-2]:
        raise Invalid("bad v1 header")
    src, dst = _ip(words[1], words[0]), _ip(words[2], words[0])
    return Header(1, False, src, _port(words[3]), dst, _port(words[4]), {})


def _tlvs(data):
    """{type: value} of a v2 TLV area that must be exactly filled."""
    found, pos = {}, 0
    while pos < len(data):
        if pos + 3 > len(data):
            raise Invalid("truncated TLV")
        kind, size = data[pos], int.from_bytes(data[pos + 1:pos + 3], "big")
        if pos + 3 + size > len(data):
            raise Invalid("TLV past the header's length")
        found.setdefault(kind, data[pos + 3:pos + 3 + size])
        pos += 3 + size
    return found


def parse_v2(data):
    """The Header of a whole v2 header (signature to the last TLV)."""
    if data[:12] != SIGNATURE or len(data) < V2_FIXED:
        raise Invalid("bad v2 signature")
    version, command, family = data[12] >> 4, data[12] & 15, data[13]
    if version != 2 or command > 1:
        raise Invalid("bad v2 version or command")
    if len(data) != V2_FIXED + int.from_bytes(data[14:16], "big"):
        raise Invalid("bad v2 length")
    body = data[V2_FIXED:]
    if command == 0:  # LOCAL: the body is skipped, whatever it holds
        return Header(2, True, None, None, None, None, {})
    sizes = {0x11: (4, 12), 0x21: (16, 36)}  # TCP over IPv4, TCP over IPv6
    if family not in sizes or len(body) < sizes[family][1]:
        raise Invalid("v2 family other than TCP4/TCP6, or addresses cut short")
    width, fixed = sizes[family]
    value = lambda start: int.from_bytes(body[start:start + width], "big")  # noqa: E731
    fam = 4 if width == 4 else 6
    src, dst = addr.canonical_ip(addr.format_ip(fam, value(0))), addr.canonical_ip(addr.format_ip(fam, value(width)))
    ports = body[2 * width:fixed]
    return Header(2, False, src, int.from_bytes(ports[:2], "big"), dst, int.from_bytes(ports[2:], "big"),
                  _tlvs(body[fixed:]))


def _read_exactly(fd, count, deadline):
    """count bytes from fd, waiting at most until deadline (no more read)."""
    chunks, got = [], 0
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError()
        chunk = os.read(fd, count - got)
        if not chunk:
            raise Invalid("connection closed inside the PROXY header")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_header(fd, deadline, versions=(1, 2)):
    """Read and parse the header at the start of connection fd.

    Reads exactly its bytes (v1 a byte at a time up to its CRLF, v2 its 16
    fixed bytes then the announced length).  Raises Invalid, or
    TimeoutError when the deadline (time.monotonic()) passes first.
    """
    first = _read_exactly(fd, 1, deadline)
    if first == b"P" and 1 in versions:
        line = first
        while not line.endswith(b"\r\n"):
            if len(line) >= V1_MAX or line.endswith(b"\n") or (b"\r" in line[:-1]):
                raise Invalid("bad v1 header")
            line += _read_exactly(fd, 1, deadline)
        return parse_v1(line)
    if first == b"\r" and 2 in versions:
        fixed = first + _read_exactly(fd, V2_FIXED - 1, deadline)
        if fixed[:12] != SIGNATURE:
            raise Invalid("bad v2 signature")
        return parse_v2(fixed + _read_exactly(fd, int.from_bytes(fixed[14:16], "big"), deadline))
    raise Invalid("no PROXY header of an accepted version")


def tlv_environment(tlvs):
    """(name, text) pairs for the TLVs s6's proxy-server exports; a value
    holding a control byte or not UTF-8 is left out."""
    pairs = []
    if TLV_AUTHORITY in tlvs:
        pairs.append(("SSL_TLS_SNI_SERVERNAME", tlvs[TLV_AUTHORITY]))
    ssl = tlvs.get(TLV_SSL, b"")
    if len(ssl) >= 5:
        try:
            sub = _tlvs(ssl[5:])
        except Invalid:
            sub = {}
        for kind, name in ((SSL_VERSION, "SSL_PROTOCOL"), (SSL_CIPHER, "SSL_CIPHER"), (SSL_CN, "SSL_PEER_CERT_CN")):
            if kind in sub:
                pairs.append((name, sub[kind]))
    out = []
    for name, value in pairs:
        if value and not any(b < 32 or b == 127 for b in value):
            try:
                out.append((name, value.decode("utf-8")))
            except UnicodeDecodeError:
                pass
    return out
