"""Benchmark: start-up cost of each netchain program in exec mode.

    .venv/bin/python bench/startup.py [--runs 20]

Each program is run with arguments that make it do its job and exit at
once (a denied connection, an absent limit, ...); the median wall time
is printed next to a bare `python -c pass` and the C `true`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(argv, env, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=ROOT, TCPREMOTEIP="127.0.0.1", TCPLOCALIP="127.0.0.1",
               TCPREMOTEPORT="1", TCPLOCALPORT="2", PROTO="TCP", TCPCONNNUM="0")
    work = tempfile.mkdtemp()
    py = [sys.executable, "-m", "netchain"]
    cases = [
        ("true (C)", ["true"]),
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("python -S -c pass", [sys.executable, "-S", "-c", "pass"]),
        ("connlimit true", py + ["connlimit", "true"]),
        ("tcp-env -H true", py + ["tcp-env", "true"]),
        ("tcpserver-access -i (deny)", py + ["tcpserver-access", "-H", "-i", work, "true"]),
        ("tcpserver-rules -HR -l0 true", py + ["tcpserver-rules", "-HR", "-l0", "true"]),
        ("tcprules (empty input)", py + ["tcprules", os.path.join(work, "r.cdb"), os.path.join(work, "r.tmp")]),
    ]
    print("%-32s %9s" % ("program", "median ms"))
    for name, argv in cases:
        print("%-32s %9.1f" % (name, timed(argv, env, args.runs)))


if __name__ == "__main__":
    main()
