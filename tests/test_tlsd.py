"""tlsd behind tcpserverd, in both modes, against Python's ssl and
openssl s_client: versions, SNI, client certificates, bad clients, the
handshake deadline, renewal, close_notify, bad keys."""

import hashlib
import os
import shutil
import ssl
import subprocess
import tempfile

import pytest

from conftest import run
from servers import Served, prog, serve, wait_for
from tlscerts import Certs
from tlstalk import client_context, old_client_hello, raw_exchange, s_client, talk

# prints what it was told, then echoes what the client sent
SHOW = ["sh", "-c", "echo hello; env | grep -E '^(SSL_|KEYFILE|CERTFILE|CAFILE|PROTO=)' | sort; cat"]
# the same, ending after one line: s_client -quiet never closes its side
SHOW_LINE = SHOW[:2] + [SHOW[2].replace("; cat", "; head -n 1")]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certs(str(tmp_path_factory.mktemp("certs")))


def tls_serve(mode, certs, tlsd_opts=(), env=None, daemon_opts=("-v2",), program=SHOW, unset=()):
    full_env = certs.server_env(CAFILE=certs.ca.cert)
    full_env.update(env or {})
    for name in unset:
        full_env.pop(name)
    return serve(mode, list(daemon_opts), prog("tlsd") + ["-v2", *tlsd_opts] + list(program),
                 env=full_env, unset=unset)


def ctx(certs, **kw):
    return client_context(certs.ca.cert, **kw)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_python_client_both_versions(mode, certs, version):
    served = tls_serve(mode, certs)
    try:
        reply = talk(served.port, ctx(certs, minimum=version, maximum=version), b"ping\n")
        assert reply.error is None, reply.error
        env = reply.env()
        assert reply.data.startswith(b"hello\n") and reply.data.endswith(b"ping\n")
        assert env["SSL_PROTOCOL"] == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
        assert env["SSL_CIPHER"] and env["SSL_TLS_SNI_SERVERNAME"] == "localhost"
        assert env["PROTO"] == "TCP"
        assert "KEYFILE" not in env and "CERTFILE" not in env and "CAFILE" not in env
        assert "SSL_PEER_CERT_HASH" not in env  # no client certificate asked for
    finally:
        served.stop()


def test_keep_environment_with_Z(mode, certs):
    served = tls_serve(mode, certs, ["-Z"])
    try:
        env = talk(served.port, ctx(certs)).env()
        assert env["KEYFILE"] == certs.server_key and env["CAFILE"] == certs.ca.cert
    finally:
        served.stop()


@pytest.mark.parametrize("flag", ["-tls1_2", "-tls1_3"])
@pytest.mark.parametrize("close", ["-S", "-s"])
def test_openssl_s_client(mode, certs, flag, close):
    """With -S the session ends with close_notify; with -s (the default)
    with a plain EOF, which OpenSSL 3's s_client accepts only when told."""
    served = tls_serve(mode, certs, [close], program=SHOW_LINE)
    extra = ["-ignore_unexpected_eof"] if close == "-s" else []
    try:
        code, out, err = s_client(served.port, certs.ca.cert, b"from s_client\n", flag,
                                  "-servername", "localhost", *extra)
        assert code == 0, err
        assert out.startswith(b"hello\n") and out.endswith(b"from s_client\n")
        assert ("SSL_PROTOCOL=%s" % ("TLSv1.2" if flag == "-tls1_2" else "TLSv1.3")).encode() in out
    finally:
        served.stop()


def _subject_cn(der):
    pem = ssl.DER_cert_to_PEM_cert(der)
    shown = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
                           input=pem.encode(), capture_output=True, check=True).stdout.decode()
    return shown.split("CN=")[1].split(",")[0].strip()


def sni_env(certs, default=True):
    env = {} if default else {"KEYFILE": "", "CERTFILE": ""}
    for name, (key, cert) in certs.sni.items():
        env["KEYFILE:" + name], env["CERTFILE:" + name] = key, cert
    return env


@pytest.mark.parametrize("name, expected", [("alpha.test", "alpha.test"),
                                            ("x.beta.test", "*.beta.test"),
                                            ("localhost", "localhost")])
def test_sni_chooses_the_certificate(mode, certs, name, expected):
    served = tls_serve(mode, certs, ["-k", "1"], env=sni_env(certs))
    try:
        reply = talk(served.port, ctx(certs), servername=name)
        assert reply.error is None, reply.error
        assert _subject_cn(reply.cert) == expected
        assert reply.env()["SSL_TLS_SNI_SERVERNAME"] == name
    finally:
        served.stop()


