#!/usr/bin/env bash
# The interactive version: JupyterLab on the quickstart notebook, with the side panel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_OFFLINE_MODE=true
exec jupyter lab notebooks/quickstart.ipynb "$@"
