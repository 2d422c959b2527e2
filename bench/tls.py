"""Benchmark: TLS, netchain's tlsd against Debian's stunnel4, one run.

    .venv/bin/python bench/tls.py [--seconds 5] [--clients 8] [--rounds 3]
                                  [--bytes 67108864] [--only ROW,...]

Both terminate TLS 1.3 with the same ECDSA P-256 certificate (made with
openssl in a temporary directory) for the same program on 127.0.0.1:

- handshakes: CLIENTS threads of bench/tlsload.c (C, OpenSSL; built with
  cc) each connect, do a full handshake (no resumption), read the
  program's "hello" to EOF and close, for SECONDS; `/bin/echo hello` is
  spawned per connection by both.
- bulk: one connection through which the program (`head -c BYTES
  /dev/zero`) sends BYTES, five times in a row; MiB/s at the client.

Rows run ROUNDS times interleaved; figures are medians, ratios are the
medians of per-round ratios to stunnel, with their range.  The CPU
columns (seconds per handshake, or per GiB) are the server's (daemon and
children) and the load generator's, to show where the two cores went and
that the load generator is not what limits.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv", "bin")
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from serve import cpu_of, free_port, wait_listening  # noqa: E402
from tlscerts import Authority  # noqa: E402

STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel")
BULK_TRANSFERS = 5


def stunnel_argv(work, key, cert, program):
    def argv(port):
        config = os.path.join(work, "stunnel-%d.conf" % port)
        with open(config, "w") as handle:
            handle.write("foreground = yes\npid =\nsyslog = no\ndebug = 0\n"
                         "output = %s\n[bench]\naccept = 127.0.0.1:%d\nexec = %s\n"
                         "execArgs = %s\ncert = %s\nkey = %s\nsslVersionMin = TLSv1.3\n"
                         % (os.path.join(work, "stunnel.log"), port, shutil.which(program[0]),
                            " ".join(program), cert, key))
        return [STUNNEL, config]
    return argv


def netchain_argv(program, fused=True):
    def argv(port):
        daemon = [os.path.join(VENV, "tcpserverd"), "-c", "100"] + ([] if fused else ["-X"])
        return [os.path.join(VENV, "tcpserver-bind"), "127.0.0.1", str(port)] + daemon + \
            [os.path.join(VENV, "tlsd")] + program
    return argv


def started(argv_for_port, env):
    port = free_port()
    proc = subprocess.Popen(argv_for_port(port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    wait_listening(port, proc)
    return port, proc


def stopped(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def handshakes(argv_for_port, env, args):
    port, proc = started(argv_for_port, env)
    try:
        before = cpu_of(proc.pid)
        out = subprocess.run([args.tlsload, "handshakes", str(port), str(args.seconds),
                              str(args.clients), args.ca], capture_output=True, check=True,
                             text=True).stdout.split()
        server_cpu = cpu_of(proc.pid) - before
    finally:
        stopped(proc)
    count, errors, client_cpu = int(out[0]), int(out[1]), float(out[2])
    return {"rate": count / args.seconds, "errors": errors,
            "server_ms": 1000 * server_cpu / max(count, 1),
            "client_ms": 1000 * client_cpu / max(count, 1)}


def bulk(argv_for_port, env, args):
    """BULK_TRANSFERS connections one after the other (one alone lasts a
    tenth of a second: too short to time on a noisy machine)."""
    port, proc = started(argv_for_port, env)
    got = seconds = client_cpu = errors = 0
    try:
        before = cpu_of(proc.pid)
        for _ in range(BULK_TRANSFERS):
            out = subprocess.run([args.tlsload, "bulk", str(port), str(args.bytes), args.ca],
                                 capture_output=True, check=True, text=True).stdout.split()
            got += int(out[0])
            seconds += float(out[1])
            client_cpu += float(out[2])
            errors += int(int(out[0]) != args.bytes)
        server_cpu = cpu_of(proc.pid) - before
    finally:
        stopped(proc)
    gib = got / 2 ** 30
    return {"rate": got / 2 ** 20 / seconds, "errors": errors,
            "server_ms": 1000 * server_cpu / gib, "client_ms": 1000 * client_cpu / gib}


def rows(work, key, cert, args):
    echo, zeros = ["echo", "hello"], ["head", "-c", str(args.bytes), "/dev/zero"]
    table = [("handshakes: stunnel4", handshakes, stunnel_argv(work, key, cert, echo)),
             ("handshakes: tlsd fused", handshakes, netchain_argv(echo)),
             ("handshakes: tlsd -X", handshakes, netchain_argv(echo, fused=False)),
             ("bulk: stunnel4", bulk, stunnel_argv(work, key, cert, zeros)),
             ("bulk: tlsd fused", bulk, netchain_argv(zeros)),
             ("bulk: tlsd -X", bulk, netchain_argv(zeros, fused=False))]
    return [row for row in table if not args.only or any(part in row[0] for part in args.only)]


def report(results):
    print("%-24s %12s %18s %8s %14s %14s" % ("row", "rate", "vs stunnel4", "errors",
                                             "server cpu", "client cpu"))
    for name, runs in results.items():
        kind = name.split(":")[0]
        reference = results.get(kind + ": stunnel4")
        ratios = [run["rate"] / ref["rate"] for run, ref in zip(runs, reference)] if reference else []
        unit = "/s" if kind == "handshakes" else " MiB/s"
        per = "ms/handshake" if kind == "handshakes" else "ms/GiB"
        ratio = ("%.2fx (%.2f-%.2f)" % (statistics.median(ratios), min(ratios), max(ratios))
                 if ratios else "")
        print("%-24s %12s %18s %8d %14s %14s" % (
            name, "%.0f%s" % (statistics.median(r["rate"] for r in runs), unit), ratio,
            sum(r["errors"] for r in runs),
            "%.3f %s" % (statistics.median(r["server_ms"] for r in runs), per),
            "%.3f" % statistics.median(r["client_ms"] for r in runs)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bytes", type=int, default=64 * 2 ** 20)
    parser.add_argument("--only", type=lambda text: text.split(","), default=None)
    args = parser.parse_args()
    if STUNNEL is None:
        raise SystemExit("stunnel4 is not installed (apt-get install stunnel4)")
    work = tempfile.mkdtemp(prefix="bench-tls-")
    try:
        args.tlsload = os.path.join(work, "tlsload")
        subprocess.run(["cc", "-O2", "-pthread", "-o", args.tlsload,
                        os.path.join(ROOT, "bench", "tlsload.c"), "-lssl", "-lcrypto"], check=True)
        authority = Authority(work, "ca")
        key, cert = authority.issue("server", "localhost", ("localhost", "127.0.0.1"))
        args.ca = authority.cert
        env = dict(os.environ, KEYFILE=key, CERTFILE=cert, PYTHONPATH=ROOT)
        results = {}
        for _ in range(args.rounds):
            for name, measure, argv_for_port in rows(work, key, cert, args):
                results.setdefault(name, []).append(measure(argv_for_port, env, args))
        report(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
