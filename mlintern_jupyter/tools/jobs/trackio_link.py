"""trackio, Hugging Face's local-first experiment tracker, as the jobs' metrics path.

Every job gets TRACKIO_PROJECT (one project per session unless the model names one), and on HF Jobs
TRACKIO_SPACE_ID (the dashboard Space, `<namespace>/mlintern-trackio` unless named), so a script with
`report_to="trackio"` logs where the job card can find it: locally in trackio's own store, remotely on the Space.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..registry import ToolContext, ToolError

TRACKIO_SPACE = "mlintern-trackio"
_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}$")
_SPACE_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")


def default_project(session_id: str) -> str:
    return f"mlintern-{session_id[:8] or 'session'}"


def local_store(workspace: Path) -> Path:
    """trackio's store for local jobs: in the workspace, so a job in the OS sandbox can write it too."""
    return workspace / ".trackio"


def trackio_env(ctx: ToolContext, project: str | None, space_id: str | None, local: bool = False) -> dict[str, str]:
    """The job's trackio variables; a malformed name is refused (it ends up in a URL and a file path)."""
    project = project or default_project(ctx.session_id)
    if not _NAME.match(project):
        raise ToolError(f"trackio_project {project!r} is not a plain name: use letters, digits, '-', '_' or '.'")
    env = {"TRACKIO_PROJECT": project}
    if local:
        env["TRACKIO_DIR"] = str(local_store(ctx.workspace))
    if space_id:
        if not _SPACE_ID.match(space_id):
            raise ToolError(f"trackio_space_id {space_id!r} is not a Space id: use 'user/name'")
        env["TRACKIO_SPACE_ID"] = space_id
    return env


# A script that logs with trackio: the dashboard Space is created (private) only for those.
USES_TRACKIO = re.compile(r"report_to\W{1,6}trackio|^\s*(import|from)\s+trackio\b", re.MULTILINE)
# What a trackio dashboard Space runs: trackio's own app (trackio.show) on the gradio SDK.
DASHBOARD_FILES = {
    "README.md": "---\ntitle: trackio dashboard\nsdk: gradio\napp_file: app.py\ntags:\n- trackio\n---\n"
                 "Metrics of the jobs mlintern-jupyter launched.\n",
    "requirements.txt": "trackio\n",
    "app.py": "import trackio\n\ntrackio.show()\n",
}


def dashboard_url(endpoint: str, env: dict[str, str]) -> str:
    space_id = env.get("TRACKIO_SPACE_ID", "")
    return f"{endpoint.rstrip('/')}/spaces/{space_id}" if _SPACE_ID.match(space_id) else ""


async def ensure_dashboard(api: Any, space_id: str) -> str:
    """The dashboard Space, created private with trackio's app on first use (the job's approval covers it);
    trackio in the job then logs to it. Returns a note for the result, "" when it existed."""
    from . import hf

    if await hf.call(api.repo_exists, space_id, repo_type="space", what="the Hub (trackio Space)"):
        return ""
    from huggingface_hub import CommitOperationAdd

    await hf.call(api.create_repo, space_id, repo_type="space", space_sdk="gradio", private=True, exist_ok=True,
                  what="the Hub (create the trackio Space)")
    await hf.call(api.create_commit, space_id, [CommitOperationAdd(p, c.encode()) for p, c in DASHBOARD_FILES.items()],
                  repo_type="space", commit_message="trackio dashboard", what="the Hub (trackio Space files)")
    return f"Created the private trackio dashboard Space {space_id}."


# Run by the kernel's Python with TRACKIO_DIR set to the job's store: trackio reads that folder once, at import.
_READER = """
import json, sys
from datetime import datetime
from trackio.sqlite_storage import SQLiteStorage
project, since = sys.argv[1], float(sys.argv[2])
points = []
for record in SQLiteStorage.get_run_records(project):
    created = datetime.fromisoformat(str(record.get("created_at") or "1970-01-01T00:00:00+00:00"))
    if created.timestamp() >= since - 1:
        points += SQLiteStorage.get_logs(project, record.get("name"), run_id=record.get("id"))
print(json.dumps(points, default=str))
"""


def trackio_points(project: str, since: float, store: str, limit: int = 2_000) -> list[dict[str, float]]:
    """The numbers trackio recorded for `project` in the store folder `store`, from runs created at or after
    `since` (epoch seconds): one point per logged step, numbers only. [] when there are none or trackio is absent."""
    env = {**os.environ, "TRACKIO_DIR": store}
    try:
        done = subprocess.run([sys.executable, "-c", _READER, project, str(since)], env=env, capture_output=True,
                              text=True, timeout=120, check=True)
        rows = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else []
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return []
    points = []
    for row in rows if isinstance(rows, list) else []:
        point = {str(k): float(v) for k, v in row.items() if k != "timestamp" and isinstance(v, int | float)
                 and not isinstance(v, bool) and v == v and abs(v) != float("inf")} if isinstance(row, dict) else {}
        if point:
            points.append(point)
    return points[-limit:]
