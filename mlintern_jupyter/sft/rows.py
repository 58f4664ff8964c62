"""Session logs -> chat rows in the OpenAI `messages` format TRL's SFTTrainer takes, with a `tools` column.

A row is what the model saw: the session's log is folded through the engine's own `state.apply`, and at the end
of each turn the transcript (compaction summaries, guard nudges and aborted results included, exactly as they
were sent) becomes the messages. The system message is the package's playbook (the per-session context a host
appends is not in the log). Shapes, from TRL's dataset formats ("Tool Calling") and the OpenAI Chat API:

    {"role": "assistant", "content": "...", "tool_calls": [{"id": "...", "type": "function",
        "function": {"name": "bash", "arguments": {"command": "ls"}}}]}
    {"role": "tool", "tool_call_id": "...", "name": "bash", "content": "..."}

Arguments are JSON objects (chat templates render them with `tojson`); stored as `datasets`' Json type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ..agent import events as ev
from ..agent.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolResultMessage,
    UserMessage,
    arguments_object,
)
from ..agent.state import SessionState, apply

RowsPer = Literal["turn", "session"]


def openai_message(message: Message) -> dict[str, Any]:
    match message:
        case SystemMessage(text=text):
            return {"role": "system", "content": text}
        case UserMessage(text=text):
            return {"role": "user", "content": text}
        case AssistantMessage(text=text, tool_calls=calls):
            out: dict[str, Any] = {"role": "assistant", "content": text}
            if calls:
                out["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": arguments_object(c.arguments)}}
                                     for c in calls]
            return out
        case ToolResultMessage(call_id=call_id, tool=tool, content=content):
            return {"role": "tool", "tool_call_id": call_id, "name": tool, "content": content}
    raise TypeError(f"not a transcript message: {type(message).__name__}")


@dataclass(frozen=True)
class SessionLog:
    """One session's decoded log and what was computed from it once."""

    session_id: str
    name: str
    model: str
    events: list[ev.Event]
    tags: list[str]


def session_rows(log: SessionLog, system_prompt: str, *, per: RowsPer = "turn", kernel_digests: bool = True,
                 convert: Callable[[Message], dict[str, Any]] = openai_message) -> Iterator[dict[str, Any]]:
    """The rows of one session: one per ended turn (the transcript at its end) or one for the whole session.
    `convert` turns each transcript message into its row form (the builder's caches redacted ones)."""
    state = SessionState.initial(system_prompt)
    turn = 0
    model = log.model
    last: dict[str, Any] | None = None
    for event in log.events:
        if isinstance(event, ev.UserPrompt) and not kernel_digests and event.kernel_digest:
            event = dataclasses.replace(event, kernel_digest=None)
        apply(state, event)
        if isinstance(event, ev.ModelChanged | ev.SessionStarted):
            model = event.model or model
        if isinstance(event, ev.TurnEnded):
            turn += 1
            last = _row(log, [convert(m) for m in state.transcript.messages], turn, model, event)
            if per == "turn" and _trainable(last):
                yield last
    if per == "session" and last is not None and _trainable(last):
        last["turn"] = None
        yield last


def _row(log: SessionLog, messages: list[dict[str, Any]], turn: int, model: str, end: ev.TurnEnded) -> dict[str, Any]:
    return {"session_id": log.session_id, "session_name": log.name, "turn": turn, "model": model,
            "timestamp": end.ts, "turn_outcome": end.reason, "tags": log.tags, "messages": messages}


def _trainable(row: dict[str, Any]) -> bool:
    """A row teaches something only if the model said or did something in it."""
    return any(m["role"] == "assistant" for m in row["messages"])