def test_sni_only_refuses_an_unknown_name(mode, certs):
    served = tls_serve(mode, certs, ["-k", "2"], env=sni_env(certs, default=False))
    try:
        assert _subject_cn(talk(served.port, ctx(certs), servername="alpha.test").cert) == "alpha.test"
        reply = talk(served.port, ctx(certs), servername="localhost")
        assert isinstance(reply.error, ssl.SSLError) and "UNRECOGNIZED_NAME" in str(reply.error)
        served.wait_log("tlsd: warning: handshake failed for 127.0.0.1 port ")
    finally:
        served.stop()


@pytest.mark.parametrize("flag", ["-y", "-Y"])
def test_client_certificate_trusted(mode, certs, flag):
    served = tls_serve(mode, certs, [flag])
    try:
        reply = talk(served.port, ctx(certs, certificate=(certs.client_key, certs.client_cert)))
        assert reply.error is None, reply.error
        env = reply.env()
        with open(certs.client_cert) as handle:
            der = ssl.PEM_cert_to_DER_cert(handle.read())
        assert env["SSL_PEER_CERT_HASH"] == "SHA256:" + hashlib.sha256(der).hexdigest()
        assert env["SSL_PEER_CERT_SUBJECT"] == "CN=client one,O=netchain tests"
    finally:
        served.stop()


def test_client_certificate_required_missing_or_untrusted(mode, certs, tmp_path):
    marker = tmp_path / "ran"
    served = tls_serve(mode, certs, ["-y"], program=["sh", "-c", "touch %s; echo ran" % marker])
    try:
        for client in (ctx(certs), ctx(certs, certificate=(certs.rogue_key, certs.rogue_cert))):
            assert b"ran" not in talk(served.port, client, b"x").data
        served.wait_log("tlsd: warning: handshake failed for 127.0.0.1", count=2)
        trusted = ctx(certs, certificate=(certs.client_key, certs.client_cert))
        assert talk(served.port, trusted).data == b"ran\n"  # the same server, a trusted client
        assert marker.exists()
        marker.unlink()
    finally:
        served.stop()
    assert not marker.exists()


def test_client_certificate_optional_absent(mode, certs):
    served = tls_serve(mode, certs, ["-Y"])
    try:
        reply = talk(served.port, ctx(certs))
        assert reply.error is None and "SSL_PEER_CERT_HASH" not in reply.env()
    finally:
        served.stop()


@pytest.mark.parametrize("data", [b"GET / HTTP/1.0\r\n\r\n", bytes(range(256)) * 4,
                                  old_client_hello()])
def test_bad_clients_never_run_the_program(mode, certs, tmp_path, data):
    marker = tmp_path / "ran"
    served = tls_serve(mode, certs, program=["sh", "-c", "touch %s; echo ran" % marker])
    try:
        answer = raw_exchange(served.port, data)
        assert b"ran" not in answer
        if data.startswith(b"\x16\x03\x01"):  # an old version: a protocol_version alert
            assert answer[:2] == b"\x15\x03" and answer[-1] == 70
        served.wait_log("handshake failed for 127.0.0.1")
        assert talk(served.port, ctx(certs)).data == b"ran\n"  # and it keeps serving
        assert marker.exists()
        marker.unlink()
        raw_exchange(served.port, data)
        served.wait_log("handshake failed for 127.0.0.1", count=2)
    finally:
        served.stop()
    assert not marker.exists()


def test_stalled_handshake_is_cut_and_its_slot_freed(mode, certs):
    served = tls_serve(mode, certs, ["-K", "300"], daemon_opts=("-v2", "-c", "1"))
    try:
        with served.connect(timeout=10) as idle:
            assert idle.recv(100) == b""  # cut at -K, no byte sent
        served.wait_log("no TLS handshake within")
        assert talk(served.port, ctx(certs)).data.startswith(b"hello")
    finally:
        served.stop()


def test_renewed_certificate_applies_to_the_next_connection(mode, certs, tmp_path):
    key, cert = str(tmp_path / "key.pem"), str(tmp_path / "cert.pem")
    shutil.copy(certs.server_key, key)
    shutil.copy(certs.server_cert, cert)
    served = tls_serve(mode, certs, env={"KEYFILE": key, "CERTFILE": cert})
    try:
        first = talk(served.port, ctx(certs)).cert
        new_key, new_cert = certs.ca.issue("renewed", "localhost", ("localhost",))
        shutil.copy(new_key, key + ".new")
        shutil.copy(new_cert, cert + ".new")
        os.rename(key + ".new", key)
        os.rename(cert + ".new", cert)
        second = talk(served.port, ctx(certs)).cert
        assert first != second
        with open(new_cert) as handle:
            assert second == ssl.PEM_cert_to_DER_cert(handle.read())
    finally:
        served.stop()


