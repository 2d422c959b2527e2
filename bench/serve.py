"""Benchmark: connections per second, netchain against ucspi-tcp's tcpserver.

    .venv/bin/python bench/serve.py [--seconds 5] [--clients 8] [--rounds 3]
                                    [--only PART,...] [--no-dns] [--client python|c]

Starts each server on 127.0.0.1 in turn in one run, drives it with the same
load (CLIENTS processes, each connecting, reading to EOF, closing, for
SECONDS), and prints connections/s, p50/p99 latency, server CPU per
connection (daemon and children), the daemon's RSS, and each row's ratio
to ucspi-tcp's `tcpserver -x`.  The rows run ROUNDS times, interleaved
(every row once, then again), so that a noisy machine hits every row
alike; each figure is the median over the rounds, and the ratio column
gives the median of the per-round ratios with their range.  A first row
drives a trivial Python
accept-and-close server to show the load generator is not the bottleneck.
With --client c the load comes from bench/loadgen.c (built with cc into
a temporary directory): threads of a C program, which leave the servers
more of the machine's CPU than Python clients; it reports no latencies
(the p50/p99 columns read 0).
Two last rows run tcp-env -h against a fake DNS server on loopback (never
the machine's resolver), the second while another client's lookups take
2 seconds each: its rate should stay near the first's.
"""

import argparse
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv", "bin")
PROGRAM = ["/bin/echo", "hello"]


def client(port, seconds, queue):
    latencies, errors = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                while sock.recv(4096):
                    pass
        except OSError:
            errors += 1
            continue
        latencies.append(time.monotonic() - start)
    queue.put((latencies, errors))


def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def rss_of(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port, proc):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(0.2)
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("server exited: %s" % proc.args) from None
            time.sleep(0.05)
    raise SystemExit("server did not listen: %s" % proc.args)


def measure(name, argv_for_port, args):
    """argv_for_port(port) gives one server's argv, or a list of argvs for
    servers that share the port (tcpserver-bind -r)."""
    port = free_port()
    argvs = argv_for_port(port)
    argvs = argvs if isinstance(argvs[0], list) else [argvs]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.path.join(ROOT, "bench"))
    procs = []
    try:
        for argv in argvs:  # one at a time: the next binds once the last listens
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, env=env))
            wait_listening(port, procs[-1])
        return _load(name, port, procs, args)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)


def c_clients(port, procs, args):
    """--client c: the load from bench/loadgen.c (rate and CPU; no latencies)."""
    out = subprocess.run([args.loadgen, str(port), str(args.seconds), str(args.clients)],
                         capture_output=True, check=True, timeout=args.seconds + 60).stdout.split()
    count, errors = int(out[0]), int(out[1])
    return [([0.0] * count, errors)]


def _load(name, port, procs, args):
    if args.client == "c":
        cpu_before = sum(cpu_of(proc.pid) for proc in procs)
        results = c_clients(port, procs, args)
        time.sleep(0.3)
        cpu = sum(cpu_of(proc.pid) for proc in procs) - cpu_before
        return _figures(name, results, cpu, sum(rss_of(proc.pid) for proc in procs), args)
    queue = multiprocessing.Queue()
    cpu_before = sum(cpu_of(proc.pid) for proc in procs)
    workers = [multiprocessing.Process(target=client, args=(port, args.seconds, queue))
               for _ in range(args.clients)]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    time.sleep(0.3)
    cpu = sum(cpu_of(proc.pid) for proc in procs) - cpu_before
    return _figures(name, results, cpu, sum(rss_of(proc.pid) for proc in procs), args)


