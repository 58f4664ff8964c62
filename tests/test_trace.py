"""Claude Code JSONL trace export: record shapes, the parentUuid chain, timestamps, determinism, redaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from mlintern_jupyter.agent.events import (
    AssistantDelta,
    AssistantMessage,
    Compacted,
    Event,
    SessionStarted,
    ToolCall,
    ToolResult,
    TurnEnded,
    Usage,
    UserPrompt,
    event_from_dict,
)
from mlintern_jupyter.agent.redact import RedactionError, Redactor
from mlintern_jupyter.agent.trace import events_to_trace, trace_session_id, write_trace

SID = "6b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
FAKE_TOKEN = "hf_" + "TraceTestToken" + "0123456789abcdefghij"


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class TextBlock(Strict):
    type: Literal["text"]
    text: str


class ThinkingBlock(Strict):
    type: Literal["thinking"]
    thinking: str
    signature: str


class ToolUseBlock(Strict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(Strict):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str
    is_error: bool


class UsageModel(Strict):
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int


class UserMessage(Strict):
    role: Literal["user"]
    content: str | list[Annotated[TextBlock | ToolResultBlock, Field(discriminator="type")]]


class AssistantMessageModel(Strict):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[Annotated[TextBlock | ToolUseBlock | ThinkingBlock, Field(discriminator="type")]]
    stop_reason: Literal["end_turn", "tool_use"]
    stop_sequence: None = None
    usage: UsageModel


class RecordBase(BaseModel):
    # Claude Code records carry more optional fields (gitBranch, requestId, isCompactSummary, ...).
    model_config = ConfigDict(strict=True, extra="allow")
    uuid: str
    parentUuid: str | None
    sessionId: str
    timestamp: str = Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
    cwd: str
    version: str
    isSidechain: bool
    userType: Literal["external"]


class UserRecord(RecordBase):
    type: Literal["user"]
    message: UserMessage


class AssistantRecord(RecordBase):
    type: Literal["assistant"]
    message: AssistantMessageModel


RECORD = TypeAdapter(Annotated[UserRecord | AssistantRecord, Field(discriminator="type")])


def _events() -> list[Event]:
    def ts(n: int) -> str:
        return f"2025-01-01T12:00:{n:02d}.000Z"

    args_1 = {"operation": "uv", "script": "print('hi')", "hardware_flavor": "a10g-small", "timeout": "2h"}
    raw = [
        SessionStarted(model="anthropic/claude-sonnet-4-5"),
        UserPrompt(text="fine-tune distilbert on imdb", cell_id="c1"),
        AssistantDelta(text="Let me"),
        # The loop records a call's usage right before the message it paid for.
        Usage(prompt_tokens=1200, completion_tokens=80, cache_read_tokens=1000, cache_write_tokens=150, cost_usd=0.01),
        AssistantMessage(
            text="Let me inspect the dataset and launch a job.",
            tool_calls=[
                {"id": "call_1", "name": "hf_jobs", "arguments": json.dumps(args_1)},
                {"id": "call_2", "name": "hf_inspect_dataset", "arguments": '{"dataset": "imdb"'},
            ],
            model="anthropic/claude-sonnet-4-5",
        ),
        ToolCall(call_id="call_1", tool="hf_jobs", arguments=args_1),
        ToolCall(call_id="call_2", tool="hf_inspect_dataset", arguments='{"dataset": "imdb"'),
        ToolResult(
            call_id="call_1", tool="hf_jobs", ok=True, content=f"job started; env HF_TOKEN={FAKE_TOKEN} was injected"
        ),
        ToolResult(
            call_id="call_2", tool="hf_inspect_dataset", ok=False, content="invalid JSON arguments", status="invalid"
        ),
        # The compaction call made no transcript message: its usage gets a sidechain record.
        Usage(prompt_tokens=900, completion_tokens=60, cost_usd=0.002, model="anthropic/claude-sonnet-4-5"),
        Compacted(summary="User wants distilbert on imdb; job launched.", start=2, end=6),
        Usage(prompt_tokens=400, completion_tokens=30, cache_read_tokens=300, cost_usd=0.001),
        AssistantMessage(text="The job is running; accuracy will be reported.", model=""),
        TurnEnded(reason="done"),
    ]
    return [
        event_from_dict({**e.to_dict(), "session_id": SID, "seq": i + 1, "ts": ts(i + 1)}) for i, e in enumerate(raw)
    ]


def test_record_shapes_chain_and_timestamps() -> None:
    events = _events()
    records = events_to_trace(events, session_id=SID, cwd="/work")
    assert [r["type"] for r in records] == ["user", "assistant", "user", "user", "assistant", "user", "assistant"]
    assert [r["isSidechain"] for r in records] == [False, False, False, False, True, False, False]
    parsed = [RECORD.validate_python(r) for r in records]
    uuids = [r.uuid for r in parsed]
    assert len(set(uuids)) == len(uuids)
    assert parsed[0].parentUuid is None
    # The main chain links record to record; the sidechain usage record hangs off it without joining it.
    main = [r for r in parsed if not r.isSidechain]
    assert all(r.parentUuid == prev.uuid for r, prev in zip(main[1:], main, strict=False))
    assert parsed[4].parentUuid == parsed[3].uuid
    assert len({r.timestamp for r in parsed}) == len(parsed)  # per record, never one shared time
    assert all(r.sessionId == SID and r.cwd == "/work" for r in parsed)

    first, tool_use, result_1, result_2, compaction, summary, final = records
    assert first["message"] == {"role": "user", "content": "fine-tune distilbert on imdb"}
    message = tool_use["message"]
    assert message["model"] == "anthropic/claude-sonnet-4-5" and message["stop_reason"] == "tool_use"
    assert message["content"][0] == {"type": "text", "text": "Let me inspect the dataset and launch a job."}
    assert message["content"][1]["input"]["hardware_flavor"] == "a10g-small"
    assert message["content"][2] == {
        "type": "tool_use",
        "id": "call_2",
        "name": "hf_inspect_dataset",
        "input": {"_raw": '{"dataset": "imdb"'},
    }
    # Its own call's usage; input_tokens without the cached tokens (readers add those themselves).
    assert message["usage"] == {
        "input_tokens": 50,
        "output_tokens": 80,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 150,
    }
    assert compaction["message"]["usage"]["input_tokens"] == 900
    assert compaction["message"]["usage"]["output_tokens"] == 60
    assert result_1["message"]["content"][0]["tool_use_id"] == "call_1"
    assert result_1["message"]["content"][0]["is_error"] is False
    assert result_2["message"]["content"][0]["is_error"] is True
    assert summary["isCompactSummary"] is True
    assert "job launched" in summary["message"]["content"][0]["text"]
    # The last message carries its own usage too (the model falls back to the session's).
    assert final["message"]["usage"] == {"input_tokens": 100, "output_tokens": 30, "cache_read_input_tokens": 300,
                                         "cache_creation_input_tokens": 0}
    assert final["message"]["model"] == "anthropic/claude-sonnet-4-5"
    assert final["message"]["stop_reason"] == "end_turn"
    assert final["timestamp"] == "2025-01-01T12:00:13.000Z"
    totals = [sum(r["message"]["usage"][k] for r in records if r["type"] == "assistant")
              for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")]
    usages = [e for e in events if isinstance(e, Usage)]
    assert totals[0] + totals[1] + totals[2] == sum(u.prompt_tokens for u in usages)
    assert totals[3] == sum(u.completion_tokens for u in usages)


def test_prompt_text_first_then_kernel_digest_and_uuid_session_ids() -> None:
    prompt = UserPrompt(session_id="20250101-120000-a1b2c3", seq=1, ts="2025-01-01T12:00:01.000Z",
                        text="plot the loss", kernel_digest="In [3]: df.shape")
    (record,) = events_to_trace([prompt], session_id="20250101-120000-a1b2c3")
    blocks = record["message"]["content"]
    assert blocks[0] == {"type": "text", "text": "plot the loss"}
    assert "df.shape" in blocks[1]["text"] and '<data source="kernel">' in blocks[1]["text"]
    # An id from before UUIDs maps to a fixed UUID, so readers that key on UUIDs still work.
    import uuid

    assert uuid.UUID(record["sessionId"]) and record["sessionId"] == trace_session_id("20250101-120000-a1b2c3")


def test_deterministic() -> None:
    a = events_to_trace(_events(), session_id=SID)
    b = events_to_trace(_events(), session_id=SID)
    assert json.dumps(a) == json.dumps(b)
    assert events_to_trace(_events(), session_id="other")[0]["uuid"] != a[0]["uuid"]


def test_tool_call_without_an_assistant_message_gets_a_tool_use() -> None:
    events = [
        UserPrompt(session_id=SID, seq=1, ts="2025-01-01T12:00:01.000Z", text="hi"),
        ToolCall(
            session_id=SID, seq=2, ts="2025-01-01T12:00:02.000Z", call_id="c9", tool="read", arguments={"path": "a.txt"}
        ),
        ToolResult(
            session_id=SID, seq=3, ts="2025-01-01T12:00:03.000Z", call_id="c9", tool="read", ok=True, content="text"
        ),
    ]
    records = events_to_trace(events, session_id=SID, model="demo")
    assert records[1]["message"]["content"] == [
        {"type": "tool_use", "id": "c9", "name": "read", "input": {"path": "a.txt"}}
    ]
    assert records[1]["message"]["model"] == "demo"
    for record in records:
        RECORD.validate_python(record)


def test_write_trace_redacts(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    count = write_trace(_events(), path, Redactor())
    text = path.read_text()
    assert count == 7 and len(text.splitlines()) == 7
    assert FAKE_TOKEN not in text and "[REDACTED:HF_TOKEN]" in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["sessionId"] == SID
    for record in lines:
        RECORD.validate_python(record)
    # Same log, same bytes.
    write_trace(_events(), tmp_path / "again.jsonl", Redactor())
    assert (tmp_path / "again.jsonl").read_text() == text


def test_write_trace_writes_nothing_when_redaction_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    redactor = Redactor()

    def boom(text: str) -> str:
        raise ValueError("broken")

    monkeypatch.setattr(redactor, "_apply_rules", boom)
    path = tmp_path / "trace.jsonl"
    with pytest.raises(RedactionError):
        write_trace(_events(), path, redactor)
    assert list(tmp_path.iterdir()) == []
