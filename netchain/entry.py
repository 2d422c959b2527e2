"""Console-script entry points: one function per program, named after it."""

from . import PROGRAMS
from .runner import launch


def _entry(module_name):
    return lambda: launch(module_name)


# Generated from PROGRAMS so that a new program needs one line, not two.
vars().update({module: _entry(module) for module in PROGRAMS.values()})
