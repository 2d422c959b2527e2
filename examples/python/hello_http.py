"""A small HTTP/1.0 responder served in-process by tcpserverd (a plain
function, run in a worker thread).

    PYTHONPATH=examples/python tcpserver-bind 127.0.0.1 8080 \
      tcpserverd -v2 -c 100 tcp-env -H tcpserver-access -H -i rules \
      python:hello_http:serve

It reads one request head (at most MAXHEAD bytes, within TIMEOUT
seconds), answers GET and HEAD with a short text page naming the client
and the chain's GREETING, anything else with 405, a malformed or
oversized head with 400, and closes the connection (no keep-alive).
"""

import socket

MAXHEAD = 8192
TIMEOUT = 10.0


def serve(sock, env):
    sock.settimeout(TIMEOUT)
    try:
        head = _read_head(sock)
    except socket.timeout:
        return
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1") if head else ""
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        _respond(sock, "400 Bad Request", "bad request\n")
    elif parts[0] not in ("GET", "HEAD"):
        _respond(sock, "405 Method Not Allowed", "GET or HEAD only\n", allow=True)
    else:
        body = "%s %s\n" % (env.get("GREETING", "hello"), env["TCPREMOTEIP"])
        _respond(sock, "200 OK", body, send_body=parts[0] == "GET")


def _read_head(sock):
    """The request head up to its blank line; b'' when it is malformed,
    too long, or the client stops early."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAXHEAD:
            return b""
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def _respond(sock, status, body, send_body=True, allow=False):
    payload = body.encode("utf-8")
    head = ["HTTP/1.0 %s" % status, "Content-Type: text/plain; charset=utf-8",
            "Content-Length: %d" % len(payload), "Connection: close"]
    if allow:
        head.append("Allow: GET, HEAD")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (payload if send_body else b""))
