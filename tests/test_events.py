"""Every event kind survives JSON round-trip; the shared fixture holds one of each (the panel tests use it too)."""

import dataclasses
import json
from pathlib import Path

import pytest

from mlintern_jupyter.agent import events as ev

FIXTURE = Path(__file__).parent / "fixtures" / "events.jsonl"


def fixture_events() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def test_fixture_has_one_event_of_every_kind() -> None:
    kinds = [e["kind"] for e in fixture_events()]
    assert sorted(kinds) == sorted(ev.EVENT_TYPES), "tests/fixtures/events.jsonl must hold exactly one of each kind"


@pytest.mark.parametrize("data", fixture_events(), ids=lambda d: d["kind"])
def test_round_trip(data: dict) -> None:
    event = ev.event_from_dict(data)
    assert event.kind == data["kind"]
    assert json.loads(json.dumps(event.to_dict())) == data


def test_events_are_frozen_and_carry_the_common_fields() -> None:
    event = ev.TurnEnded(reason="done")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.reason = "error"  # type: ignore[misc]
    assert {"kind", "ts", "seq", "session_id"} <= set(event.to_dict())


def test_design_fields_exist() -> None:
    """The field names DESIGN section 3 makes public."""
    required = {
        "tool_call": {"call_id", "tool", "arguments"},
        "approval_requested": {"call_id", "nonce", "action_sha256", "cost_usd", "expires_at"},
        "approval_resolved": {"call_id", "decision", "by", "feedback"},
        "tool_result": {"call_id", "tool", "ok", "content"},
        "usage": {"prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"},
        "guard_fired": {"guard", "message"},
        "turn_ended": {"reason"},
    }
    for kind, names in required.items():
        fields = {f.name for f in dataclasses.fields(ev.EVENT_TYPES[kind])}
        assert names <= fields, kind


def test_unknown_kind_and_bad_fields_are_decode_errors() -> None:
    with pytest.raises(ev.EventDecodeError):
        ev.event_from_dict({"kind": "nope"})
    with pytest.raises(ev.EventDecodeError):
        ev.event_from_dict({"kind": "tool_result"})  # required fields missing
    # Strict: no unknown field, no coercion of a string into a number, no half event.
    for bad in ({"kind": "notice", "message": "m", "future_field": 1}, {"kind": "usage", "prompt_tokens": "12"},
                {"kind": "approval_resolved", "call_id": "c", "decision": "maybe", "by": "person"},
                {"kind": "turn_ended", "reason": "bored"}, {"message": "no kind"}):
        with pytest.raises(ev.EventDecodeError):
            ev.event_from_dict(bad)
    with pytest.raises(ev.EventDecodeError, match="unknown event kind 'nope'"):
        ev.decode_event('{"kind": "nope"}')
    with pytest.raises(ev.EventDecodeError, match="prompt_tokens"):
        ev.decode_event('{"kind": "usage", "prompt_tokens": "12"}')
