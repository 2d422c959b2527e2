"""Console-script entry points: one function per program, named after its
module (pyproject.toml's [project.scripts] names them)."""

from .runner import launch


def accessrules():
    launch("accessrules")


def accessrules_cdb_from_fs():
    launch("accessrules_cdb_from_fs")


def accessrules_fs_from_cdb():
    launch("accessrules_fs_from_cdb")


def tcprules():
    launch("tcprules")


def tcprulescheck():
    launch("tcprulescheck")


def tcpserver_bind():
    launch("tcpserver_bind")


def tcpserverd():
    launch("tcpserverd")


def proxy_server():
    launch("proxy_server")


def tcp_env():
    launch("tcp_env")


def ident_lookup():
    launch("ident_lookup")


def tcpserver_access():
    launch("tcpserver_access")


def connlimit():
    launch("connlimit")


def tcpserver_rules():
    launch("tcpserver_rules")


def rblsmtpd():
    launch("rblsmtpd")


def tcpserver():
    launch("tcpserver")


def tcpclient():
    launch("tcpclient")


def addcr():
    launch("addcr")


def delcr():
    launch("delcr")


def fixcrio():
    launch("fixcrio")


def recordio():
    launch("recordio")


def argv0():
    launch("argv0")


def mconnect_io():
    launch("mconnect_io")


def tcpcat():
    launch("tcpcat")


def mconnect():
    launch("mconnect")


def accessrules_sql_from_fs():
    launch("accessrules_sql_from_fs")


def accessrules_fs_from_sql():
    launch("accessrules_fs_from_sql")


def tlsd():
    launch("tlsd")


def tlsc():
    launch("tlsc")
