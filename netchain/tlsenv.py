"""What a program behind tlsd or tlsc is told about its TLS session.

SSL_PROTOCOL, SSL_CIPHER, SSL_TLS_SNI_SERVERNAME and the peer
certificate's SSL_PEER_CERT_HASH and SSL_PEER_CERT_SUBJECT (doc/tlsd.md),
made only after a completed handshake, in exec and fused mode alike.
"""

import hashlib
import ssl


def session_environment(tls):
    """SSL_PROTOCOL, SSL_CIPHER, and when present SSL_TLS_SNI_SERVERNAME
    and the peer certificate's SHA-256 and subject."""
    env = {"SSL_PROTOCOL": tls.version() or "", "SSL_CIPHER": (tls.cipher() or ("",))[0]}
    name = getattr(tls, "sni_name", None) if tls.server_side else tls.server_hostname
    if name:
        env["SSL_TLS_SNI_SERVERNAME"] = name
    der = tls.getpeercert(binary_form=True)
    if der:
        env["SSL_PEER_CERT_HASH"] = "SHA256:" + hashlib.sha256(der).hexdigest()
        subject = (tls.getpeercert() or {}).get("subject")
        if subject:
            env["SSL_PEER_CERT_SUBJECT"] = rfc4514(subject)
    return env


SHORT_NAMES = {"commonName": "CN", "countryName": "C", "localityName": "L",
               "stateOrProvinceName": "ST", "organizationName": "O",
               "organizationalUnitName": "OU", "domainComponent": "DC", "userId": "UID",
               "streetAddress": "STREET"}


def rfc4514(subject):
    """A subject as ssl gives it (RDNs, most significant first) in RFC 4514
    text (least significant first, special characters escaped)."""
    return ",".join("+".join("%s=%s" % (SHORT_NAMES.get(kind, kind), _escape(value))
                             for kind, value in rdn) for rdn in reversed(subject))


def _escape(value):
    out = "".join("\\" + char if char in ',+"\\<>;=' else ("\\00" if char == "\0" else char)
                  for char in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


def provider_text(env):
    """indimail's TLS_PROVIDER (tcpserver -z): the library and the session."""
    return "%s, %s, cipher %s" % (ssl.OPENSSL_VERSION, env.get("SSL_PROTOCOL", ""),
                                  env.get("SSL_CIPHER", ""))


def apply(env, told):
    """Add the session's variables (told) to env; fill in TLS_PROVIDER
    when the environment has it (set empty by tcpserver -z)."""
    env.update(told)
    if "TLS_PROVIDER" in env:
        env["TLS_PROVIDER"] = provider_text(env)
