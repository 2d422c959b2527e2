#!/bin/sh
# Create ./.venv with netchain and its test tools, once; sourced by the others.
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$top/.venv/bin/python" ] || [ "$top/pyproject.toml" -nt "$top/.venv/.installed" ]; then
  python3 -m venv "$top/.venv" || exit 111
  "$top/.venv/bin/pip" install -q -e "$top[test]" --config-settings editable_mode=compat || exit 111
  touch "$top/.venv/.installed"
fi
PATH="$top/.venv/bin:$PATH"
export PATH
