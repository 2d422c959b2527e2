"""netchain: the UCSPI/TCP server tool family as a chain of small programs.

The map is doc/design.md: the programs, the environment contract, the
stage contract (netchain/stage.py), one connection's way through both
modes, and where each on-disk format lives.  The table below is the one
list of programs: console scripts, `python -m netchain PROG`, and the
stages that tcpserverd fuses are all derived from it.
"""

import collections

__version__ = "0.1.0"

# name: the program's name; module: netchain.<module> holds it;
# stage: it follows the stage contract (netchain/stage.py) and tcpserverd
# may run it in-process.
Program = collections.namedtuple("Program", "name module stage")

TABLE = (
    Program("accessrules", "accessrules", False),
    Program("accessrules-cdb-from-fs", "accessrules_cdb_from_fs", False),
    Program("accessrules-fs-from-cdb", "accessrules_fs_from_cdb", False),
    Program("accessrules-sql-from-fs", "accessrules_sql_from_fs", False),
    Program("accessrules-fs-from-sql", "accessrules_fs_from_sql", False),
    Program("tcprules", "tcprules", False),
    Program("tcprulescheck", "tcprulescheck", False),
    Program("tcpserver-bind", "tcpserver_bind", False),
    Program("tcpserverd", "tcpserverd", False),
    Program("proxy-server", "proxy_server", True),
    Program("tcp-env", "tcp_env", True),
    Program("ident-lookup", "ident_lookup", True),
    Program("tcpserver-access", "tcpserver_access", True),
    Program("connlimit", "connlimit", True),
    Program("tcpserver-rules", "tcpserver_rules", True),
    Program("rblsmtpd", "rblsmtpd", True),
    Program("tlsd", "tlsd", False),
    Program("tlsc", "tlsc", False),
    Program("tcpserver", "tcpserver", False),
    Program("tcpclient", "tcpclient", False),
    Program("addcr", "addcr", False),
    Program("delcr", "delcr", False),
    Program("fixcrio", "fixcrio", False),
    Program("recordio", "recordio", False),
    Program("argv0", "argv0", False),
    Program("mconnect-io", "mconnect_io", False),
    Program("tcpcat", "tcpcat", False),
    Program("mconnect", "mconnect", False),
    Program("who@", "who_at", False),
    Program("date@", "date_at", False),
    Program("finger@", "finger_at", False),
    Program("http@", "http_at", False),
)

PROGRAMS = {program.name: program.module for program in TABLE}
STAGES = {program.name: program.module for program in TABLE if program.stage}
