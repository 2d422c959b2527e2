#!/bin/sh
# Run the whole test suite (creates the virtualenv if needed).
. "$(dirname "$0")/venv.sh"
cd "$top" && exec python -m pytest -q "$@"
