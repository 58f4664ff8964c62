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
from mlintern_jupyter.agent.trace import events_to_trace, write_trace

SID = "20250101-120000-a1b2c3"
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
    isSidechain: Literal[False]
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
        AssistantMessage(
            text="Let me inspect the dataset and launch a job.",
            tool_calls=[
                {"id": "call_1", "name": "hf_jobs", "arguments": json.dumps(args_1)},
                {"id": "call_2", "name": "hf_inspect_dataset", "arguments": '{"dataset": "imdb"'},
            ],
            model="anthropic/claude-sonnet-4-5",
        ),
        Usage(prompt_tokens=1200, completion_tokens=80, cache_read_tokens=1000, cache_write_tokens=150, cost_usd=0.01),
        ToolCall(call_id="call_1", tool="hf_jobs", arguments=args_1),
        ToolCall(call_id="call_2", tool="hf_inspect_dataset", arguments='{"dataset": "imdb"'),
        ToolResult(
            call_id="call_1", tool="hf_jobs", ok=True, content=f"job started; env HF_TOKEN={FAKE_TOKEN} was injected"
        ),
        ToolResult(
            call_id="call_2", tool="hf_inspect_dataset", ok=False, content="invalid JSON arguments", status="invalid"
        ),
        Compacted(summary="User wants distilbert on imdb; job launched.", start=2, end=6),
        AssistantMessage(text="The job is running; accuracy will be reported.", model=""),
        TurnEnded(reason="done"),
    ]
    return [
        event_from_dict({**e.to_dict(), "session_id": SID, "seq": i + 1, "ts": ts(i + 1)}) for i, e in enumerate(raw)
    ]


def test_record_shapes_chain_and_timestamps() -> None:
    events = _events()
    records = events_to_trace(events, session_id=SID, cwd="/work")
    assert [r["type"] for r in records] == ["user", "assistant", "user", "user", "user", "assistant"]
    parsed = [RECORD.validate_python(r) for r in records]
    uuids = [r.uuid for r in parsed]
    assert len(set(uuids)) == len(uuids)
    assert parsed[0].parentUuid is None
    assert all(r.parentUuid == prev for r, prev in zip(parsed[1:], uuids, strict=False))
    assert len({r.timestamp for r in parsed}) == len(parsed)  # per record, never one shared time
    assert all(r.sessionId == SID and r.cwd == "/work" for r in parsed)

    first, tool_use, result_1, result_2, summary, final = records
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
    assert message["usage"] == {
        "input_tokens": 1200,
        "output_tokens": 80,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 150,
    }
    assert result_1["message"]["content"][0]["tool_use_id"] == "call_1"
    assert result_1["message"]["content"][0]["is_error"] is False
    assert result_2["message"]["content"][0]["is_error"] is True
    assert summary["isCompactSummary"] is True
    assert "job launched" in summary["message"]["content"][0]["text"]
    # No usage event after the last message: zeros; the model falls back to the session's.
    assert final["message"]["usage"]["input_tokens"] == 0
    assert final["message"]["model"] == "anthropic/claude-sonnet-4-5"
    assert final["message"]["stop_reason"] == "end_turn"
    assert final["timestamp"] == "2025-01-01T12:00:11.000Z"


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
    assert count == 6 and len(text.splitlines()) == 6
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
