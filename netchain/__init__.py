"""netchain: the UCSPI/TCP server tool family as a chain of small programs."""

__version__ = "0.1.0"

# program name -> module name; one module per program (doc/design.md 6)
PROGRAMS = {
    "accessrules": "accessrules",
    "accessrules-cdb-from-fs": "accessrules_cdb_from_fs",
    "accessrules-fs-from-cdb": "accessrules_fs_from_cdb",
    "tcprules": "tcprules",
    "tcprulescheck": "tcprulescheck",
    "tcpserver-bind": "tcpserver_bind",
    "tcpserverd": "tcpserverd",
    "tcp-env": "tcp_env",
    "ident-lookup": "ident_lookup",
    "tcpserver-access": "tcpserver_access",
    "connlimit": "connlimit",
    "tcpserver-rules": "tcpserver_rules",
    "tcpserver": "tcpserver",
    "tcpclient": "tcpclient",
}
