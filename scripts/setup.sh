#!/usr/bin/env bash
# Set up everything on a fresh machine: a virtualenv with the package (and its prebuilt side panel) installed
# editable with the dev extra. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# Building the wheel runs `npm install && npm run build` in labextension/ (hatch-jupyter-builder).
python -m pip install --quiet -e '.[dev]'
jupyter labextension list 2>&1 | grep -q "mlintern-jupyter" || {
  echo "setup: the side panel extension is not installed" >&2; exit 1; }
echo "setup: ready (.venv)"
