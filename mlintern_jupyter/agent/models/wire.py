"""The transcript and the tools as the provider accepts them.

Messages: consecutive user messages are joined (a compaction summary or a guard's note before the next prompt
would otherwise be two user turns in a row, which chat templates of local servers refuse); an assistant message
with no text and no calls is left out (Anthropic refuses empty content); thinking blocks are replayed only to
Anthropic, exactly as received, and only when complete (signed).

Tools: names outside `^[a-zA-Z0-9_-]{1,64}$` (MCP tools are `<server>__<tool>`, often longer) get a stable,
collision-free wire name (a readable prefix and a hash of the real name) that is mapped back when the model calls
it; descriptions are cut to 1,024 characters for OpenAI-compatible endpoints (one long MCP description otherwise
breaks every request of the session); parameters are always an object JSON schema.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..messages import AssistantMessage, Message, SystemMessage, ToolCallPart, ToolResultMessage, UserMessage

NAME_OK = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
OPENAI_DESCRIPTION_LIMIT = 1024
_SHORTENED = " [description shortened to fit the provider's limit]"
EMPTY_RESULT = "(no output)"


@dataclass
class ToolNames:
    """Real tool name <-> the name on the wire (identical unless the real name breaks a provider rule)."""

    to_wire: dict[str, str] = field(default_factory=dict)
    from_wire: dict[str, str] = field(default_factory=dict)

    def wire(self, name: str) -> str:
        return self.to_wire.get(name) or wire_name(name)

    def real(self, name: str) -> str:
        return self.from_wire.get(name, name)


def wire_name(name: str) -> str:
    """A valid tool name for any provider; the same real name always gives the same wire name."""
    if NAME_OK.match(name):
        return name
    readable = re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:55].strip("_") or "tool"
    # The hash suffix makes it collision-free: two real names never share it, and no valid real name has this shape.
    return f"{readable}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _object_schema(parameters: Any) -> dict[str, Any]:
    if not isinstance(parameters, dict):
        return {"type": "object", "properties": {}}
    if parameters.get("type") == "object":
        return parameters
    if "type" not in parameters:
        return {"type": "object", "properties": {}, **parameters}
    # A non-object schema: the model passes it as the single argument `value`.
    return {"type": "object", "properties": {"value": parameters}, "required": ["value"]}


def fit_description(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - len(_SHORTENED)].rstrip() + _SHORTENED


def fit_tools(tools: Sequence[dict[str, Any]], description_limit: int | None) -> tuple[list[dict[str, Any]], ToolNames]:
    """OpenAI-format tool entries for litellm, and the name map for this request."""
    names = ToolNames()
    out = []
    for tool in tools:
        real = tool["name"]
        wire = wire_name(real)
        names.to_wire[real], names.from_wire[wire] = wire, real
        out.append({"type": "function", "function": {
            "name": wire, "description": fit_description(tool.get("description") or "", description_limit),
            "parameters": _object_schema(tool.get("parameters"))}})
    return out, names


def complete_thinking(blocks: Sequence[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Thinking blocks that can be replayed: signed thinking with its text, or redacted thinking with its data.

    A signature beside empty text is a fragment stored by an earlier version (per streamed piece): replayed, the
    provider answers "Invalid signature in thinking block", so such fragments are left out."""
    return [{k: v for k, v in b.items() if k != "index"} for b in blocks or ()
            if (b.get("type") == "thinking" and b.get("signature") and b.get("thinking"))
            or (b.get("type") == "redacted_thinking" and b.get("data"))]


def _calls(calls: Sequence[ToolCallPart], names: ToolNames) -> list[dict[str, Any]]:
    return [{"id": c.id, "type": "function", "function": {"name": names.wire(c.name), "arguments": c.arguments or "{}"}}
            for c in calls]


def to_wire_messages(messages: Sequence[Message], *, keep_thinking: bool,
                     names: ToolNames | None = None) -> list[dict[str, Any]]:
    names = names or ToolNames()
    out: list[dict[str, Any]] = []
    for message in messages:
        match message:
            case SystemMessage(text=text):
                out.append({"role": "system", "content": text})
            case UserMessage(text=text):
                if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], str):
                    out[-1] = {"role": "user", "content": f"{out[-1]['content']}\n\n{text}"}
                else:
                    out.append({"role": "user", "content": text})
            case AssistantMessage(text=text, tool_calls=calls, thinking_blocks=thinking):
                if not text and not calls:
                    continue
                item: dict[str, Any] = {"role": "assistant", "content": text or None}
                if calls:
                    item["tool_calls"] = _calls(calls, names)
                replay = complete_thinking(thinking) if keep_thinking else []
                if replay:
                    item["thinking_blocks"] = replay
                out.append(item)
            case ToolResultMessage(call_id=call_id, content=content):
                out.append({"role": "tool", "tool_call_id": call_id, "content": content or EMPTY_RESULT})
    return out


def opens_tool_loop_without_thinking(wire: Sequence[dict[str, Any]]) -> bool:
    """Anthropic with thinking on refuses a request whose current tool loop began without a thinking block
    (a model switch, or effort turned on mid-loop): then this one request goes without thinking."""
    for item in reversed(wire):
        if item["role"] == "tool":
            continue
        return item["role"] == "assistant" and bool(item.get("tool_calls")) and not item.get("thinking_blocks")
    return False
