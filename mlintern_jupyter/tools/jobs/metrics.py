"""Numbers in a job's log (`loss=0.42 step=10`, `{"loss": 0.4}`, `loss: 0.3`), parsed once where the log is
read: they travel as `job_metrics` events that both the job card's plot and the side panel draw."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_KV = re.compile(r"([A-Za-z_][\w./-]{0,40})\s*[=:]\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")
# Lines longer than this are not scanned (a base64 blob or a tensor dump is not a metric line).
MAX_METRIC_LINE = 2_000


def parse_metrics(line: str) -> dict[str, float]:
    """The numbers of one log line; only numbers survive (nothing from the log can inject markup)."""
    stripped = line.strip()
    if len(stripped) > MAX_METRIC_LINE:
        return {}
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)
                    and v == v and abs(v) != float("inf")}
    return {key.strip("'\""): float(value) for key, value in _KV.findall(line)}


def metric_points(lines: Iterable[str]) -> list[dict[str, float]]:
    """One point per line that had any numbers, in log order."""
    return [point for point in map(parse_metrics, lines) if point]
