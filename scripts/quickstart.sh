#!/usr/bin/env bash
# The main job: set up, then run notebooks/quickstart.ipynb headless with the offline demo model and a real
# local training job. No key, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_OFFLINE_MODE=true
python scripts/run_quickstart.py "$@"
