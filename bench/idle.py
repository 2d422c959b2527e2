"""Benchmark: many concurrent idle connections (-c N), and denied ones.

    .venv/bin/python bench/idle.py [--connections 5000]

For ucspi-tcp's tcpserver and netchain's fused chain in turn: open N
connections to a server started with -c N whose program writes one byte
and sleeps; report the time until all N got their byte (all accepted and
spawned), the daemon's RSS while holding them, then SIGHUP/SIGTERM (by
pid) to stop children and daemon.
"""

import argparse
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv", "bin")
PROGRAM = ["sh", "-c", "echo x; exec sleep 120"]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hold(port, count, deadline):
    selector = selectors.DefaultSelector()
    socks, got = [], 0
    start = time.monotonic()
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        selector.register(sock, selectors.EVENT_READ)
        socks.append(sock)
    while got < count and time.monotonic() < deadline:
        for key, _ in selector.select(1):
            selector.unregister(key.fileobj)
            got += 1
    return socks, got, time.monotonic() - start


def run(name, argv, count, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=ROOT), start_new_session=True)
    try:
        time.sleep(1.5)
        socks, got, elapsed = hold(port, count, time.monotonic() + 120)
        rss = rss_kib(proc.pid)
        print("%-28s %6d/%d accepted in %6.2f s   daemon RSS %7d KiB" % (name, got, count, elapsed, rss))
        for sock in socks:
            sock.close()
    finally:
        os.kill(proc.pid, signal.SIGHUP)   # netchain: TERM to children
        time.sleep(0.5)
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # our own session: daemon and children
        except ProcessLookupError:
            pass
        proc.wait(30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=5000)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.connections + 1000,) * 2)
    n = str(args.connections)
    netchain = lambda name: [os.path.join(VENV, name)]  # noqa: E731
    run("ucspi-tcp tcpserver", ["tcpserver", "-c", n, "-b", n, "-HRl0", "127.0.0.1", "47011"] + PROGRAM,
        args.connections, 47011)
    run("netchain fused chain", netchain("tcpserver-bind") + ["-b", n, "127.0.0.1", "47012"] +
        netchain("tcpserverd") + ["-v0", "-c", n] + PROGRAM, args.connections, 47012)


if __name__ == "__main__":
    sys.exit(main())
