"""A small SMTP dialogue served in-process by tcpserverd (an async handler).

    PYTHONPATH=examples/python tcpserver-bind 127.0.0.1 2525 \
      tcpserverd -v2 -c 100 -C 5 tcp-env -H tcpserver-access -H -i rules \
      python:hello_smtp:serve

It greets, answers HELO/EHLO, NOOP, RSET and QUIT, echoes every other
command back in a 502 reply, and hangs up after IDLE seconds of silence
or MAXLINE bytes without a newline.  The greeting takes GREETING from the
environment the chain built (a rule's env/GREETING), like any program.
"""

import asyncio

IDLE = 60.0
MAXLINE = 1000  # RFC 5321: 512 for a command line; some slack


async def serve(reader, writer, env):
    host = env.get("TCPLOCALHOST") or env.get("TCPLOCALIP", "localhost")
    await _reply(writer, "220 %s ESMTP %s" % (host, env.get("GREETING", "netchain")))
    while True:
        try:
            line = await asyncio.wait_for(reader.readuntil(b"\n"), IDLE)
        except asyncio.TimeoutError:
            await _reply(writer, "421 4.4.2 %s idle too long, closing" % host)
            return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return  # the client went away, or sent a line with no end
        if len(line) > MAXLINE:
            await _reply(writer, "500 5.5.2 line too long")
            continue
        verb, _, argument = line.decode("ascii", "replace").strip().partition(" ")
        verb = verb.upper()
        if verb in ("HELO", "EHLO"):
            await _reply(writer, "250 %s hello %s [%s]" % (host, argument or "?", env["TCPREMOTEIP"]))
        elif verb in ("NOOP", "RSET"):
            await _reply(writer, "250 2.0.0 ok")
        elif verb == "QUIT":
            await _reply(writer, "221 2.0.0 %s closing" % host)
            return
        else:
            await _reply(writer, "502 5.5.1 not implemented: %s" % _printable(verb))


def _printable(text):
    return "".join(char if " " <= char <= "~" else "?" for char in text)[:64]


async def _reply(writer, text):
    writer.write(text.encode("ascii", "replace") + b"\r\n")
    await writer.drain()
