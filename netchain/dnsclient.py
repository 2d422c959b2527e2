"""Reverse and forward DNS with dnspython, under a deadline.

The resolver is DNSCACHEIP (one or more addresses, as in ucspi-tcp) on
port DNSCACHEPORT (default 53), or the system's when DNSCACHEIP is unset.
dns is imported only here, and only when a lookup is asked for.
"""

import os

from . import addr, errors, options

HOST_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class LookupFailed(errors.SystemFailure):
    """The DNS server failed or did not answer in time (not 'no name')."""


def preload():
    """Import what a lookup will need, now (dnspython imports record types
    when it first meets them: after a privilege drop it may not be able
    to)."""
    import importlib

    for name in ("dns.exception", "dns.message", "dns.query", "dns.rdtypes.ANY.CNAME",
                 "dns.rdtypes.ANY.PTR", "dns.rdtypes.ANY.TXT", "dns.rdtypes.IN.A", "dns.rdtypes.IN.AAAA",
                 "dns.resolver", "dns.reversename"):
        importlib.import_module(name)


def settings(environ=None):
    """(servers, port) from DNSCACHEIP and DNSCACHEPORT; servers is empty
    for the system's resolver.  BadInput (exit 100) when either is not
    what it should be (checked when a program starts, not per lookup)."""
    environ = os.environ if environ is None else environ
    servers = environ.get("DNSCACHEIP", "").replace(",", " ").split()
    for server in servers:
        try:
            addr.parse_ip(server)
        except ValueError:
            raise errors.BadInput("DNSCACHEIP holds something not an IP address: %r"
                                  % server[:40]) from None
    port = options.scan(environ.get("DNSCACHEPORT", "53") or "53", "DNSCACHEPORT", 1, 65535)
    return servers, port


def make_resolver(environ=None):
    import dns.resolver

    servers, port = settings(environ)
    if not servers:
        return dns.resolver.Resolver()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = servers
    resolver.port = port
    return resolver


def _safe_text(name):
    """Lowercase text of a dns.name.Name, or None if a label is not a host label."""
    labels = [label for label in name.labels if label]
    if not labels or any(not set(label) <= HOST_BYTES for label in labels):
        return None
    return b".".join(labels).decode("ascii").lower()


def _query(resolver, qname, rdtype, timeout):
    import dns.exception
    import dns.resolver

    try:
        return resolver.resolve(qname, rdtype, lifetime=max(timeout, 0.001), search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
        return None
    except dns.exception.Timeout:
        raise LookupFailed("unable to resolve %s: timed out" % qname) from None
    except dns.exception.DNSException as exc:
        raise LookupFailed("unable to resolve %s: %s" % (qname, exc.__class__.__name__)) from None


def reverse_name(resolver, ip, timeout):
    """The PTR name of ip (no root dot, lowercase), or None.

    A name with bytes that cannot be in a host name is treated as no name.
    """
    import dns.reversename

    answer = _query(resolver, dns.reversename.from_address(ip), "PTR", timeout)
    if answer is None:
        return None
    for record in answer:
        return _safe_text(record.target)
    return None


def forward_confirms(resolver, name, ip, timeout):
    """True when name has an A/AAAA record equal to ip (paranoid check)."""
    family, value = addr.parse_ip(ip)
    answer = _query(resolver, name + ".", "A" if family == 4 else "AAAA", timeout)
    return answer is not None and any(addr.parse_ip(r.address) == (family, value) for r in answer)


def addresses(resolver, name, timeout):
    """The IPv4 addresses of name (tcpclient's host lookup), maybe empty."""
    answer = _query(resolver, name.rstrip(".") + ".", "A", timeout)
    return [record.address for record in answer] if answer is not None else []


def txt_bytes(resolver, name, timeout):
    """The TXT records of name, their strings joined in order (as djb's
    dns_txt), or b'' when there is none."""
    answer = _query(resolver, name.rstrip(".") + ".", "TXT", timeout)
    return b"".join(b"".join(record.strings) for record in answer) if answer is not None else b""
