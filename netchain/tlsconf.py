"""The TLS settings a connection is served with, read from its environment.

The one owner of the variables tlsd, tlsc and tcpserverd's fused TLS
read (doc/tlsd.md): KEYFILE/CERTFILE and their SNI pairs
KEYFILE:name/CERTFILE:name, CAFILE/CADIR, CLIENTCRL, TLS_CIPHER_LIST,
TLS_METHOD, TLS_RENEGOTIATION; and of the ssl.SSLContext made from them.
Contexts keeps each context until one of its files changes identity, so
a renewed certificate renamed into place applies to the next connection
and an unchanged one is never read again.
"""

import errno
import os
import ssl
import stat

from . import errors

# removed from the program's environment unless -Z (s6-tlsd's list)
CONSUMED = ("CADIR", "CAFILE", "TLS_UID", "TLS_GID")
CONSUMED_PREFIXES = ("CERTFILE", "KEYFILE")
METHODS = {None: (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3),
           "SSLv23": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3),
           "TLSv1_2": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
           "TLSv1_3": (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)}
NO_CERTIFICATE, ASK_CERTIFICATE, REQUIRE_CERTIFICATE = 0, 1, 2


class Policy:
    """What the options say: the side, client certificates (-Y ask, -y
    require), the SNI level (-k), -J (a missing close_notify is an error)."""

    def __init__(self, server_side, verify=NO_CERTIFICATE, sni_level=0, strict_eof=False,
                 servername=None):
        self.server_side, self.verify, self.sni_level = server_side, verify, sni_level
        self.strict_eof, self.servername = strict_eof, servername


def names_certificate(env):
    """Whether env names a certificate (the plain one or an SNI pair)."""
    return any(name.split(":", 1)[0] == "CERTFILE" for name in env)


def strip_environment(env):
    """Remove the key, certificate and CA variables (tlsd/tlsc without -Z)."""
    for name in list(env):
        if name in CONSUMED or name.split(":", 1)[0] in CONSUMED_PREFIXES:
            del env[name]


class Sources:
    """The files and settings one connection's environment names."""

    def __init__(self, env, policy):
        self.pairs = {}  # None: the plain pair; a name: its SNI pair
        if policy.sni_level < 2 or not policy.server_side:
            self._pair(env, None, "KEYFILE", "CERTFILE", required=policy.server_side
                       and policy.sni_level == 0)
        if policy.sni_level and policy.server_side:
            for name in sorted(env):
                if name.startswith("CERTFILE:"):
                    server = name[len("CERTFILE:"):]
                    self._pair(env, server.lower(), "KEYFILE:" + server, name, required=True)
            if not self.pairs:
                raise errors.TlsConfigError("-k given but no KEYFILE/CERTFILE pair is set")
        self.cafile, self.cadir = env.get("CAFILE") or None, env.get("CADIR") or None
        self.crlfile = env.get("CLIENTCRL") or None
        self.ciphers = env.get("TLS_CIPHER_LIST") or None
        self.method = env.get("TLS_METHOD") or None
        self.renegotiation = bool(env.get("TLS_RENEGOTIATION"))
        if self.method not in METHODS:
            raise errors.TlsConfigError("TLS_METHOD %s is not supported: TLS 1.2 and 1.3 only"
                                        " (SSLv23, TLSv1_2, TLSv1_3)" % self.method)
        if policy.verify and not (self.cafile or self.cadir):
            raise errors.TlsConfigError("client certificates asked for but neither CAFILE nor"
                                        " CADIR is set")

    def _pair(self, env, server, key_name, cert_name, required):
        key, cert = env.get(key_name), env.get(cert_name)
        if not key and not cert and not required:
            return
        if not cert:
            raise errors.TlsConfigError("%s is not set" % cert_name)
        self.pairs[server] = (key or cert, cert)  # indimail's PEM holds both

    def key(self):
        """What identifies these sources (the cache key)."""
        return (tuple(sorted(self.pairs.items(), key=lambda item: item[0] or "")),
                self.cafile, self.cadir, self.crlfile, self.ciphers, self.method,
                self.renegotiation)

    def files(self):
        """Every file the context is made from (a CA directory's files too)."""
        names = [path for pair in self.pairs.values() for path in pair]
        names += [path for path in (self.cafile, self.crlfile) if path]
        if self.cadir:
            names.append(self.cadir)
            names += ca_directory_files(self.cadir)
        return names