def _figures(name, results, cpu, rss, args):
    latencies = sorted(latency for r in results for latency in r[0])
    count = len(latencies)
    rate = count / args.seconds
    p50 = latencies[count // 2] * 1000 if count else 0
    p99 = latencies[min(count - 1, int(count * 0.99))] * 1000 if count else 0
    return {"name": name, "rate": rate, "p50": p50, "p99": p99, "errors": sum(r[1] for r in results),
            "cpu_ms": cpu * 1000 / count if count else 0, "rss": rss}


def dns_row(args, netchain, slow):
    """Fused tcp-env -h: 127.0.0.1's name answers at once, while a client
    from 127.0.0.2 connects every 0.2 s and its PTR answer takes 2 s."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import threading
    from fakes import FakeDNS

    dns = FakeDNS(answers={("1.0.0.127.in-addr.arpa", "PTR"): ["fast.example."],
                           ("2.0.0.127.in-addr.arpa", "PTR"): ["slow.example."]},
                  delay={"2.0.0.127.in-addr.arpa": 2.0})
    stop = threading.Event()

    def slow_clients(port):
        while not stop.wait(0.2):
            def one():
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=10,
                                                  source_address=("127.0.0.2", 0)) as sock:
                        sock.recv(100)
                except OSError:
                    pass
            threading.Thread(target=one, daemon=True).start()

    def argv(port):
        if slow:
            threading.Thread(target=slow_clients, args=(port,), daemon=True).start()
        return netchain("tcpserver-bind") + ["127.0.0.1", str(port)] + netchain("tcpserverd") + \
            ["-v0"] + netchain("tcp-env") + ["-h"] + PROGRAM
    old = dict(os.environ)
    os.environ.update(dns.env())
    try:
        return measure("netchain fused: tcp-env -h, %s" % ("+slow DNS" if slow else "fast DNS"),
                       argv, args)
    finally:
        stop.set()
        os.environ.clear()
        os.environ.update(old)
        dns.close()


def trivial_server(port):
    code = ("import socket,sys\ns=socket.create_server(('127.0.0.1',%d),backlog=1024)\n"
            "while True:\n c,_=s.accept(); c.sendall(b'hello\\n'); c.close()\n" % port)
    return [sys.executable, "-c", code]


def rows(rules, deny_rules, netchain):
    def bind(port, daemon_opts=(), bind_opts=()):
        return netchain("tcpserver-bind") + list(bind_opts) + ["127.0.0.1", str(port)] + \
            netchain("tcpserverd") + ["-v0"] + list(daemon_opts)

    def ucspi(cdb):
        return lambda p: ["tcpserver", "-HRl0", "-x", cdb, "127.0.0.1", str(p)] + PROGRAM

    def access(cdb, daemon_opts=(), program=PROGRAM, bind_opts=()):
        return lambda p: bind(p, daemon_opts, bind_opts) + netchain("tcpserver-access") + \
            ["-H", "-x", cdb] + program

    def shared(program=PROGRAM, instances=2):  # tcpserver-bind -r: instances sharing the port
        row = access(rules["s6"], program=program, bind_opts=["-r"])
        return lambda p: [row(p) for _ in range(instances)]
    sync, asynchronous = ["python:inproc_apps:hello_sync"], ["python:inproc_apps:hello_async"]
    return [
        ("load generator (python accept loop)", trivial_server),
        ("ucspi-tcp tcpserver -HRl0", lambda p: ["tcpserver", "-HRl0", "127.0.0.1", str(p)] + PROGRAM),
        ("ucspi-tcp tcpserver -HRl0 -x", ucspi(rules["djb"])),
        ("netchain fused: access -x", access(rules["s6"])),
        ("netchain fused: access -x, -M counters", access(rules["s6"], ["-M", rules["metrics"]])),
        ("netchain fused: access -x, -I 60 (relayed)", access(rules["s6"], ["-I", "60"])),
        ("netchain fused: access -m sqlite:", lambda p: bind(p) + netchain("tcpserver-access") +
         ["-H", "-m", "sqlite:" + rules["sqlite"]] + PROGRAM),
        ("netchain fused: tcpserver -HRl0 -x",
         lambda p: netchain("tcpserver") + ["-HRl0", "-x", rules["djb"], "127.0.0.1", str(p)] + PROGRAM),
        ("netchain exec mode (-X): access -x", access(rules["s6"], ["-X"])),
        ("netchain 2 instances -r: access -x", shared()),
        ("netchain in-process sync: access -x", access(rules["s6"], program=sync)),
        ("netchain in-process async: access -x", access(rules["s6"], program=asynchronous)),
        ("netchain 2 instances -r: in-process sync", shared(sync)),
        ("netchain 2 instances -r: in-process async", shared(asynchronous)),
        ("DENY ucspi-tcp tcpserver -HRl0 -x", ucspi(deny_rules["djb"])),
        ("DENY netchain fused: access -x", access(deny_rules["s6"])),
    ]


def make_rules(work, allow):
    paths = {"djb": os.path.join(work, "%s.djb.cdb" % allow), "s6": os.path.join(work, "%s.s6.cdb" % allow),
             "metrics": os.path.join(work, "%s.prom" % allow)}
    text = ("127.0.0.1:%s\n:deny\n" % ("allow" if allow else "deny")).encode()
    subprocess.run(["tcprules", paths["djb"], paths["djb"] + ".tmp"], input=text, check=True)
    tree = os.path.join(work, "tree-%s" % allow)
    os.makedirs(os.path.join(tree, "ip4", "127.0.0.1_32"))
    open(os.path.join(tree, "ip4", "127.0.0.1_32", "allow" if allow else "deny"), "w").close()
    subprocess.run([sys.executable, "-m", "netchain", "accessrules-cdb-from-fs", paths["s6"], tree],
                   check=True, env=dict(os.environ, PYTHONPATH=ROOT))
    paths["sqlite"] = os.path.join(work, "%s.db" % allow)
    subprocess.run([sys.executable, "-m", "netchain", "accessrules-sql-from-fs", "sqlite:" + paths["sqlite"],
                    tree], check=True, env=dict(os.environ, PYTHONPATH=ROOT))
    return paths


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated parts of row names to run"
                        " (the ucspi-tcp reference rows always run)")
    parser.add_argument("--no-dns", action="store_true", help="skip the two DNS rows")
    parser.add_argument("--postgresql", action="store_true",
                        help="add a -m postgresql:// row (a throwaway cluster; root and Debian's postgresql)")
    parser.add_argument("--client", choices=["python", "c"], default="python",
                        help="c: the load from bench/loadgen.c, built with cc (no latencies)")
    args = parser.parse_args()
    if shutil.which("tcpserver") is None:
        sys.exit("bench: tcpserver not found: apt-get install ucspi-tcp")

    def netchain(name):
        path = os.path.join(VENV, name)
        return [path] if os.path.exists(path) else [sys.executable, "-m", "netchain", name]

    work = tempfile.mkdtemp(prefix="netchain-serve-")
    cluster = None
    try:
        if args.postgresql:
            cluster = postgresql_rules(work)
        if args.client == "c":
            args.loadgen = os.path.join(work, "loadgen")
            subprocess.run(["cc", "-O2", "-pthread", "-o", args.loadgen,
                            os.path.join(ROOT, "bench", "loadgen.c")], check=True)
        table = rows(make_rules(work, True), make_rules(work, False), netchain)
        if cluster is not None:
            table.insert(5, ("netchain fused: access -m postgresql:", lambda p: netchain("tcpserver-bind") + [
                "127.0.0.1", str(p)] + netchain("tcpserverd") + ["-v0"] + netchain("tcpserver-access") +
                ["-H", "-m", cluster.dsn()] + PROGRAM))
        wanted = [part for part in args.only.split(",") if part]
        table = [(name, argv) for name, argv in table if not wanted or "ucspi-tcp" in name
                 or any(part in name for part in wanted)]
        rounds = [[measure(name, argv, args) for name, argv in table] for _ in range(args.rounds)]
        dns = [] if args.no_dns else [dns_row(args, netchain, False), dns_row(args, netchain, True)]
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work)
    report(rounds, dns)


def postgresql_rules(work):
    """A throwaway cluster (tests/pgcluster.py) holding the allow rules of
    make_rules, loaded with accessrules-sql-from-fs; PGPASSFILE set."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from pgcluster import Cluster

    cluster = Cluster()
    os.environ.update(cluster.env())
    tree = os.path.join(work, "tree-pg")
    os.makedirs(os.path.join(tree, "ip4", "127.0.0.1_32"))
    open(os.path.join(tree, "ip4", "127.0.0.1_32", "allow"), "w").close()
    subprocess.run([sys.executable, "-m", "netchain", "accessrules-sql-from-fs", cluster.dsn(), tree],
                   check=True, env=dict(os.environ, PYTHONPATH=ROOT))
    return cluster


def report(rounds, dns):
    """One line per row: medians over the rounds, ratios taken round by round."""
    def reference(result, by_name):
        deny = result["name"].startswith("DENY")
        return by_name["DENY ucspi-tcp tcpserver -HRl0 -x" if deny else "ucspi-tcp tcpserver -HRl0 -x"]
    ratios = {}
    for results in rounds:
        by_name = {r["name"]: r for r in results}
        for r in results:
            ratios.setdefault(r["name"], []).append(r["rate"] / reference(r, by_name)["rate"])
    print("%-42s %9s %7s %7s %8s %8s %7s %13s %6s" % (
        "server", "conn/s", "p50 ms", "p99 ms", "cpu ms/c", "rss KiB", "ratio", "range", "errors"))
    for index, first in enumerate(rounds[0]):
        same = [results[index] for results in rounds]
        median = {key: statistics.median(r[key] for r in same)
                  for key in ("rate", "p50", "p99", "cpu_ms", "rss")}
        spread = ratios[first["name"]]
        print("%-42s %9.0f %7.2f %7.2f %8.2f %8d %6.2fx %6.2f-%-6.2f %6d" % (
            first["name"], median["rate"], median["p50"], median["p99"], median["cpu_ms"],
            median["rss"], statistics.median(spread), min(spread), max(spread),
            sum(r["errors"] for r in same)))
    base = statistics.median(r["rate"] for results in rounds for r in results
                             if r["name"] == "ucspi-tcp tcpserver -HRl0 -x")
    for r in dns:
        print("%-42s %9.0f %7.2f %7.2f %8.2f %8d %6.2fx %13s %6d" % (
            r["name"], r["rate"], r["p50"], r["p99"], r["cpu_ms"], r["rss"], r["rate"] / base,
            "", r["errors"]))
    print("(%d rounds; ratios: netchain rows to ucspi-tcp tcpserver -HRl0 -x in the same round,"
          " DENY rows to its deny row)" % len(rounds))


if __name__ == "__main__":
    main()
