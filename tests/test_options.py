"""One number scanner for every option and numeric variable: bad text is
exit 100 with a message, never a traceback, never a silent 0."""

import pytest
from hypothesis import given, strategies as st

from conftest import run
from netchain import errors, options

NASTY = ["\u00b2", "\u0661\u0662", "9" * 25, "9" * 6000, "-1", "", "1x", " 1", "0x10", "4294967296"]

OPTION_CASES = [
    ("tcpserverd", ["-c"]), ("tcpserverd", ["-C"]), ("tcpserverd", ["-v"]), ("tcpserverd", ["-T"]),
    ("tcpserver-bind", ["-b"]), ("tcpserver-bind", ["-u"]), ("tcpserver-bind", ["-g"]),
    ("tcpserver-bind", ["-G"]),
    ("tcpserver", ["-c"]), ("tcpserver", ["-b"]), ("tcpserver", ["-u"]), ("tcpserver", ["-t"]),
    ("tcpclient", ["-T"]), ("tcpclient", ["-t"]), ("tcpclient", ["-p"]),
    ("ident-lookup", ["-t"]), ("tcp-env", ["-t"]), ("tcpserver-access", ["-t"]),
    ("tcpserver-rules", ["-t"]), ("tcpserver-rules", ["-v"]), ("rblsmtpd", ["-t"]),
]
TAILS = {"tcpserver-bind": ["127.0.0.1", "0", "true"], "tcpserver": ["127.0.0.1", "0", "true"],
         "tcpclient": ["127.0.0.1", "1", "true"]}


def assert_clean_failure(result, prog, codes=(100,)):
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode in codes, (result.returncode, err)
    assert "Traceback" not in err and err, err
    assert all(line.startswith(prog + ": ") for line in err.splitlines()), err


@pytest.mark.parametrize("prog,flag", OPTION_CASES)
def test_bad_numbers_in_options(prog, flag):
    for value in NASTY:
        if value == "4294967296" and flag[0] in ("-t", "-T"):
            continue  # a long timeout is a fine timeout
        if value == "" and flag == ["-G"]:
            continue  # no supplementary groups at all
        result = run(prog, *flag, value, *TAILS.get(prog, ["true"]), timeout=30)
        assert_clean_failure(result, prog)


ENDPOINTS = {"PROTO": "TCP", "TCPREMOTEIP": "127.0.0.1", "TCPREMOTEPORT": "1",
             "TCPLOCALIP": "127.0.0.1", "TCPLOCALPORT": "2"}

VARIABLE_CASES = [
    ("connlimit", [], "TCPCONNMAX", dict(ENDPOINTS, TCPCONNNUM="0")),
    ("connlimit", [], "TCPCONNNUM", dict(ENDPOINTS, TCPCONNMAX="5")),
    ("ident-lookup", [], "TCPREMOTEPORT", ENDPOINTS),
    ("ident-lookup", [], "IDENTPORT", ENDPOINTS),
    ("tcp-env", ["-h"], "DNSCACHEPORT", ENDPOINTS),
    ("tcp-env", ["-h"], "DNSCACHEIP", ENDPOINTS),
    ("tcp-env", ["-h"], "TCPREMOTEIP", ENDPOINTS),
    ("tcpserver-access", ["-H"], "TCPREMOTEIP", ENDPOINTS),
    ("tcpserver-access", ["-r"], "IDENTPORT", ENDPOINTS),
    ("tcpserver-bind", ["-U"], "UID", {"GID": "1"}),
    ("rblsmtpd", ["-r", "bl.example"], "TCPREMOTEIP", ENDPOINTS),
    ("rblsmtpd", ["-r", "bl.example"], "DNSCACHEPORT", ENDPOINTS),
]


@pytest.mark.parametrize("prog,opts,name,env", VARIABLE_CASES)
def test_bad_numbers_in_variables(prog, opts, name, env):
    tail = TAILS.get(prog, ["true"])
    for value in NASTY + ["garbage"]:
        if name in ("DNSCACHEIP", "DNSCACHEPORT") and value == "":
            continue  # empty: the defaults (the system's resolver, port 53)
        result = run(prog, *opts, *tail, env=dict(env, **{name: value}), timeout=30)
        assert_clean_failure(result, prog)