def test_half_close_without_close_notify_gets_the_answer(mode, certs):
    served = tls_serve(mode, certs, program=["sh", "-c", "cat; echo done"])
    try:
        assert talk(served.port, ctx(certs), b"question\n").data == b"question\ndone\n"
    finally:
        served.stop()


def test_J_makes_a_missing_close_notify_an_error(mode, certs, tmp_path):
    got = tmp_path / "got"
    served = tls_serve(mode, certs, ["-J"], program=["sh", "-c", "cat > %s; echo done" % got])
    try:
        reply = talk(served.port, ctx(certs), b"question\n")
        assert b"done" not in reply.data
        served.wait_log("tlsd: warning: session failed for 127.0.0.1 port ")
        talk(served.port, ctx(certs), b"proper\n", close_notify=True)  # close_notify, then EOF
        assert wait_for(lambda: got.exists() and got.read_bytes() == b"proper\n")
    finally:
        served.stop()


def test_S_sends_close_notify(mode, certs):
    served = tls_serve(mode, certs, ["-S"], program=["echo", "bye"])
    try:
        context = ctx(certs)
        context.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF  # a plain EOF would raise
        with served.connect() as raw, context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(100) == b"bye\n"
            assert tls.recv(100) == b""  # close_notify: a clean end
    finally:
        served.stop()


