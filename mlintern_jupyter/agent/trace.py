"""Claude Code JSONL export of a session's event log (the format the HF Agent Trace Viewer reads).

One record per transcript message: ``user`` records for prompts, tool results and compaction summaries,
``assistant`` records for model messages. Records form a ``parentUuid`` chain; uuids are derived from
``(session_id, seq)`` so exporting the same log twice gives byte-identical files, and every record carries
its own event's timestamp (ml-intern stamped every record with one time).

What third-party readers (claude-code-log, ccusage, ...) rely on: each assistant record carries the usage of
its own model call (the usage event just before its message); ``input_tokens`` excludes cached tokens, which
are reported in ``cache_read_input_tokens`` / ``cache_creation_input_tokens``; model calls that made no
transcript message (compaction summaries, research sub-agents) get a sidechain assistant record of their own,
so the totals a reader adds up equal the session's; ``sessionId`` is a UUID; ``cwd`` is the notebook's
directory; a prompt's first content block is the person's text (readers title sessions with it).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlintern_jupyter import __version__
from mlintern_jupyter.agent.events import (
    AssistantMessage,
    Compacted,
    Event,
    ModelChanged,
    SessionStarted,
    ToolCall,
    ToolResult,
    Usage,
    UserPrompt,
)
from mlintern_jupyter.agent.files import write_atomic
from mlintern_jupyter.agent.messages import arguments_object
from mlintern_jupyter.agent.redact import RedactionError, Redactor
from mlintern_jupyter.agent.state import fence
from mlintern_jupyter.agent.tags import session_tags
from mlintern_jupyter.agent.trace_tags import tags_document, tags_sidecar

__all__ = ["TRACE_NAMESPACE", "events_to_trace", "write_trace"]

# Fixed namespace for record uuids: uuid5(TRACE_NAMESPACE, f"{session_id}:{seq}"). Never change it, or
# re-exported traces stop matching the ones already uploaded.
TRACE_NAMESPACE = uuid.UUID("6f1c2a8e-3b7d-5e4f-9a10-2c3d4e5f6a7b")
COMPACT_SUMMARY_PREFIX = (
    "This session is being continued from a previous conversation that ran out of context. "
    "The conversation is summarized below:\n"
)


def _usage_block(usage: Usage | None) -> dict[str, int]:
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    cached = usage.cache_read_tokens + usage.cache_write_tokens
    return {
        # Our prompt_tokens count every input token (as litellm reports them); readers add the cache fields to
        # input_tokens themselves, so counting them here too would bill them twice.
        "input_tokens": max(0, usage.prompt_tokens - cached),
        "output_tokens": usage.completion_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
    }


# Events that change the transcript: a usage event is the model call of the next assistant message only when
# none of these comes between them (the loop emits usage, then the message it paid for).
_TRANSCRIPT_EVENTS = (AssistantMessage, ToolResult, UserPrompt, Compacted, ToolCall)


def _own_usage(events: list[Event], index: int) -> int | None:
    """Index of the usage event of the assistant message events[index]: the one just before it."""
    for back in range(index - 1, -1, -1):
        event = events[back]
        if isinstance(event, Usage):
            return back
        if isinstance(event, _TRANSCRIPT_EVENTS):
            return None
    return None


def trace_session_id(session_id: str) -> str:
    """The session id as a UUID: ids from before UUIDs map to a fixed uuid5 of themselves."""
    try:
        return str(uuid.UUID(session_id))
    except ValueError:
        return str(uuid.uuid5(TRACE_NAMESPACE, session_id))


def events_to_trace(
    events: Iterable[Event],
    *,
    session_id: str,
    model: str | None = None,
    cwd: str = "",
    version: str = __version__,
) -> list[dict[str, Any]]:
    """Claude Code JSONL records (unredacted) for a session's events, in log order."""
    events = list(events)
    started = next((e for e in events if isinstance(e, SessionStarted)), None)
    cwd = cwd or (started.cwd if started is not None else "")
    trace_id = trace_session_id(session_id)
    owned = {u for i, e in enumerate(events) if isinstance(e, AssistantMessage)
             for u in [_own_usage(events, i)] if u is not None}
    tool_calls = {e.call_id: e for e in events if isinstance(e, ToolCall)}
    announced = {
        str(call.get("id"))
        for e in events
        if isinstance(e, AssistantMessage)
        for call in e.tool_calls
        if isinstance(call, dict)
    }
    records: list[dict[str, Any]] = []
    used: set[str] = set()
    current_model = model or ""
    last_ts = ""
    main_parent: list[str | None] = [None]

    def add(event: Event, rtype: str, message: dict[str, Any], sidechain: bool = False, **extra: Any) -> None:
        key = f"{session_id}:{event.seq}" + (":usage" if sidechain else "")
        record_uuid = str(uuid.uuid5(TRACE_NAMESPACE, key))
        n = 0
        while record_uuid in used:  # duplicate seqs (hand-built logs): stay unique, stay deterministic
            n += 1
            record_uuid = str(uuid.uuid5(TRACE_NAMESPACE, f"{key}:{n}"))
        used.add(record_uuid)
        records.append(
            {
                "type": rtype,
                "uuid": record_uuid,
                "parentUuid": main_parent[0],
                "sessionId": trace_id,
                "timestamp": event.ts or last_ts,
                "cwd": cwd,
                "version": version,
                "isSidechain": sidechain,
                "userType": "external",
                **extra,
                "message": message,
            }
        )
        if not sidechain:
            main_parent[0] = record_uuid

    def assistant(event: Event, index: int, text: str, calls: list[tuple[str, str, Any]], name: str,
                  usage: Usage | None = None, sidechain: bool = False) -> None:
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        for call_id, tool, arguments in calls:
            recorded = tool_calls.get(call_id)
            args = recorded.arguments if recorded is not None else arguments
            content.append({"type": "tool_use", "id": call_id, "name": tool, "input": arguments_object(args)})
        add(
            event,
            "assistant",
            {
                "id": "msg_" + uuid.uuid5(TRACE_NAMESPACE, f"{session_id}:{event.seq}:message").hex,
                "type": "message",
                "role": "assistant",
                "model": name or "unknown",
                "content": content,
                "stop_reason": "tool_use" if calls else "end_turn",
                "stop_sequence": None,
                "usage": _usage_block(usage),
            },
            sidechain=sidechain,
        )

    for index, event in enumerate(events):
        last_ts = event.ts or last_ts
        match event:
            case SessionStarted(model=name) | ModelChanged(model=name):
                current_model = name or current_model
            case UserPrompt(text=text, kernel_digest=digest):
                content: Any = text
                if digest:
                    # The person's text first: readers title a session with the first block.
                    content = [{"type": "text", "text": text}, {"type": "text", "text": (
                        "What ran in the kernel since the last prompt:\n" + fence("kernel", digest))}]
                add(event, "user", {"role": "user", "content": content})
            case Usage() if index not in owned:
                # A model call with no transcript message of its own (compaction, a research sub-agent):
                # a sidechain record carries its usage, so readers' totals match the session's.
                what = "context compaction" if "(" not in event.model else event.model.split("(")[-1].rstrip(")")
                assistant(event, index, f"[{what} model call: its usage]", [], event.model or current_model,
                          usage=event, sidechain=True)
            case AssistantMessage(text=text, tool_calls=calls, model=name, thinking_blocks=thinking):
                parsed = [
                    (str(c.get("id", "")), str(c.get("name", "")), c.get("arguments", {}))
                    for c in calls
                    if isinstance(c, dict)
                ]
                own = _own_usage(events, index)
                assistant(event, index, text, parsed, name or current_model,
                          usage=events[own] if own is not None else None)  # type: ignore[arg-type]
                if thinking:
                    blocks = [
                        {
                            "type": "thinking",
                            "thinking": str(b.get("thinking", "")),
                            "signature": str(b.get("signature", "")),
                        }
                        for b in thinking
                        if isinstance(b, dict)
                    ]
                    records[-1]["message"]["content"][:0] = blocks
            case ToolCall(call_id=call_id, tool=tool, arguments=arguments) if call_id not in announced:
                # A call no assistant message listed (e.g. injected by a sub-agent): give its result a tool_use.
                assistant(event, index, "", [(call_id, tool, arguments)], current_model)
            case ToolResult(call_id=call_id, content=text, ok=ok):
                add(
                    event,
                    "user",
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": call_id, "content": text, "is_error": not ok}
                        ],
                    },
                )
            case Compacted(summary=summary):
                add(
                    event,
                    "user",
                    {"role": "user", "content": [{"type": "text", "text": COMPACT_SUMMARY_PREFIX + summary}]},
                    isCompactSummary=True,
                    isVisibleInTranscriptOnly=True,
                )
            case _:
                pass  # deltas (the full assistant_message follows), approvals, jobs, guards: not transcript
    return records


def write_trace(
    events: Iterable[Event],
    path: str | os.PathLike[str],
    redactor: Redactor,
    *,
    session_id: str | None = None,
    model: str | None = None,
    cwd: str = "",
) -> int:
    """Redact and write the trace as JSONL; returns the number of records. Written to a temporary file
    and renamed, so a redaction (or any) failure leaves no file and no partial file; RedactionError
    propagates to the caller, which must not upload anything."""
    events = list(events)
    if session_id is None:
        session_id = next((e.session_id for e in events if e.session_id), "")
    records = events_to_trace(events, session_id=session_id, model=model, cwd=cwd)
    redacted = redactor.redact_obj(records)
    if not isinstance(redacted, list) or len(redacted) != len(records):
        raise RedactionError("redaction changed the record list")
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in redacted)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The session's tags are stored with its trace (tags.py); names and counts only, redacted all the same.
    tags = redactor.redact_obj(session_tags(events))
    write_atomic(tags_sidecar(target), tags_document(trace_session_id(session_id), tags).decode())
    write_atomic(target, data)
    return len(redacted)
