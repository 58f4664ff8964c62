"""One model call of the loop: effort as the model accepts it, retries with a visible countdown, a context
refusal compacted once, honest cost, and a response cut by `max_tokens` turned into a note instead of a broken
history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import context
from . import events as ev
from .context import CompactionFailedError
from .costs import record_usage
from .models import ModelResponse, ModelSettings
from .provider_errors import ProviderFailure, inspect
from .provider_state import level_below
from .retry import RetryPolicy, call_with_retries

if TYPE_CHECKING:
    from .core import SessionCore as Session

# finish_reason of a response whose tool calls were dropped because the output was cut: the turn goes on.
TRUNCATED = "truncated"
TRUNCATION_NOTE = (
    "Your previous answer was cut off at the output token limit, so its tool calls were dropped and did not run: "
    "{calls}. Do not resend the same large content. Split the work: write a long file in parts (write a first "
    "part, then append with `edit` or `bash` heredocs), keep each tool call's arguments short, and summarise "
    "instead of repeating long text.")
BILLING_URLS = {"hf_router": "https://huggingface.co/settings/billing",
                "anthropic": "https://console.anthropic.com/settings/billing",
                "openai": "https://platform.openai.com/settings/organization/billing"}


@dataclass
class RetryState:
    reason: str = ""
    retry: int = 0
    of: int = 0

    def event(self, seconds_left: int) -> ev.RetryWait:
        return ev.RetryWait(reason=self.reason, seconds_left=seconds_left, attempt=self.retry, max_attempts=self.of)


def _route(session: Session) -> Any:
    return getattr(session.model, "route", None)


def effective_effort(session: Session) -> str | None:
    """The effort this model gets now; the first time it cannot take the requested level, one fallback event."""
    requested = session.state.reasoning_effort
    if not requested:
        return None
    model = session.model
    accepted = model.accepted_efforts() if hasattr(model, "accepted_efforts") else None
    effective = session.provider.effort_for(model.name, requested, accepted)
    if effective != requested and model.name not in session.provider.effort_caps:
        allowed = session.provider.allowed_efforts(model.name, accepted)
        cap = allowed[-1] if allowed else None
        why = "local OpenAI-compatible servers take no reasoning effort" if getattr(
            _route(session), "kind", "") == "local" else f"its endpoint does not take {requested!r}"
        _fallback(session, requested, cap, why)
    return effective


def _fallback(session: Session, requested: str, cap: str | None, why: str) -> None:
    name = session.model.name
    session.emit(ev.EffortFallback(model=name, requested=requested, effective=cap, reason=why[:300]))
    now = f"reasoning effort {cap!r}" if cap else "no reasoning effort"
    session.emit(ev.Notice(message=f"{name}: {why}; it runs with {now} from now on (effort stays "
                                   f"{requested!r} for other models).", level="warning"))


def _refused_signature(session: Session, failure: ProviderFailure) -> bool:
    """The provider cannot verify a replayed thinking signature (thinking from another model or key): replay no
    thinking from now on, once, instead of failing every later call."""
    model = session.model
    if not (failure.kind == "bad_request" and "signature" in failure.message and "thinking" in failure.message
            and getattr(model, "replay_thinking", False)):
        return False
    model.replay_thinking = False  # type: ignore[attr-defined]
    session.emit(ev.Notice(level="warning", message=f"{model.name} could not verify earlier thinking blocks "
                                                    f"({failure.message[:200]}); they are not sent again."))
    return True


def _refused_effort(session: Session, effort: str, failure: ProviderFailure) -> None:
    model = session.model
    accepted = model.accepted_efforts() if hasattr(model, "accepted_efforts") else None
    allowed = session.provider.allowed_efforts(model.name, accepted)
    cap = None if failure.effort_off else level_below(effort, allowed)
    detail = f" ({failure.message[:200]})" if failure.message else ""
    _fallback(session, session.state.reasoning_effort or effort, cap,
              f"the provider refused reasoning effort {effort!r}{detail}")


async def request(session: Session) -> ModelResponse:
    """One model request with retries (a countdown the person sees and Stop interrupts) and effort fallbacks."""
    model = session.model
    policy: RetryPolicy = session.services.retry_policy or RetryPolicy()
    waiting = RetryState()

    def on_delta(text: str) -> None:
        session.emit(ev.AssistantDelta(text=text))

    def on_retry(reason: str, delay: float, retry: int, of: int) -> None:
        waiting.reason, waiting.retry, waiting.of = reason, retry, of
        session.emit(ev.Notice(message=f"model call failed ({reason}); retry {retry} of {of} in {delay:.0f} s "
                                       "(Stop cancels)", level="warning"))

    async def countdown(delay: float) -> None:
        remaining = delay
        while remaining > 0:
            session.emit(waiting.event(math.ceil(remaining)))
            step = min(1.0, remaining)
            await policy.sleep(step)
            remaining -= step
        session.emit(waiting.event(0))

    for _ in range(6):  # at most one fallback per effort level
        effort = effective_effort(session)
        settings = ModelSettings(reasoning_effort=effort, prompt_cache_key=session.id)

        async def attempt(settings: ModelSettings = settings) -> ModelResponse:
            return await model.request(session.transcript.messages, session.tools.schemas(), settings, on_delta)

        try:
            response = await call_with_retries(attempt, on_retry, policy, wait=countdown)
            break
        except Exception as exc:
            failure = inspect(exc)
            if failure.kind == "effort" and effort:
                _refused_effort(session, effort, failure)
                continue
            if _refused_signature(session, failure):
                continue
            raise
    else:  # pragma: no cover - each fallback lowers the effort, so the loop ends first
        raise RuntimeError("reasoning effort fallbacks did not converge")
    return _record(session, response)


def _record(session: Session, response: ModelResponse) -> ModelResponse:
    record_usage(session, response)
    truncated = response.finish_reason in ("length", "max_tokens") and bool(response.tool_calls)
    calls = () if truncated else response.tool_calls
    session.emit(ev.AssistantMessage(
        text=response.text, model=response.model or session.model.name,
        tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls],
        # A cut answer keeps no thinking: its signature belongs to a tool-use turn that is not replayed.
        thinking_blocks=list(response.thinking_blocks) if response.thinking_blocks and not truncated else None,
    ))
    if not truncated:
        return response
    dropped = ", ".join(sorted({c.name for c in response.tool_calls})) or "(unnamed)"
    session.emit(ev.GuardFired(guard="output_truncated", message=TRUNCATION_NOTE.format(calls=dropped)))
    return ModelResponse(text=response.text, usage=response.usage, finish_reason=TRUNCATED, model=response.model)


async def call_model(session: Session, may_compact: bool) -> ModelResponse:
    """A context-window refusal compacts once (unless that just happened) and asks again; a second refusal is a
    CompactionFailedError, never a loop. A window the refusal names is learned for the session."""
    try:
        return await request(session)
    except Exception as exc:
        failure = inspect(exc)
        if failure.kind != "context_overflow":
            raise
        _learn_window(session, failure)
        if not may_compact:
            raise CompactionFailedError("the provider refused the context as too long right after compaction") from exc
        await context.compact(session, "the provider refused the context as too long", forced=True)
    try:
        return await request(session)
    except Exception as exc:
        failure = inspect(exc)
        if failure.kind == "context_overflow":
            _learn_window(session, failure)
            raise CompactionFailedError("the provider still refuses the context as too long after compaction") from exc
        raise


def _learn_window(session: Session, failure: ProviderFailure) -> None:
    name = session.model.name
    if failure.window and failure.window != session.provider.windows.get(name):
        session.emit(ev.ContextWindowLearned(model=name, tokens=failure.window))


def describe_failure(session: Session, exc: BaseException) -> tuple[str, str, str]:
    """(message, error_type, hint) for a model call that failed for good: one clear line that names the fix."""
    failure = inspect(exc)
    route = _route(session)
    kind = getattr(route, "kind", "")
    name = session.model.name
    provider_says = f": {failure.message[:300]}" if failure.message else ""
    match failure.kind:
        case "billing":
            url = BILLING_URLS.get(kind, "your provider's billing page")
            return (f"The provider refused the call for billing reasons (credits or quota exhausted){provider_says}",
                    "billing", f"add credits at {url}, or switch model with %intern model NAME")
        case "overloaded":
            return (f"The provider is overloaded (HTTP 529) and still was after the retries{provider_says}",
                    "overloaded", "try again in a few minutes, or switch model with %intern model NAME")
        case "rate_limit":
            return (f"Rate limited by the provider after the retries{provider_says}", "rate_limit",
                    "wait a minute and send the prompt again; a higher rate tier or another model helps")
        case "unreachable":
            hint = session.model.start_hint() if hasattr(session.model, "start_hint") else ""
            return (f"No model server answers for {name} at {getattr(route, 'api_base', '') or 'its address'}",
                    "unreachable", hint)
        case "auth":
            var = getattr(route, "key_env", None) or "the key variable for this model"
            return (f"The provider rejected the credentials for {name}{provider_says}", "auth",
                    f"check {var} (set it in the kernel's environment), or switch model with %intern model NAME")
        case "not_found":
            base = getattr(route, "api_base", None)
            extra = f" or the server at {base} is not an OpenAI-compatible model server" if kind == "local" else ""
            return (f"The provider does not know the model {name}{extra}{provider_says}", "not_found",
                    "check the model id (%intern model lists suggestions) and --api-base")
        case "bad_request":
            return (f"The provider refused the request (HTTP {failure.status}){provider_says}", "bad_request",
                    "this is a bug in how the request was built if it repeats: start a new session "
                    "(%%intern --new) or switch model")
    return f"{type(exc).__name__}: {exc}"[:2000], type(exc).__name__, ""
