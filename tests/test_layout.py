"""Conventions that check themselves: every program has its module, script,
launcher, doc page and tests; its usage line says the same everywhere; no
program imports another; modules and functions stay small."""

import ast
import importlib
import os
import re

import pytest

from conftest import ROOT, run
from netchain import TABLE, stage

MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
PROGRAM_MODULES = {program.module for program in TABLE}


def _words(text):
    return " ".join(text.split())


def _first_indented_block(text):
    """The first run of lines indented by 4 spaces (a synopsis)."""
    block, started = [], False
    for line in text.splitlines():
        if line.startswith("    ") and line.strip():
            block.append(line.strip())
            started = True
        elif started:
            break
    return " ".join(block)


def _source(module_name):
    with open(os.path.join(ROOT, "netchain", *module_name.split(".")) + ".py") as handle:
        return handle.read()


def _all_modules():
    names = []
    for folder, package in ((os.path.join(ROOT, "netchain"), ""),
                            (os.path.join(ROOT, "netchain", "rules"), "rules.")):
        names += [package + f[:-3] for f in os.listdir(folder) if f.endswith(".py")]
    return sorted(names)


@pytest.mark.parametrize("program", TABLE, ids=lambda p: p.name)
def test_every_program_has_its_parts(program):
    module = importlib.import_module("netchain." + program.module)
    assert module.PROG == program.name and module.USAGE and callable(module.main)
    with open(os.path.join(ROOT, "pyproject.toml")) as handle:
        project = handle.read()
    if "@" in program.name:  # pip takes no '@' in a console script's name
        assert '"bin/%s"' % program.name in project
    else:
        assert '%s = "netchain.entry:%s"' % (program.name, program.module) in project
    assert os.access(os.path.join(ROOT, "bin", program.name), os.X_OK)
    assert os.path.exists(os.path.join(ROOT, "doc", program.name + ".md"))
    assert os.path.exists(os.path.join(ROOT, "tests", "test_%s.py" % program.module))
    with open(os.path.join(ROOT, "doc", "index.md")) as handle:
        assert "(%s.md)" % program.name in handle.read()


@pytest.mark.parametrize("program", TABLE, ids=lambda p: p.name)
def test_usage_line_is_the_same_in_module_docstring_and_doc_page(program):
    module = importlib.import_module("netchain." + program.module)
    with open(os.path.join(ROOT, "doc", program.name + ".md")) as handle:
        page = _first_indented_block(handle.read())
    assert _words(page) == _words(module.USAGE), "doc/%s.md" % program.name
    assert _words(_first_indented_block(module.__doc__)) == _words(module.USAGE)


@pytest.mark.parametrize("program", [p for p in TABLE if p.stage], ids=lambda p: p.name)
def test_stages_follow_the_stage_contract(program):
    module = importlib.import_module("netchain." + program.module)
    assert stage.missing(module) == []
    assert module.step.__doc__, "%s.step needs its docstring" % program.module


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                yield node.module.split(".")[0]
            else:
                yield from (alias.name for alias in node.names)


@pytest.mark.parametrize("name", _all_modules())
def test_module_shape(name):
    source = _source(name)
    tree = ast.parse(source)
    assert len(source.splitlines()) <= MAX_MODULE_LINES, "%s.py is too long" % name
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, "%s.%s: %d lines" % (name, node.name, length)
    if name in PROGRAM_MODULES:
        others = set(_imports(tree)) & (PROGRAM_MODULES - {name})
        assert not others, "%s imports the programs %s" % (name, sorted(others))
    assert not re.search(r"^import \w+ as \w+mod$|^from \. import .* as \w+mod", source, re.M), \
        "%s.py: an 'as xmod' alias" % name


@pytest.mark.parametrize("program", TABLE, ids=lambda p: p.name)
def test_help_and_version(program):
    shown = run(program.name, "--help")
    assert (shown.returncode, shown.stderr) == (0, b"")
    assert shown.stdout.startswith(b"usage: " + program.name.encode())
    version = run(program.name, "--version")
    assert version.returncode == 0 and version.stdout.startswith(program.name.encode() + b" (netchain) ")


def test_unknown_program():
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "netchain", "nosuch"], capture_output=True,
                            env=dict(os.environ, PYTHONPATH=ROOT), timeout=30)
    assert result.returncode == 100
    assert result.stderr.startswith(b"netchain: fatal: unknown program: nosuch")


def test_man_pages_are_made_from_the_doc_pages():
    import subprocess
    import sys
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "mkman.py"), "--check"],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode() + " (run: python scripts/mkman.py)"


def test_wheel_holds_the_package_its_man_pages_and_license(tmp_path):
    import subprocess
    import sys
    import zipfile
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), ROOT],
                           capture_output=True, timeout=300)
    if built.returncode != 0 and b"Could not find a version" in built.stderr:
        pytest.skip("no package index to build with: %s" % built.stderr[-200:])
    assert built.returncode == 0, built.stderr
    (wheel,) = [name for name in os.listdir(tmp_path) if name.endswith(".whl")]
    names = zipfile.ZipFile(tmp_path / wheel).namelist()
    for program in TABLE:
        assert "netchain/%s.py" % program.module in names
        assert any(name.endswith("data/share/man/man1/%s.1" % program.name) for name in names)
    assert "netchain/rules/backends.py" in names
    assert any(".dist-info/" in name and name.endswith("LICENSE") for name in names)


@pytest.mark.parametrize("program", TABLE, ids=lambda p: p.name)
def test_doc_pages_share_one_skeleton(program):
    """Interface line, what it does, then these sections in this order."""
    with open(os.path.join(ROOT, "doc", program.name + ".md")) as handle:
        headings = re.findall(r"^## (.*)$", handle.read(), re.M)
    wanted = ["Options", "Environment", "Exit codes", "Signals", "Notes"]
    assert [h for h in headings if h in wanted] == wanted, headings