def ca_directory_files(directory):
    """The files of a CA directory (one PEM per file; no c_rehash needed)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise _unreadable("CADIR " + directory, exc) from None
    return [os.path.join(directory, name) for name in names if not name.startswith(".")]


def identity(paths):
    """What changes when any of paths is replaced or rewritten."""
    seen = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError as exc:
            raise _unreadable(path, exc) from None
        seen.append((path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns,
                     info.st_ctime_ns))
    return tuple(seen)


def _load(what, path, action):
    """action() reading path; TlsConfigError naming the file if it fails."""
    try:
        action()
    except (ssl.SSLError, ValueError) as exc:  # before OSError: SSLError is one
        raise errors.TlsConfigError("invalid %s %s: %s"
                                    % (what, path, getattr(exc, "reason", None) or exc)) from None
    except OSError as exc:
        raise _unreadable("%s %s" % (what, path), exc) from None


def _unreadable(what, exc):
    """TlsConfigError for a file that could not be read, carrying its errno
    (Contexts tells a file out of this user's sight from a broken one)."""
    failure = errors.TlsConfigError("unable to read %s: %s" % (what, exc.strerror or exc))
    failure.errno = exc.errno
    return failure


def _base_context(sources, policy):
    """A context with everything but the certificate pair."""
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if policy.server_side
                                 else ssl.PROTOCOL_TLS_CLIENT)
    except ssl.SSLError as exc:
        failure = errors.NetchainError("unable to set up the TLS library: %s" % exc,
                                       errors.TLS_ENGINE)
        raise failure from None
    context.minimum_version, context.maximum_version = METHODS[sources.method]
    if not policy.strict_eof:
        context.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
    if not sources.renegotiation:
        context.options |= ssl.OP_NO_RENEGOTIATION
    if sources.ciphers:
        _load("TLS_CIPHER_LIST", repr(sources.ciphers),
              lambda: context.set_ciphers(sources.ciphers))
    if sources.cafile:
        _load("CAFILE", sources.cafile, lambda: context.load_verify_locations(sources.cafile))
    if sources.cadir:
        for path in ca_directory_files(sources.cadir):
            _load("CA file", path, lambda path=path: context.load_verify_locations(cadata=_read_text(path)))
    if sources.crlfile:
        _load("CLIENTCRL", sources.crlfile,
              lambda: context.load_verify_locations(sources.crlfile))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if policy.server_side:
        context.verify_mode = (ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED)[policy.verify]
    else:
        context.check_hostname = bool(policy.servername)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _read_text(path):
    with open(path, encoding="ascii", errors="replace") as handle:
        return handle.read()


def _load_pair(context, pair, warn):
    key, cert = pair
    _load("certificate or key", "%s/%s" % (cert, key) if key != cert else cert,
          lambda: context.load_cert_chain(cert, key))
    try:
        if os.stat(key).st_mode & stat.S_IROTH and warn:
            warn("private key %s is readable by everyone" % key)
    except OSError:
        pass


def make_context(sources, policy, warn=None):
    """The SSLContext for sources; with SNI pairs, a callback switches each
    handshake to its name's context and remembers the name it was sent.
    Raises TlsConfigError (96) naming a file that cannot be used."""
    context = _base_context(sources, policy)
    if None in sources.pairs:
        _load_pair(context, sources.pairs[None], warn)
    if not policy.server_side:
        return context
    by_name = {}
    for name, pair in sources.pairs.items():
        if name is not None:
            by_name[name] = _base_context(sources, policy)
            _load_pair(by_name[name], pair, warn)
    fallback = None in sources.pairs

    def choose(sslobj, servername, _context):
        sslobj.sni_name = servername
        chosen = by_name.get(servername.lower()) if servername else None
        if chosen is None and servername and "." in servername:
            chosen = by_name.get("*." + servername.lower().split(".", 1)[1])
        if chosen is not None:
            sslobj.context = chosen
        elif not fallback:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        return None

    context.sni_callback = choose
    return context


class Contexts:
    """Contexts by the sources an environment names, each kept until one
    of its files changes (a stat per file per connection, nothing read)."""

    def __init__(self, policy, warn=None):
        self.policy, self.warn, self.kept = policy, warn, {}
        self.warned = set()  # sources already said to be out of this user's sight

    def _out_of_sight(self, key, kept, exc):
        """After a privilege drop the files may be out of sight (EACCES):
        keep what was read before, and say so once.  Anything else (a
        file gone or broken) is refused: never serve without TLS."""
        if kept is None or getattr(exc, "errno", None) != errno.EACCES:
            raise exc
        if self.warn and key not in self.warned:
            self.warned.add(key)
            self.warn("%s; still serving the certificate read before" % exc)
        return kept[1]

    def context_for(self, env):
        sources = Sources(env, self.policy)
        key = sources.key()
        kept = self.kept.get(key)
        try:
            now = identity(sources.files())
        except errors.TlsConfigError as exc:
            return self._out_of_sight(key, kept, exc)
        if kept is not None and kept[0] == now:
            return kept[1]
        try:
            context = make_context(sources, self.policy, self.warn)
        except errors.TlsConfigError as exc:
            context = self._out_of_sight(key, kept, exc)
        if len(self.kept) > 64:  # rules naming many pairs: keep the cache bounded
            self.kept.clear()
        self.kept[key] = (now, context)
        return context
