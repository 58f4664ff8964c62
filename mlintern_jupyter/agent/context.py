"""Context accounting, per-output caps and compaction (DESIGN section 6).

Every message is counted once when it joins the transcript (`Session._append_message`), so the loop knows the
size of the next request before sending it and compacts at 90% of the model's input window instead of waiting
for the provider to refuse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import events as ev
from .messages import AssistantMessage, Message, ToolResultMessage, UserMessage
from .models import ModelSettings
from .retry import RetryPolicy, call_with_retries

if TYPE_CHECKING:
    from .session import Session

COMPACT_AT = 0.9
# Share of the window the recent tail may keep after compaction; the rest is room to work before the next one.
TAIL_SHARE = 0.25
# Tokens kept free for the summary itself when planning the cut.
SUMMARY_RESERVE = 2_000
SUMMARY_MAX_TOKENS = 2_000
OUTPUT_CAP_CHARS = 24_000
MIN_OUTPUT_CAP_CHARS = 2_000


class CompactionFailedError(Exception):
    """The context cannot get under the threshold: the session ends with this explanation, never a retry loop."""


def output_cap_chars(context_window: int) -> int:
    """Per-output cap: 24k characters (about 6k tokens), less on small-window models (a tenth of the window)."""
    return max(MIN_OUTPUT_CAP_CHARS, min(OUTPUT_CAP_CHARS, int(context_window * 4 * 0.1)))


def cap_output(text: str, limit: int = OUTPUT_CAP_CHARS, spill: Path | None = None, shown_as: str | None = None) -> str:
    """Head and tail of a long output; the whole text goes to `spill`, named in the capped text for `read`."""
    if len(text) <= limit:
        return text
    note = ""
    if spill is not None:
        spill.parent.mkdir(parents=True, exist_ok=True)
        spill.write_text(text)
        note = (f" The full output ({len(text)} characters) is saved as {shown_as or spill}; read it with the "
                "`read` tool if you need the cut part.")
    half = limit // 2
    return f"{text[:half]}\n\n... [{len(text) - 2 * half} characters cut.{note}] ...\n\n{text[-half:]}"


def spill_name(call_id: str) -> str:
    return "tool_outputs/" + (re.sub(r"[^A-Za-z0-9_.-]", "_", call_id) or "output") + ".txt"


def cap_tool_output(session: Session, call_id: str, text: str) -> str:
    """Cap one tool output for the transcript; the full text is spilled (redacted) into the workspace."""
    limit = output_cap_chars(session.model.context_window)
    if len(text) <= limit:
        return text
    if session.redactor is not None:
        text = session.redactor.redact(text)
    name = spill_name(call_id)
    return cap_output(text, limit, spill=session.workspace / name, shown_as=f"{name} in the workspace")


def tools_tokens(tools: Sequence[dict[str, Any]]) -> int:
    return len(json.dumps(list(tools))) // 4


def request_tokens(session: Session) -> int:
    """Estimated input tokens of the next request: counted messages plus the tool schemas."""
    return session.transcript.total_tokens + tools_tokens(session.tools.schemas())


def threshold(session: Session) -> int:
    return int(session.model.context_window * COMPACT_AT)


def over_threshold(session: Session) -> bool:
    return request_tokens(session) >= threshold(session)


def compaction_prompt() -> str:
    return resources.files("mlintern_jupyter.agent").joinpath("prompts/compaction.md").read_text()


@dataclass(frozen=True)
class Cut:
    start: int
    end: int


def plan_cut(messages: Sequence[Message], tokens: Sequence[int], window: int, limit: int, fixed: int = 0,
             forced: bool = False) -> Cut:
    """Which messages [start, end) the summary replaces.

    Keeps the system prompt, the first user message and a recent tail that starts at a group boundary (never on
    a tool result, so each call stays with its results). A first user message too large to keep is folded
    into the summary (its truncation); if nothing is left to summarise, CompactionFailedError. `forced` (the
    provider refused a context we counted as fitting) keeps only the newest group of the tail.
    """
    first_user = next((i for i, m in enumerate(messages) if isinstance(m, UserMessage) and not m.synthetic),
                      next((i for i, m in enumerate(messages) if isinstance(m, UserMessage)), None))
    head_end = 1 if first_user is None else first_user + 1
    boundaries = [i for i in range(head_end, len(messages) + 1)
                  if i == len(messages) or not isinstance(messages[i], ToolResultMessage)]
    tail_budget = 0 if forced else int(window * TAIL_SHARE)
    end = len(messages)
    for i in reversed(boundaries):
        if sum(tokens[i:]) > tail_budget:
            break
        end = i
    if end == len(messages) and len(boundaries) > 1:
        # The newest group alone is over the tail budget: keep it whole if it still fits under the limit.
        last_group = boundaries[-2]
        if sum(tokens[:head_end]) + sum(tokens[last_group:]) + SUMMARY_RESERVE + fixed < limit:
            end = last_group
    start = head_end
    if first_user is not None and sum(tokens[:head_end]) + sum(tokens[end:]) + SUMMARY_RESERVE + fixed >= limit:
        start = first_user  # the first prompt alone is too large to keep verbatim: it joins the summary
    kept = sum(tokens[:start]) + sum(tokens[end:]) + fixed
    if start >= end or (kept >= limit and not forced):
        raise CompactionFailedError(f"the messages that must stay (system prompt, tool schemas, newest messages: "
                                    f"about {kept} tokens) leave no room under the limit of {limit} tokens")
    return Cut(start, end)


def _shrink(messages: Sequence[Message], budget_tokens: int) -> list[Message]:
    """The summariser's input, with long texts cut so the request itself fits the window."""
    size = sum(len(getattr(m, "text", "") or getattr(m, "content", "")) for m in messages) // 4
    if size <= budget_tokens:
        return list(messages)
    per_message = max(MIN_OUTPUT_CAP_CHARS, budget_tokens * 4 // max(1, len(messages)))
    out: list[Message] = []
    for m in messages:
        match m:
            case ToolResultMessage(content=content) if len(content) > per_message:
                out.append(ToolResultMessage(m.call_id, m.tool, cap_output(content, per_message), m.ok))
            case UserMessage(text=text) if len(text) > per_message:
                out.append(UserMessage(cap_output(text, per_message), synthetic=m.synthetic))
            case AssistantMessage(text=text) if len(text) > per_message:
                out.append(AssistantMessage(cap_output(text, per_message), m.tool_calls, m.thinking_blocks))
            case _:
                out.append(m)
    return out


async def compact(session: Session, why: str, forced: bool = False) -> ev.Compacted:
    """Summarise the middle of the transcript and emit `compacted` (which replaces it in the transcript)."""
    transcript = session.transcript
    window = session.model.context_window
    limit = threshold(session)
    fixed = tools_tokens(session.tools.schemas())
    before = request_tokens(session)
    cut = plan_cut(transcript.messages, transcript.tokens, window, limit, fixed, forced)
    # The summariser sees everything before the tail, then the instruction; it must answer in text.
    source = _shrink(transcript.messages[: cut.end], limit - fixed - SUMMARY_MAX_TOKENS)
    request = [*source, UserMessage(compaction_prompt(), synthetic=True)]
    settings = ModelSettings(tool_choice="none", max_tokens=SUMMARY_MAX_TOKENS)
    policy = session.services.get("retry_policy") or RetryPolicy()

    async def attempt() -> Any:
        return await session.model.request(request, session.tools.schemas(), settings, None)

    def on_retry(reason: str, delay: float) -> None:
        session.emit(ev.Notice(message=f"compaction call failed ({reason}); retrying in {delay:.1f}s", level="warning"))

    response = await call_with_retries(attempt, on_retry, policy)
    summary = response.text.strip()
    if not summary:
        raise CompactionFailedError("the model returned an empty summary, so the context could not be compacted")
    u = response.usage
    session.emit(ev.Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens,
                          cache_read_tokens=u.cache_read_tokens, cache_write_tokens=u.cache_write_tokens,
                          cost_usd=u.cost_usd, model=response.model or session.model.name))
    summary_tokens = session.model.count_tokens(UserMessage(summary, synthetic=True))
    after = before - sum(transcript.tokens[cut.start: cut.end]) + summary_tokens
    if after >= (before if forced else limit):
        raise CompactionFailedError(
            f"after compaction the context is still {after} tokens, over the limit of {limit} for "
            f"{session.model.name}: a kept message is too large")
    event = session.emit(ev.Compacted(summary=summary, start=cut.start, end=cut.end, tokens_before=before,
                                      tokens_after=after))
    session.emit(ev.Notice(message=f"context compacted ({why}): about {before} -> {after} tokens"))
    return event  # type: ignore[return-value]