def test_bad_key_files_exec(certs, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    cases = [({"KEYFILE": str(tmp_path / "missing.key"), "CERTFILE": certs.server_cert},
              "tlsd: fatal: unable to read certificate or key "),
             ({"KEYFILE": str(garbage), "CERTFILE": str(garbage)}, "tlsd: fatal: invalid certificate or key "),
             ({}, "tlsd: fatal: CERTFILE is not set")]
    for env, message in cases:
        done = run("tlsd", "true", env=env, unset=("KEYFILE", "CERTFILE"))
        assert done.returncode == 96, done.stderr
        assert done.stderr.decode().startswith(message), done.stderr


def test_usage_errors():
    for args in ([], ["-k", "3", "true"], ["-K", "x", "true"]):
        done = run("tlsd", *args)
        assert done.returncode == 100
        assert done.stderr.decode().startswith("tlsd: usage: tlsd ")


def test_fused_refuses_to_start_with_a_bad_key(certs, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("junk\n")
    done = subprocess.run(prog("tcpserver-bind") + ["127.0.0.1", "0"] + prog("tcpserverd") +
                          prog("tlsd") + ["cat"], capture_output=True, timeout=60,
                          env=dict(os.environ, KEYFILE=str(garbage), CERTFILE=str(garbage),
                                   PYTHONPATH=os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 96
    assert b"invalid certificate or key " + str(garbage).encode() in done.stderr


def test_fused_key_gone_bad_refuses_that_connection(certs, tmp_path):
    key, cert = str(tmp_path / "key.pem"), str(tmp_path / "cert.pem")
    shutil.copy(certs.server_key, key)
    shutil.copy(certs.server_cert, cert)
    served = tls_serve([], certs, env={"KEYFILE": key, "CERTFILE": cert})
    try:
        with open(cert + ".new", "w") as handle:
            handle.write("broken\n")
        os.rename(cert + ".new", cert)
        reply = talk(served.port, ctx(certs))
        assert reply.error is not None or reply.data == b""
        served.wait_log("tlsd: warning: refusing 127.0.0.1 port ", "invalid certificate or key")
        shutil.copy(certs.server_cert, cert + ".new")
        os.rename(cert + ".new", cert)
        assert talk(served.port, ctx(certs)).data.startswith(b"hello")
    finally:
        served.stop()


def test_world_readable_key_is_warned_about(mode, certs, tmp_path):
    key = str(tmp_path / "open.key")
    shutil.copy(certs.server_key, key)
    os.chmod(key, 0o644)
    served = tls_serve(mode, certs, env={"KEYFILE": key})
    try:
        talk(served.port, ctx(certs))
        served.wait_log("tlsd: warning: private key %s is readable by everyone" % key)
    finally:
        served.stop()


@pytest.mark.skipif(os.getuid() != 0, reason="dropping to TLS_UID needs root")
def test_relay_runs_as_TLS_UID(certs):
    nobody = 65534
    show_children = "for c in $(cat /proc/$$/task/$$/children); do stat -c %u /proc/$c; done"
    served = tls_serve(["-X"], certs, env={"TLS_UID": str(nobody), "TLS_GID": str(nobody)},
                       program=["sh", "-c", "id -u; " + show_children])
    try:
        lines = talk(served.port, ctx(certs)).data.split()
        assert lines[0] == b"0" and str(nobody).encode() in lines[1:]
    finally:
        served.stop()


def test_fused_costs_no_process_for_a_failed_handshake(certs):
    served = tls_serve([], certs)
    try:
        raw_exchange(served.port, b"plain text\n")
        served.wait_log("refused 127.0.0.1 port ", " by tlsd exitcode 98")
        assert "allow" not in served.log()  # a spawn would have logged it before the refusal
    finally:
        served.stop()


def test_client_certificates_against_a_CA_directory(mode, certs, tmp_path):
    cadir = tmp_path / "cas"
    cadir.mkdir()
    shutil.copy(certs.ca.cert, cadir / "one.pem")  # no hash links: every file is read
    served = tls_serve(mode, certs, ["-y"], env={"CADIR": str(cadir)}, unset=("CAFILE",))
    try:
        good = talk(served.port, ctx(certs, certificate=(certs.client_key, certs.client_cert)))
        assert good.env()["SSL_PEER_CERT_SUBJECT"] == "CN=client one,O=netchain tests"
        assert "CADIR" not in good.env()
        rogue = talk(served.port, ctx(certs, certificate=(certs.rogue_key, certs.rogue_cert)))
        assert b"hello" not in rogue.data
    finally:
        served.stop()


@pytest.mark.skipif(os.getuid() != 0, reason="a privilege drop needs root")
def test_key_read_before_the_privilege_drop(certs, tmp_path):
    """Fused: the daemon reads the key as root, then serves as nobody from
    what it read (the key's directory is out of nobody's sight)."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    key, cert = str(private / "key.pem"), str(private / "cert.pem")
    shutil.copy(certs.server_key, key)
    shutil.copy(certs.server_cert, cert)
    argv = prog("tcpserver-bind") + ["-u", "65534", "-g", "65534", "127.0.0.1", "0"] + \
        prog("tcpserverd") + ["-1", "-v2"] + prog("tlsd") + ["sh", "-c", "id -u"]
    served = Served(argv, env={"KEYFILE": key, "CERTFILE": cert})
    try:
        for _ in range(2):
            assert talk(served.port, ctx(certs)).data == b"65534\n"
    finally:
        served.stop()


@pytest.mark.skipif(os.getuid() != 0, reason="a privilege drop needs root")
def test_renewal_the_service_user_cannot_read_keeps_the_old_certificate(certs, tmp_path):
    """Fused, after a drop to nobody: new files that nobody may read are
    noticed (their identity changed), warned about, and the certificate
    read before the drop goes on serving; never a connection without TLS."""
    private = tempfile.mkdtemp(prefix="netchain-keys-")  # under /tmp: a path nobody can walk
    os.chmod(private, 0o711)  # others may reach the files, not read them
    key, cert = os.path.join(private, "key.pem"), os.path.join(private, "cert.pem")
    shutil.copy(certs.server_key, key)
    shutil.copy(certs.server_cert, cert)
    os.chmod(cert, 0o600)
    argv = prog("tcpserver-bind") + ["-u", "65534", "-g", "65534", "127.0.0.1", "0"] + \
        prog("tcpserverd") + ["-1", "-v2"] + prog("tlsd") + ["echo", "hello"]
    served = Served(argv, env={"KEYFILE": key, "CERTFILE": cert})
    try:
        first = talk(served.port, ctx(certs))
        assert first.data == b"hello\n"
        new_key, new_cert = certs.ca.issue("unreadable", "localhost", ("localhost",))
        for source, target in ((new_key, key), (new_cert, cert)):
            shutil.copy(source, target + ".new")
            os.chmod(target + ".new", 0o600)
            os.rename(target + ".new", target)
        second = talk(served.port, ctx(certs))
        assert second.data == b"hello\n" and second.cert == first.cert
        served.wait_log("tlsd: warning: unable to read certificate or key ",
                        "still serving the certificate read before")
        talk(served.port, ctx(certs))
        assert served.log().count("still serving the certificate read before") == 1
    finally:
        served.stop()
        shutil.rmtree(private)
