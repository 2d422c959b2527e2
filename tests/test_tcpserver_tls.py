"""The tcpserver front end's TLS options (indimail's): -n, -s, -i, -a,
-L, -f, -M, -N, -S, -z; they add tlsd to the chain."""

import shutil
import ssl

import pytest

from conftest import run
from servers import Served, prog
from tlscerts import Certs, revocation_list
from tlstalk import client_context, talk

SHOW = ["sh", "-c", "echo $PROTO $TCPREMOTEIP; env | grep -E '^(SSL_|TLS_PROVIDER)' | sort; cat"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certs(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="module")
def combined(certs):
    return certs.ca.combined("front", "localhost", ("localhost", "127.0.0.1"))


def front(options, env=None, program=SHOW):
    return Served(prog("tcpserver") + ["-1", "-HRl0"] + list(options) + ["127.0.0.1", "0"] +
                  program, env=env, unset=("CERTDIR", "TLS_CERTFILE", "CLIENTCA", "CLIENTCRL",
                                           "TLS_CIPHER_LIST"))


def ctx(certs, **kw):
    return client_context(certs.ca.cert, **kw)


def test_n_certfile_serves_tls(certs, combined):
    served = front(["-n", combined])
    try:
        reply = talk(served.port, ctx(certs), b"over tls\n")
        assert reply.error is None, reply.error
        assert reply.data.startswith(b"TCP 127.0.0.1\n") and reply.data.endswith(b"over tls\n")
        assert reply.env()["SSL_PROTOCOL"] == "TLSv1.3"
        assert "TLS_PROVIDER" not in reply.env()
    finally:
        served.stop()


@pytest.mark.parametrize("how", ["-s -i", "-s CERTDIR", "-n '' TLS_CERTFILE"])
def test_certificate_from_the_cert_directory(certs, combined, tmp_path, how):
    certdir = tmp_path / "certs"
    certdir.mkdir()
    name = "other.pem" if "TLS_CERTFILE" in how else "servercert.pem"
    shutil.copy(combined, certdir / name)
    options, env = {"-s -i": (["-s", "-i", str(certdir)], {}),
                    "-s CERTDIR": (["-s"], {"CERTDIR": str(certdir)}),
                    "-n '' TLS_CERTFILE": (["-n", ""], {"TLS_CERTFILE": str(certdir / name)})}[how]
    served = front(options, env=env)
    try:
        assert talk(served.port, ctx(certs)).env()["SSL_PROTOCOL"] == "TLSv1.3"
    finally:
        served.stop()


def test_a_cafile_asks_for_a_client_certificate(certs, combined):
    served = front(["-n", combined, "-a", certs.ca.cert])
    try:
        with_cert = talk(served.port, ctx(certs, certificate=(certs.client_key, certs.client_cert)))
        assert with_cert.env()["SSL_PEER_CERT_SUBJECT"] == "CN=client one,O=netchain tests"
        without = talk(served.port, ctx(certs))
        assert without.error is None and "SSL_PEER_CERT_SUBJECT" not in without.env()
        rogue = talk(served.port, ctx(certs, certificate=(certs.rogue_key, certs.rogue_cert)))
        assert b"TCP" not in rogue.data
    finally:
        served.stop()


def test_L_crlfile_refuses_a_revoked_client(certs, combined, tmp_path):
    revoked_key, revoked_cert = certs.ca.issue("revoked", "revoked one", client=True)
    crl = revocation_list(certs.ca, [revoked_cert], str(tmp_path / "crl.pem"))
    served = front(["-v", "-n", combined, "-a", certs.ca.cert, "-L", crl])
    try:
        good = talk(served.port, ctx(certs, certificate=(certs.client_key, certs.client_cert)))
        assert good.env()["SSL_PEER_CERT_SUBJECT"] == "CN=client one,O=netchain tests"
        bad = talk(served.port, ctx(certs, certificate=(revoked_key, revoked_cert)))
        assert b"TCP" not in bad.data
        served.wait_log("tlsd: warning: handshake failed for 127.0.0.1 port ", "revoked")
    finally:
        served.stop()


def test_f_ciphers_and_M_method(certs, combined):
    served = front(["-n", combined, "-M", "TLSv1_2", "-f", "ECDHE-ECDSA-AES128-GCM-SHA256"])
    try:
        env = talk(served.port, ctx(certs)).env()
        assert (env["SSL_PROTOCOL"], env["SSL_CIPHER"]) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")
        only13 = talk(served.port, ctx(certs, minimum=ssl.TLSVersion.TLSv1_3))
        assert only13.error is not None
    finally:
        served.stop()


@pytest.mark.parametrize("method", ["TLSv1", "TLSv1_1", "SSLv3", "bogus"])
def test_old_methods_are_refused_at_start(combined, method):
    done = run("tcpserver", "-n", combined, "-M", method, "127.0.0.1", "0", "true")
    assert done.returncode == 100
    assert b"tcpserver: fatal: -M %s is not supported" % method.encode() in done.stderr


def test_z_sets_TLS_PROVIDER(certs, combined):
    served = front(["-z", "-n", combined])
    try:
        provider = talk(served.port, ctx(certs)).env()["TLS_PROVIDER"]
        assert provider.startswith(ssl.OPENSSL_VERSION) and "TLSv1.3" in provider
    finally:
        served.stop()


def test_S_handshake_timeout(certs, combined):
    served = front(["-v", "-S", "1", "-n", combined])
    try:
        with served.connect(timeout=30) as idle:
            assert idle.recv(10) == b""  # cut after 1 s, not 60
        served.wait_log("no TLS handshake within 1 s")
    finally:
        served.stop()


def test_N_allows_renegotiation():
    from netchain import tcpserver, tlsconf

    policy = tlsconf.Policy(True)
    for options, allowed in ((["-N"], True), ([], False)):
        plan = tcpserver.Plan(["tcpserver"] + options + ["-n", "/x.pem", "127.0.0.1", "0", "true"])
        sources = tlsconf.Sources(plan.tls_env, policy)
        context = tlsconf._base_context(sources, policy)
        assert bool(context.options & ssl.OP_NO_RENEGOTIATION) is not allowed


def test_missing_certificate_is_exit_96(tmp_path):
    done = run("tcpserver", "-n", str(tmp_path / "none.pem"), "127.0.0.1", "0", "true")
    assert done.returncode == 96
    assert done.stderr.startswith(b"tcpserver: fatal: unable to read certificate or key %s: "
                                  % str(tmp_path / "none.pem").encode())
