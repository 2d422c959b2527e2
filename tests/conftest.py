"""Shared helpers: run a netchain program or a reference program."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))




@pytest.fixture(scope="session", autouse=True)
def no_system_resolver():
    """A safety net: no program a test starts ever asks this machine's own
    resolver.  Unless a test points it at a fake server of its own, DNS goes
    to one on loopback that knows no name (NXDOMAIN at once)."""
    from fakes import FakeDNS

    dns = FakeDNS()
    os.environ.update(dns.env())
    yield dns
    dns.close()


def make_env(env=None, unset=()):
    """os.environ without the names in unset, updated with env."""
    full_env = {k: v for k, v in os.environ.items() if k not in unset}
    full_env.update(env or {})
    return full_env


def run(prog, *args, input=b"", env=None, unset=(), timeout=60, cwd=None):
    """Run a netchain program as a real process; return CompletedProcess."""
    full_env = make_env(env, unset)
    full_env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env and "PYTHONPATH" in env else "")
    return subprocess.run([sys.executable, "-m", "netchain", prog, *map(str, args)],
                          input=input, capture_output=True, env=full_env,
                          timeout=timeout, cwd=cwd)


def run_ref(prog, *args, input=b"", env=None, unset=(), timeout=60, cwd=None):
    """Run a reference program (Debian's ucspi-tcp or s6)."""
    return subprocess.run([prog, *map(str, args)], input=input, capture_output=True,
                          env=make_env(env, unset), timeout=timeout, cwd=cwd)


def need(prog):
    """Skip the test when a reference program is not installed."""
    if shutil.which(prog) is None:
        pytest.skip("reference %s not installed (apt-get install ucspi-tcp s6)" % prog)


def strip_prog(stderr, prog):
    """stderr text with the leading program name removed, for comparisons."""
    text = stderr.decode("latin-1")
    return text[len(prog) + 2:] if text.startswith(prog + ": ") else text


@pytest.fixture(params=["fused", "exec"])
def mode(request):
    """tcpserverd options for the two modes every chain test runs in."""
    return [] if request.param == "fused" else ["-X"]
