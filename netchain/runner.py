"""The one place where exceptions become messages and exit codes."""

import sys

from . import errors, logline


def warn(prog, text):
    """Print 'PROG: warning: TEXT' on stderr."""
    _say("%s: warning: %s" % (prog, text))


def info(prog, text):
    _say("%s: info: %s" % (prog, text))


def _say(line):
    logline.write(line)


def report(prog, usage, exc):
    """Print the message for exc and return its exit code."""
    if isinstance(exc, errors.UsageError):
        if getattr(exc, "first_line", None):  # djb's order: the reason, then usage
            _say("%s: %s" % (prog, exc.first_line))
        _say("%s: usage: %s" % (prog, usage))
        if str(exc):
            _say("%s: fatal: %s" % (prog, exc))
    elif isinstance(exc, errors.Denied):
        if str(exc):
            _say("%s: %s" % (prog, exc))
    elif getattr(exc, "bare", False):  # ucspi-tcp wording without 'fatal:'
        _say("%s: %s" % (prog, exc))
    elif str(exc):  # an empty message is a silent exit with that code
        _say("%s: fatal: %s" % (prog, exc))
    return exc.code


def _help_or_version(prog, usage, argv):
    """--help and --version as the only argument: what every command-line
    user tries first.  Returns True when one was answered."""
    if len(argv) != 2 or argv[1] not in ("--help", "--version"):
        return False
    from . import __version__

    text = "usage: %s\n" % usage if argv[1] == "--help" else "%s (netchain) %s\n" % (prog, __version__)
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


def run(prog, usage, main, argv):
    """Call main(argv) and turn what it raises into an exit code."""
    if _help_or_version(prog, usage, argv):
        return 0
    try:
        code = main(argv)
    except errors.NetchainError as exc:
        return report(prog, usage, exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return errors.TEMPORARY
    except Exception:  # a bug: say so loudly, with the trace
        import traceback  # imported here: it costs milliseconds at every start

        _say("%s: fatal: internal error (bug):\n%s" % (prog, traceback.format_exc().rstrip("\n")))
        return errors.BUG
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass
    return code if code is not None else 0


def launch(module_name, argv=None):
    """Entry point for bin/ launchers, console scripts and python -m."""
    import importlib

    module = importlib.import_module("netchain." + module_name)
    sys.exit(run(module.PROG, module.USAGE, module.main,
                 sys.argv if argv is None else argv))
