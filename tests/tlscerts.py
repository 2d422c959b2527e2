"""Test certificates, made by Debian's openssl command in a temporary
directory (never committed): a CA, server certificates for names, client
certificates, and a second CA nobody trusts.  ECDSA P-256 keys."""

import os
import subprocess


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class Authority:
    """A CA in directory/name.{key,pem} that signs leaf certificates."""

    def __init__(self, directory, name="ca"):
        self.directory, self.name = directory, name
        self.key = os.path.join(directory, name + ".key")
        self.cert = os.path.join(directory, name + ".pem")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                 "-subj", "/O=netchain tests/CN=%s" % name, cwd=directory)
        os.chmod(self.key, 0o600)

    def issue(self, stem, common_name, names=(), client=False, days=2):
        """(key, cert) paths for a leaf named common_name (DNS names and
        IP addresses in names go into subjectAltName)."""
        key = os.path.join(self.directory, stem + ".key")
        cert = os.path.join(self.directory, stem + ".pem")
        request = os.path.join(self.directory, stem + ".csr")
        extensions = os.path.join(self.directory, stem + ".ext")
        alt = ",".join(("IP:%s" if _is_ip(name) else "DNS:%s") % name for name in names)
        with open(extensions, "w") as handle:
            handle.write("basicConstraints=CA:FALSE\n")
            handle.write("extendedKeyUsage=%s\n" % ("clientAuth" if client else "serverAuth"))
            if alt:
                handle.write("subjectAltName=%s\n" % alt)
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", request, "-subj", "/O=netchain tests/CN=%s" % common_name,
                 cwd=self.directory)
        _openssl("x509", "-req", "-in", request, "-CA", self.cert, "-CAkey", self.key,
                 "-CAcreateserial", "-out", cert, "-days", str(days), "-extfile", extensions,
                 cwd=self.directory)
        os.chmod(key, 0o600)
        return key, cert

    def combined(self, stem, common_name, names=()):
        """One PEM holding key and certificate (indimail's -n certfile)."""
        key, cert = self.issue(stem, common_name, names)
        path = os.path.join(self.directory, stem + ".both.pem")
        with open(path, "w") as out, open(key) as key_in, open(cert) as cert_in:
            out.write(key_in.read() + cert_in.read())
        os.chmod(path, 0o600)
        return path


def _is_ip(name):
    return name.replace(".", "").isdigit() or ":" in name


class Certs:
    """What most TLS tests use: a trusted CA, a server certificate for
    localhost and 127.0.0.1, SNI certificates, a client certificate, and
    an untrusted CA with a client certificate of its own."""

    def __init__(self, directory):
        self.directory = directory
        self.ca = Authority(directory, "ca")
        self.server_key, self.server_cert = self.ca.issue("server", "localhost",
                                                          ("localhost", "127.0.0.1"))
        self.sni = {name: self.ca.issue("sni-" + name.replace("*", "star"), name, (name,))
                    for name in ("alpha.test", "*.beta.test")}
        self.client_key, self.client_cert = self.ca.issue("client", "client one", client=True)
        self.rogue = Authority(directory, "rogue")
        self.rogue_key, self.rogue_cert = self.rogue.issue("rogue-client", "intruder", client=True)

    def server_env(self, **extra):
        env = {"KEYFILE": self.server_key, "CERTFILE": self.server_cert}
        env.update(extra)
        return env

    def client_context(self, certificate=False, servername_check=True):
        import ssl

        context = ssl.create_default_context(cafile=self.ca.cert)
        context.check_hostname = servername_check
        if certificate:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


def revocation_list(authority, revoked, path):
    """A CRL from authority listing the certificates in revoked (paths):
    openssl ca with a throwaway database in the CA's directory."""
    base = os.path.join(authority.directory, "crl-db")
    os.makedirs(base, exist_ok=True)
    index, config = os.path.join(base, "index.txt"), os.path.join(base, "ca.cnf")
    open(index, "w").close()
    with open(config, "w") as handle:
        handle.write("[ca]\ndefault_ca = tests\n[tests]\ndatabase = %s\ncrlnumber = %s\n"
                     "default_md = sha256\ndefault_crl_days = 2\n"
                     % (index, os.path.join(base, "crlnumber")))
    with open(os.path.join(base, "crlnumber"), "w") as handle:
        handle.write("01\n")
    for cert in revoked:
        _openssl("ca", "-config", config, "-keyfile", authority.key, "-cert", authority.cert,
                 "-revoke", cert, cwd=base)
    _openssl("ca", "-config", config, "-keyfile", authority.key, "-cert", authority.cert,
             "-gencrl", "-out", path, cwd=base)
    return path
