#!/bin/sh
# Demo: serve a port on 127.0.0.1 with access rules, connect once allowed
# (from 127.0.0.1) and once denied (from 127.0.0.2), show the log, stop.
# Creates the virtualenv if needed.  No DNS lookups are made (tcp-env -H).
. "$(dirname "$0")/venv.sh"
demo=$(mktemp -d "${TMPDIR:-/tmp}/netchain-demo.XXXXXX") || exit 111
cd "$demo" || exit 111
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server"; rm -rf "$demo"; }
trap cleanup EXIT INT TERM

echo "== rules: allow 127.0.0.1 with GREETING, deny the rest of 127.0.0.0/8"
accessrules rules allow -s GREETING="hello from netchain" 127.0.0.1
accessrules rules deny 127.0.0.0/8
accessrules rules list
accessrules-cdb-from-fs rules.cdb rules

echo "== serving: tcpserver-bind 127.0.0.1 0 tcpserverd -v2 tcp-env -H tcpserver-access -H -v2 -x rules.cdb sh -c ..."
tcpserver-bind 127.0.0.1 0 tcpserverd -1 -v2 -c 10 \
  tcp-env -H tcpserver-access -H -v2 -x rules.cdb \
  sh -c 'echo "$GREETING: you are $TCPREMOTEIP:$TCPREMOTEPORT (connection $TCPCONNNUM)"' \
  > port 2> log &
server=$!
i=0; while [ ! -s port ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
port=$(cat port)
echo "listening on 127.0.0.1 port $port (pid $server)"

for source in 127.0.0.1 127.0.0.2; do
  python - "$port" "$source" <<'PY'
import socket, sys
port, source = int(sys.argv[1]), sys.argv[2]
with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as s:
    data = s.recv(200)
print("client from %s got: %s" % (source, data.decode().strip() or "(connection closed: denied)"))
PY
done
# wait (at most 10 s) until the server has logged both connections
i=0; while ! grep -q "refused 127.0.0.2" log && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill "$server" && wait "$server"; server=
echo "== the server's log"
cat log
