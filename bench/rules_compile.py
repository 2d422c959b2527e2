"""Benchmark: compile rules with netchain and with the C references.

    python bench/rules_compile.py [--lines 100000] [--rules 10000] [--runs 5]

Runs, in one invocation and interleaved, Debian's tcprules against
netchain's tcprules on a generated rules file, and Debian's
s6-accessrules-cdb-from-fs against netchain's accessrules-cdb-from-fs on a
generated tree; prints median wall times and the ratios, and checks that
each pair wrote the same bytes.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_rules_file(path, lines, rng):
    with open(path, "w") as handle:
        for i in range(lines):
            a, b, c = rng.randrange(256), rng.randrange(256), rng.randrange(256)
            kind = i % 4
            if kind == 0:
                handle.write('%d.%d.%d.%d:allow,RELAYCLIENT="",N="%d"\n' % (a, b, c, i % 256, i))
            elif kind == 1:
                handle.write("%d.%d.%d.:deny\n" % (a, b, c))
            elif kind == 2:
                handle.write("=host%d.example.com:allow\n" % i)
            else:
                handle.write("%d.%d.:allow,X='%d'\n" % (a, b, i))


def make_tree(root, rules, rng):
    for i in range(rules):
        if i % 3 == 2:
            key = "reversedns/h%d.example.org" % i
        else:
            key = "ip4/%d.%d.%d.0_24" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        rule_dir = os.path.join(root, key)
        if os.path.exists(rule_dir):
            continue
        os.makedirs(rule_dir)
        open(os.path.join(rule_dir, "deny" if i % 2 else "allow"), "w").close()
        if i % 4 == 0:
            os.mkdir(os.path.join(rule_dir, "env"))
            with open(os.path.join(rule_dir, "env", "RELAYCLIENT"), "w") as handle:
                handle.write("\n")


def timed(argv, stdin_path=None):
    with open(stdin_path or os.devnull, "rb") as stdin:
        start = time.perf_counter()
        subprocess.run(argv, stdin=stdin, check=True)
        return time.perf_counter() - start


def ours(prog):
    return [sys.executable, "-m", "netchain", prog]


def compare(label, pairs, runs):
    """pairs: (name, argv, stdin, output); run interleaved, return medians."""
    times = {name: [] for name, _, _, _ in pairs}
    for _ in range(runs):
        for name, argv, stdin, _ in pairs:
            times[name].append(timed(argv, stdin))
    outputs = [open(out, "rb").read() for _, _, _, out in pairs]
    same = all(o == outputs[0] for o in outputs)
    ref, mine = (statistics.median(times[name]) for name, _, _, _ in pairs)
    print("%-28s C %7.1f ms   netchain %7.1f ms   ratio %.2fx   identical bytes: %s"
          % (label, ref * 1000, mine * 1000, mine / ref, "yes" if same else "NO"))
    return same


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100000)
    parser.add_argument("--rules", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = ROOT
    for prog in ("tcprules", "s6-accessrules-cdb-from-fs"):
        if shutil.which(prog) is None:
            sys.exit("bench: %s not found: apt-get install ucspi-tcp s6" % prog)
    work = tempfile.mkdtemp(prefix="netchain-bench-")
    try:
        rng = random.Random(1)
        text = os.path.join(work, "rules.txt")
        make_rules_file(text, args.lines, rng)
        tree = os.path.join(work, "tree")
        make_tree(tree, args.rules, rng)
        w = lambda name: os.path.join(work, name)  # noqa: E731
        ok = compare("tcprules %d lines" % args.lines, [
            ("c", ["tcprules", w("c.cdb"), w("c.tmp")], text, w("c.cdb")),
            ("py", ours("tcprules") + [w("p.cdb"), w("p.tmp")], text, w("p.cdb"))], args.runs)
        ok &= compare("cdb-from-fs %d rules" % args.rules, [
            ("c", ["s6-accessrules-cdb-from-fs", w("s.cdb"), tree], None, w("s.cdb")),
            ("py", ours("accessrules-cdb-from-fs") + [w("a.cdb"), tree], None, w("a.cdb"))],
            args.runs)
        start = time.perf_counter()
        subprocess.run(ours("tcprules") + [w("e.cdb"), w("e.tmp")], stdin=subprocess.DEVNULL, check=True)
        print("netchain start-up (tcprules on empty input): %.1f ms"
              % ((time.perf_counter() - start) * 1000))
    finally:
        shutil.rmtree(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
