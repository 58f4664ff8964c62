"""The session state is a fold of its log: generated event sequences give the same state live and replayed,
after every prefix (hypothesis); and the fold is what resume uses."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from mlintern_jupyter.agent import events as ev

from .fold_check import SEQUENCES, live_vs_replay


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SEQUENCES)
def test_live_state_equals_replayed_state_at_every_prefix(events: list[ev.Event]) -> None:
    with tempfile.TemporaryDirectory() as home:
        compared, mismatches = live_vs_replay(events, Path(home))
    assert compared == len(events) + 1
    assert mismatches == []
