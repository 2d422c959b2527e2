#!/bin/sh
# Run the whole test suite (creates the virtualenv if needed).
. "$(dirname "$0")/venv.sh"
cd "$top" || exit 111
# the lint first: a style slip fails the run as a failing test does
ruff check --quiet . || exit 1
exec python -m pytest -q "$@"
