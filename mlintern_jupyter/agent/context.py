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
from typing import Any

from . import events as ev
from .core import SessionCore as Session
from .costs import record_usage
from .messages import AssistantMessage, Message, SystemMessage, ToolResultMessage, UserMessage
from .models import ModelSettings
from .retry import RetryPolicy, call_with_retries
from .state import fence

COMPACT_AT = 0.9
# Share of the window the recent tail may keep after compaction; the rest is room to work before the next one.
TAIL_SHARE = 0.25
# Tokens kept free for the summary itself when planning the cut.
SUMMARY_RESERVE = 2_000
SUMMARY_MAX_TOKENS = 2_000
# Extra completion allowance for models whose hidden reasoning comes before the summary.
REASONING_ALLOWANCE = 8_000
# A summariser request carries at most this share of the window (so it is always smaller than a refused one).
CHUNK_SHARE = 0.5
MIN_CHUNK_TOKENS = 1_000
# Characters per token assumed when sizing parts: low on purpose, so a part never exceeds its token budget.
CHARS_PER_TOKEN_LOW = 3
# Each message is cut to this in the summariser's transcript (it needs the gist, not whole logs).
RENDER_CAP_CHARS = 6_000
SUMMARISER_SYSTEM = ("You summarise the working transcript of an autonomous ML engineering agent so it can "
                     "continue the work from your summary. Answer in plain text.")
MERGE_PROMPT = ("These are summaries of consecutive parts of one working transcript, oldest first. Merge them into "
                "one summary with the same sections (Task, Decisions, Tried and failed, State, Open items); where "
                "they disagree the later part wins. Keep identifiers exact.")
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
    limit = output_cap_chars(window(session))
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


def window(session: Session) -> int:
    return int(getattr(session, "context_window", None) or session.model.context_window)


def threshold(session: Session) -> int:
    return int(window(session) * COMPACT_AT)


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


def render(message: Message, limit: int = RENDER_CAP_CHARS) -> str:
    """One message as a line of the transcript the summariser reads (as text: no tool protocol to satisfy)."""
    match message:
        case UserMessage(text=text, synthetic=synthetic):
            return f"[{'note' if synthetic else 'person'}] {cap_output(text, limit)}"
        case AssistantMessage(text=text, tool_calls=calls):
            called = "".join(f"\n  -> {c.name}({cap_output(c.arguments, limit // 4)})" for c in calls)
            return f"[assistant] {cap_output(text, limit)}{called}"
        case ToolResultMessage(tool=tool, content=content, ok=ok):
            return f"[{tool} {'ok' if ok else 'failed'}] {cap_output(content, limit)}"
    return f"[system] {cap_output(getattr(message, 'text', ''), limit)}"


def chunks(lines: Sequence[str], chars: int) -> list[str]:
    """Lines packed into parts of at most `chars` characters (a longer line is cut to fit)."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = cap_output(line, chars)
        if current and size + len(line) + 1 > chars:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        parts.append("\n".join(current))
    return parts


def summary_settings(session: Session, larger: bool = False) -> ModelSettings:
    """Room for the summary: reasoning models spend hidden tokens first (gpt-5 used the whole 2,000-token allowance
    on reasoning and answered with nothing), so they get more, and the lowest effort they take."""
    model = session.model
    reasons = bool(getattr(model, "may_reason", False))
    allowance = SUMMARY_MAX_TOKENS + (REASONING_ALLOWANCE if reasons else 0)
    effort = None
    if reasons:
        accepted = model.accepted_efforts() if hasattr(model, "accepted_efforts") else None
        effort = session.provider.effort_for(model.name, "low", accepted)
    return ModelSettings(tool_choice="none", max_tokens=allowance * (4 if larger else 1), reasoning_effort=effort,
                         prompt_cache_key=session.id)


async def _summarise_part(session: Session, instruction: str, text: str, label: str) -> str:
    request: list[Message] = [SystemMessage(SUMMARISER_SYSTEM), UserMessage(f"{instruction}\n\n{fence(label, text)}")]
    policy = session.services.retry_policy or RetryPolicy()

    def on_retry(reason: str, delay: float, retry: int, of: int) -> None:
        session.emit(ev.Notice(message=f"compaction call failed ({reason}); retry {retry} of {of} in {delay:.0f} s",
                               level="warning"))

    for larger in (False, True):  # an empty summary is retried once with a larger allowance
        settings = summary_settings(session, larger)

        async def attempt(settings: ModelSettings = settings) -> Any:
            return await session.model.request(request, [], settings, None)

        response = await call_with_retries(attempt, on_retry, policy)
        record_usage(session, response)
        if response.text.strip():
            return response.text.strip()
    raise CompactionFailedError("the model returned an empty summary twice (the second time with a larger "
                                "allowance), so the context could not be compacted")


async def summarise(session: Session, messages: Sequence[Message]) -> str:
    """A summary of `messages`, in parts when they do not fit one request: every request is at most half the
    window, so it is always smaller than the one the provider refused."""
    budget_tokens = max(MIN_CHUNK_TOKENS, int(window(session) * CHUNK_SHARE))
    parts = chunks([render(m) for m in messages], budget_tokens * CHARS_PER_TOKEN_LOW)
    instruction = compaction_prompt()
    if len(parts) == 1:
        return await _summarise_part(session, instruction, parts[0], "transcript to summarise")
    partial = [await _summarise_part(session, instruction, part, f"transcript part {i + 1} of {len(parts)}")
               for i, part in enumerate(parts)]
    for _ in range(3):  # merge the partial summaries, in parts again if even they are too long
        merged = chunks(partial, budget_tokens * CHARS_PER_TOKEN_LOW)
        partial = [await _summarise_part(session, MERGE_PROMPT, part, "partial summaries, oldest first")
                   for part in merged]
        if len(partial) == 1:
            return partial[0]
    raise CompactionFailedError("the partial summaries could not be merged into one that fits the window")


async def compact(session: Session, why: str, forced: bool = False) -> ev.Compacted:
    """Summarise the middle of the transcript and emit `compacted` (which replaces it in the transcript)."""
    transcript = session.transcript
    limit = threshold(session)
    fixed = tools_tokens(session.tools.schemas())
    before = request_tokens(session)
    cut = plan_cut(transcript.messages, transcript.tokens, window(session), limit, fixed, forced)
    summary = await summarise(session, transcript.messages[cut.start: cut.end])
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
