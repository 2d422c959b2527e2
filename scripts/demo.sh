#!/bin/sh
# Demo: build a rules tree with accessrules, compile it, check addresses,
# and compile a tcprules file (creates the virtualenv if needed).
. "$(dirname "$0")/venv.sh"
demo=$(mktemp -d "${TMPDIR:-/tmp}/netchain-demo.XXXXXX") || exit 111
trap 'rm -rf "$demo"' EXIT INT TERM
set -e
cd "$demo"
echo "== a rules tree, edited with accessrules"
accessrules rules allow -s RELAYCLIENT= 127.0.0.1
accessrules rules deny 10.0.0.0/8
accessrules rules allow -x 'echo hello from the exec rule' example.com
accessrules rules deny @
accessrules rules list
echo "== checks"
for q in "127.0.0.1" "10.1.2.3" "192.0.2.7 mail.example.com" "192.0.2.7"; do
  echo "\$ accessrules rules check $q"; accessrules rules check $q || true
done
echo "== compile the tree to cdb (byte-compatible with s6-accessrules-cdb-from-fs)"
accessrules-cdb-from-fs rules.cdb rules && ls -l rules.cdb
echo "== a djb tcprules file"
printf '127.0.0.1:allow,RELAYCLIENT=""\n10.:deny\n:allow\n' | tee rules.txt
tcprules tcp.cdb tcp.tmp < rules.txt
TCPREMOTEIP=10.9.8.7 tcprulescheck tcp.cdb
