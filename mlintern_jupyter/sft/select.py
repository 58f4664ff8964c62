"""Which sessions go into an SFT build: tags, outcome and exclusions, decided one session at a time.

Sessions are read one by one (one log in memory at a time), so memory stays flat in the number of sessions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..agent import events as ev
from ..agent.store import read_events
from ..agent.tags import OUTCOME_RANK, outcome_rank, person_denied, session_tags
from .rows import SessionLog

# --min-outcome words -> the lowest OUTCOME_RANK kept ("stopped": budget, max iterations, awaiting approval).
MIN_OUTCOME = {"error": 0, "cancelled": OUTCOME_RANK["cancelled"], "stopped": OUTCOME_RANK["budget"],
               "done": OUTCOME_RANK["done"], "success": OUTCOME_RANK["success"]}


@dataclass(frozen=True)
class Selection:
    tags: tuple[str, ...] = ()
    min_outcome: str | None = None
    exclude: tuple[str, ...] = ()

    def keeps(self, tags: list[str]) -> bool:
        present = set(tags)
        if not set(self.tags) <= present:
            return False
        if self.min_outcome is not None and outcome_rank(tags) < MIN_OUTCOME[self.min_outcome]:
            return False
        denied = person_denied(tags)
        return not any((word == "denied" and denied) or word in present for word in self.exclude)

    def describe(self) -> str:
        parts = [f"tags {', '.join(self.tags)}" if self.tags else "",
                 f"outcome at least {self.min_outcome}" if self.min_outcome else "",
                 f"excluding {', '.join(self.exclude)}" if self.exclude else ""]
        return "; ".join(p for p in parts if p) or "all sessions"


@dataclass
class Scan:
    """Counts of what was read, for the card and the command's summary."""

    read: int = 0
    kept: int = 0
    unreadable: list[str] = field(default_factory=list)


def session_folders(root: Path) -> Iterator[Path]:
    """Session folders under `root`, in a stable order (by name)."""
    for folder in sorted(root.iterdir()):
        if (folder / "events.jsonl").is_file():
            yield folder


def selected_sessions(root: Path, selection: Selection, scan: Scan) -> Iterator[SessionLog]:
    for folder in session_folders(root):
        log = read_events(folder / "events.jsonl")
        started = next((e for e in log.events if isinstance(e, ev.SessionStarted)), None)
        if started is None:
            scan.unreadable.append(folder.name)
            continue
        scan.read += 1
        tags = session_tags(log.events)
        if not selection.keeps(tags):
            continue
        scan.kept += 1
        yield SessionLog(started.session_id or folder.name, started.name or folder.name, started.model,
                         log.events, tags)
