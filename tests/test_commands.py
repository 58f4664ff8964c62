"""The typed commands: one fixture both languages check, a pinned schema per protocol version, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlintern_jupyter.control import commands as c

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "commands.json").read_text())
# The hash of the command schema each protocol version speaks. A schema change must bump PROTOCOL_VERSION
# (a panel built for the old schema would otherwise send what the kernel misreads) and add its hash here.
PINNED = {2: "c4d3751d", 3: "94ae77c3"}


def test_the_fixture_holds_every_command_and_each_parses() -> None:
    types = {item["type"] for item in FIXTURE["valid"]}
    assert types == {cls.model_fields["type"].default for cls in c.COMMAND_TYPES}
    for item in FIXTURE["valid"]:
        assert c.parse_command(item).type == item["type"]


@pytest.mark.parametrize("item", FIXTURE["invalid"], ids=lambda i: json.dumps(i)[:60])
def test_invalid_commands_are_refused_with_one_line(item: dict) -> None:
    with pytest.raises(c.CommandError) as err:
        c.parse_command(item)
    assert "\n" not in str(err.value) and str(err.value)


def test_messages_name_the_field_and_what_it_must_be() -> None:
    def why(item: dict) -> str:
        with pytest.raises(c.CommandError) as err:
            c.parse_command(item)
        return str(err.value)

    assert why({"type": "set_budget", "usd": -5}) == "budget must be at least 0 (got -5)"
    assert why({"type": "set_budget", "usd": "lots"}) == "budget must be a number of USD (got lots)"
    assert why({"type": "set_approve_mode", "mode": "maybe"}) == "mode must be one of 'ask', 'auto', 'deny' (got maybe)"
    assert why({"type": "prompt", "text": "  "}) == "the prompt is empty: write a task under %%intern"
    assert why({"type": "explode"}) == "unknown command 'explode'"


def test_the_schema_of_this_protocol_version_is_pinned() -> None:
    assert c.PROTOCOL_VERSION in PINNED, "a new protocol version: pin its schema hash here"
    assert c.schema_sha256()[:8] == PINNED[c.PROTOCOL_VERSION], (
        "the command schema changed: bump PROTOCOL_VERSION in control/commands.py, pin the new hash here, and "
        "regenerate the panel's types (python scripts/gen_commands_ts.py)")


def test_a_message_of_another_version_is_refused_before_it_is_read() -> None:
    for version in (None, 1, c.PROTOCOL_VERSION + 1, "2"):
        with pytest.raises(c.CommandError) as err:
            c.parse_message({"v": version, "id": "x", "command": {"type": "stop"}})
        assert err.value.code == "version" and "Nothing was done" in str(err.value) or "upgrade" in str(err.value)
    assert c.parse_message({"v": c.PROTOCOL_VERSION, "id": "x", "command": {"type": "stop"}})[0] == "x"
