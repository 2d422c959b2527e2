"""proxy-server: take the real client from a PROXY protocol header.

    proxy-server [ -1 | -2 ] [ -t timeout ] [ -a cidr,... ] [ -v verbosity ] prog...

Placed right after tcpserverd (behind HAProxy or any proxy speaking the
PROXY protocol), so that tcp-env, IDENT, the rules and connlimit see the
real client: reads the header (exactly its bytes), sets TCPREMOTEIP/PORT
and TCPLOCALIP/PORT from it, keeps the proxy's own address in
PROXYREMOTEIP/PROXYREMOTEPORT, unsets TCPREMOTEHOST, TCPREMOTEINFO and
TCPLOCALHOST, and exports the TLVs s6's proxy-server does.  A peer that is
not trusted (-a), an invalid header, or none before the deadline: the
connection is refused (exit 1) with one log line saying why.
"""

import sys
import time

from . import addr, chain, conn, errors, options, proxyproto

PROG = "proxy-server"
# The stage replaces the client's address: in fused mode the daemon's
# per-IP limit (-C) and TCPCONNNUM are applied here, to the real client.
REKEYS = True
USAGE = "proxy-server [ -1 | -2 ] [ -t timeout ] [ -a cidr,... ] [ -v verbosity ] prog..."
NAMES_FROM_THE_PROXY = ("TCPREMOTEHOST", "TCPREMOTEINFO", "TCPLOCALHOST")


class Config:
    def __init__(self, opts):
        self.versions, self.timeout, self.trusted, self.verbosity = (1, 2), 5.0, None, 1
        for flag, value in opts:
            if flag in ("-1", "-2"):
                self.versions = (int(flag[1]),)
            elif flag == "-t":
                self.timeout = options.number(value, "-t") / 1000
            elif flag == "-v":
                self.verbosity = options.number(value, "-v")
            elif flag == "-a":
                self.trusted = [_network(text) for text in value.split(",") if text]


def _network(text):
    try:
        family, network, length, _ = addr.parse_network(text)
    except ValueError:
        raise errors.UsageError("-a takes addresses or networks: %r" % text) from None
    return family, network, addr.mask(family, length)


def parse(argv):
    opts, rest = options.parse(argv, "12t:a:v:")
    return Config(opts), rest


def may_block(config):
    return True


def _trusted(config, ip):
    if config.trusted is None:
        return True
    family, value = addr.parse_ip(ip)
    return any(family == net_family and value & mask == network
               for net_family, network, mask in config.trusted)


def _refuse(config, why, peer):
    raise errors.Denied(("warning: refused %s: %s" % (peer, why)) if config.verbosity >= 1 else "")


def step(config, ctx, argv):
    """Replace the TCP endpoints with the header's.  Raises Denied (exit
    1, one log line) for an untrusted peer, an invalid header or none
    before -t; BadInput (100) for invalid TCP variables.  Waits on the
    network (may_block)."""
    conn.fill_from_socket(ctx)
    env = ctx.env
    peer, peer_port = env["TCPREMOTEIP"], env["TCPREMOTEPORT"]
    if not _trusted(config, peer):
        _refuse(config, "not a trusted proxy", peer)
    deadline = time.monotonic() + config.timeout
    try:
        header = proxyproto.read_header(ctx.fd, deadline, config.versions)
    except proxyproto.Invalid as exc:
        _refuse(config, "invalid PROXY header: %s" % exc, peer)
    except TimeoutError:
        _refuse(config, "no PROXY header within %d ms" % (config.timeout * 1000), peer)
    if header.local:
        return argv  # the proxy speaks for itself (a health check): real endpoints
    if ctx.slot is not None:  # fused: count the real client, not the proxy
        count = ctx.slot.move(header.remote_ip)
        if count is None:
            _refuse(config, "per-IP limit reached for %s" % header.remote_ip, peer)
        env["TCPCONNNUM"] = str(count)
    env["PROXYREMOTEIP"], env["PROXYREMOTEPORT"] = peer, peer_port
    env["TCPREMOTEIP"], env["TCPREMOTEPORT"] = header.remote_ip, str(header.remote_port)
    env["TCPLOCALIP"], env["TCPLOCALPORT"] = header.local_ip, str(header.local_port)
    for name in NAMES_FROM_THE_PROXY:
        env.pop(name, None)
    env.update(proxyproto.tlv_environment(header.tlvs))
    return argv


def main(argv):
    return chain.run_alone(sys.modules[__name__], argv)