def test_tcpclient_with_garbage_dns_settings():
    result = run("tcpclient", "-RHl0", "example.invalid", "1", "true",
                 env={"DNSCACHEIP": "not-an-ip"})
    assert_clean_failure(result, "tcpclient")


@given(st.text(max_size=30))
def test_scan_gives_a_number_in_range_or_bad_input(text):
    try:
        value = options.scan(text, "x", 0, 1000)
    except errors.BadInput as exc:
        assert exc.code == 100
        return
    assert text.isascii() and text.isdigit() and 0 <= value <= 1000 and value == int(text)


@given(st.integers(0, 10 ** 30))
def test_scan_takes_every_plain_number(number):
    if number <= options.INT_MAX:
        assert options.scan(str(number), "x") == number
    else:
        with pytest.raises(errors.BadInput):
            options.scan(str(number), "x")


def _parsers():
    """In-process option parsers of every program: (name, flag, parse(value))."""
    from netchain import (connlimit, ident_lookup, privs, rblsmtpd, tcp_env, tcpclient, tcpserver,
                          tcpserver_access, tcpserver_rules, tcpserverd)
    tail = ["127.0.0.1", "0", "true"]
    found = []
    for module, flags in ((tcp_env, "t"), (ident_lookup, "t"), (tcpserver_access, "vt"),
                          (tcpserver_rules, "vt"), (rblsmtpd, "t")):
        for flag in flags:
            found.append((module.PROG, flag, lambda v, m=module, f=flag: m.parse([m.PROG, "-" + f, v, "true"])))
    for flag in "cCvT":
        found.append(("tcpserverd", flag, lambda v, f=flag: tcpserverd.Config(["tcpserverd", "-" + f, v, "true"])))
    for flag in "cCbugt":
        found.append(("tcpserver", flag, lambda v, f=flag: tcpserver.Plan(["tcpserver", "-" + f, v] + tail)))
    for flag in "pTt":
        found.append(("tcpclient", flag, lambda v, f=flag: tcpclient.Config([("-" + f, v)])))
    found.append(("tcpserver-bind", "u", lambda v: privs.parse_ids(v, None, None, False)))
    found.append(("tcpserver-bind", "G", lambda v: privs.parse_ids(None, None, v, False)))
    found.append(("connlimit", "TCPCONNMAX", lambda v: connlimit.step(
        None, _Ctx({"PROTO": "TCP", "TCPCONNMAX": v, "TCPCONNNUM": "0"}), ["true"])))
    return found


class _Ctx:
    def __init__(self, env):
        self.env = env


@given(st.text(max_size=30) | st.from_regex(r"[0-9]{1,40}", fullmatch=True))
def test_every_parser_takes_a_number_or_refuses_with_100(value):
    for prog, flag, parse in _parsers():
        # indimail's -c FILE: a path (starting with / or .) names a file,
        # which may also be missing (111)
        a_file = flag == "c" and prog in ("tcpserverd", "tcpserver") and value.startswith(("/", "."))
        try:
            parse(value)
        except errors.NetchainError as exc:
            assert exc.code == 100 or isinstance(exc, errors.Denied) or (a_file and exc.code == 111), \
                (prog, flag, value, exc)


@given(st.lists(st.sampled_from(["-a", "-b", "-bx", "-ab", "-ba", "-c", "--", "-", "x", "-Z", "-a-b",
                                 "-bb", ""]), max_size=6))
def test_our_getopt_reads_as_posix_getopt(args):
    """options.parse's own getopt agrees with the standard library's."""
    import getopt
    try:
        expected = getopt.getopt(args, "ab:c")
    except getopt.GetoptError as exc:
        expected = ("error", exc.opt)
    try:
        got = options._getopt(args, "ab:c")
    except options._OptionError as exc:
        got = ("error", exc.letter)
    assert got == expected
