"""A Session: transcript, event fan-out, approvals, budget and usage, rebuilt from its event log on resume.

All state changes go through `emit`: the event is stamped, redacted, made durable, applied to the state and
only then handed to listeners. Resume replays the log through the same `_apply`, so live and resumed sessions
cannot drift apart.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import events as ev
from .approval import ActionSpec, ApprovalBook, ApproveMode, PolicyConfig
from .budget import Budget
from .guards import LoopGuards
from .messages import (
    AssistantMessage,
    SystemMessage,
    ToolCallPart,
    ToolResultMessage,
    Transcript,
    UserMessage,
    repair_dangling_calls,
)
from .models import Model, resolve_model
from .provider_state import ProviderState
from .redact import Redactor
from .store import EPHEMERAL_KINDS, EventStore, LogReadResult, new_session_id, read_events, sessions_dir

Listener = Callable[[ev.Event], None]


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    return getattr(loop, "_thread_id", None) == threading.get_ident()


def default_system_prompt() -> str:
    return resources.files("mlintern_jupyter.agent").joinpath("prompts/system.md").read_text()


def fence(label: str, text: str) -> str:
    """Untrusted text enters the prompt fenced as data (see the system prompt)."""
    return f'<data source="{label}">\n{text.replace("</data>", "</ data>")}\n</data>'


def prompt_text(prompt: ev.UserPrompt) -> str:
    if not prompt.kernel_digest:
        return prompt.text
    return f"{prompt.text}\n\nWhat ran in the kernel since the last prompt:\n{fence('kernel', prompt.kernel_digest)}"


@dataclass
class SessionConfig:
    model: str = "demo"
    approve_mode: ApproveMode = "ask"
    budget_usd: float | None = None
    max_iterations: int = 300
    reasoning_effort: str | None = None
    # The --api-base of the model, if the person gave one.
    api_base: str | None = None
    system_prompt: str | None = None
    # Invalid tool calls (bad JSON, schema violations, unknown tools) tolerated in one run.
    max_invalid_calls: int = 5
    # False under --wait: no person can click while the cell blocks, so approvals end the turn instead.
    person_present: bool = True
    policy: PolicyConfig = field(default_factory=PolicyConfig)


@dataclass
class TotalUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    # Model calls whose price is unknown: their spend is not in cost_usd (shown as "cost unknown").
    unpriced_calls: int = 0

    @property
    def cache_hit_share(self) -> float:
        return self.cache_read_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


class Session:
    def __init__(
        self,
        config: SessionConfig,
        tools: Any,
        *,
        model: Model | None = None,
        session_id: str | None = None,
        home: Path | None = None,
        redactor: Any = None,
        services: dict[str, Any] | None = None,
        replay: LogReadResult | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.config = config
        self.tools = tools
        self.model = model or resolve_model(config.model, config.api_base)
        self.id = session_id or new_session_id()
        self.dir = sessions_dir(home) / self.id
        self.workspace = self.dir / "workspace"
        self.scripts_dir = self.dir / "scripts"
        for folder in (self.workspace, self.scripts_dir):
            folder.mkdir(parents=True, exist_ok=True)
        # Every event passes the redactor before it is written, shown or sent to a model (fail closed).
        self.redactor = redactor if redactor is not None else Redactor.from_environment()
        self.services = dict(services or {})
        self.listeners: list[Listener] = []
        self.events: list[ev.Event] = []
        self.transcript = Transcript()
        self.plan: list[dict[str, Any]] = []
        self.usage = TotalUsage()
        # A sub-agent shares its parent's Budget object, so every model call it makes is checked against what the
        # parent and its siblings spent; the parent's log records that spend (the owner folds it), never the child's.
        self.budget = budget if budget is not None else Budget(cap_usd=config.budget_usd)
        self.owns_budget = budget is None
        self.approvals = ApprovalBook()
        self.guards = LoopGuards()
        self.provider = ProviderState()
        self.jobs: dict[str, ev.JobUpdated] = {}
        self.anchor_cell_id: str | None = None
        self._seq = 0
        self._batch: list[ToolCallPart] = []
        self._batch_results: dict[str, ToolResultMessage] = {}
        self._lock = threading.RLock()
        self._turn_task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.running = False
        # The reason, once a session_ended event was recorded (e.g. compaction could not fit the context).
        self.ended: str | None = None
        self.torn_tail: str | None = None
        self._append_message(SystemMessage(config.system_prompt or default_system_prompt()))
        if replay is not None:
            self._replay(replay)
        self.store = EventStore(self.dir / "events.jsonl", redact=self._redact_dict)
        self.torn_tail = self.torn_tail or self.store.torn_tail
        if replay is None:
            self.emit(ev.SessionStarted(
                model=self.model.name, approve_mode=config.approve_mode, budget_usd=config.budget_usd,
                max_iterations=config.max_iterations, workspace=str(self.workspace), demo=self.model.offline,
                reasoning_effort=config.reasoning_effort, api_base=getattr(self.model, "api_base", None),
            ))

    # ---- events -------------------------------------------------------------------------------------

    def _redact_dict(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.redactor.redact_obj(data)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener) if listener in self.listeners else None

    def emit(self, event: ev.Event) -> ev.Event:
        """Stamp, redact, persist (fsync), apply, fan out. A redaction failure raises: nothing is written."""
        with self._lock:
            # Streamed deltas are not persisted, so they share the last durable seq instead of leaving gaps.
            if event.kind not in EPHEMERAL_KINDS:
                self._seq += 1
            stamped = replace(event, session_id=self.id, seq=self._seq, ts=ev.now_iso())
            data = self.store.prepare(stamped)
            stamped = ev.event_from_dict(data)
            self.store.append(data)
            self._apply(stamped)
            if stamped.kind not in EPHEMERAL_KINDS:
                self.events.append(stamped)
        for listener in list(self.listeners):
            try:
                listener(stamped)
            except Exception:  # noqa: BLE001 - one broken view must not stop the agent
                pass
        return stamped

    def _append_message(self, message: Any) -> None:
        self.transcript.append(message, self.model.count_tokens(message))

    def _apply(self, event: ev.Event) -> None:
        match event:
            case ev.SessionStarted(seq=seq):
                self._seq = max(self._seq, seq)
            case ev.UserPrompt(cell_id=cell_id):
                self._append_message(UserMessage(prompt_text(event)))
                self.anchor_cell_id = cell_id or self.anchor_cell_id
            case ev.AssistantMessage(text=text, tool_calls=calls, thinking_blocks=thinking):
                parts = tuple(ToolCallPart(c["id"], c["name"], c["arguments"]) for c in calls)
                self._append_message(AssistantMessage(text, parts, tuple(thinking) if thinking else None))
                self._batch, self._batch_results = list(parts), {}
            case ev.ToolResult(call_id=call_id, tool=tool, content=content, ok=ok):
                self._batch_results[call_id] = ToolResultMessage(call_id, tool, content, ok)
                if all(c.id in self._batch_results for c in self._batch):
                    # Results join the transcript in call order, whatever order they finished in.
                    for call in self._batch:
                        self._append_message(self._batch_results[call.id])
                    self._batch, self._batch_results = [], {}
            case ev.GuardFired(message=message):
                self._append_message(UserMessage(message, synthetic=True))
            case ev.Compacted(summary=summary, start=start, end=end):
                summary_message = UserMessage(fence("compaction summary", summary), synthetic=True)
                self.transcript.replace(start, end, summary_message, self.model.count_tokens(summary_message))
            case ev.PlanUpdated(todos=todos):
                self.plan = list(todos)
            case ev.Usage(cost_usd=cost):
                for name in ("prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens"):
                    setattr(self.usage, name, getattr(self.usage, name) + getattr(event, name))
                if cost is None:
                    self.usage.unpriced_calls += 1
                else:
                    self.usage.cost_usd += cost
                    if self.owns_budget:
                        self.budget.add_llm(cost)
                self.provider.apply(event)
            case ev.EffortChanged(effort=effort):
                self.config.reasoning_effort = effort
            case ev.EffortFallback() | ev.PriceSet() | ev.ContextWindowLearned():
                self.provider.apply(event)
            case ev.BudgetUpdated(cap_usd=cap) if self.owns_budget:
                self.budget.cap_usd = cap
            case ev.ApprovalRequested(call_id=call_id, nonce=nonce, action=action, cost_usd=cost):
                if nonce not in self.approvals.records:
                    self.approvals.create(call_id, ActionSpec.model_validate(action), cost, nonce=nonce,
                                          expires_at=datetime.fromisoformat(event.expires_at.replace("Z", "+00:00")))
            case ev.ApprovalResolved(nonce=nonce, decision=decision, allow_program=program):
                if program and decision == "approved":
                    self.config.policy.bash_allow.add(program)
                record = self.approvals.records.get(nonce)
                if record is not None and record.decision is None:
                    record.decision = decision
            case ev.JobUpdated(job_id=job_id):
                self.jobs[job_id] = event
            case ev.ModelChanged(model=name, api_base=api_base):
                self.config.model = name
                self.config.api_base = api_base
            case ev.SessionEnded(reason=reason):
                self.ended = reason or "ended"

    # ---- resume -------------------------------------------------------------------------------------

    def _replay(self, log: LogReadResult) -> None:
        for event in log.events:
            self._seq = max(self._seq, event.seq)
            self._apply(event)
            self.events.append(event)
        self.torn_tail = log.torn_tail

    @classmethod
    def resume(cls, session_id: str, tools: Any, *, home: Path | None = None, model: Model | None = None,
               config: SessionConfig | None = None, system_prompt: str | None = None, **kwargs: Any) -> Session:
        """Rebuild a session from its log: transcript, plan, usage, budget and still-pending approvals."""
        log = read_events(sessions_dir(home) / session_id / "events.jsonl")
        started = next((e for e in log.events if isinstance(e, ev.SessionStarted)), None)
        if started is None:
            raise FileNotFoundError(f"no session {session_id!r} under {sessions_dir(home)}")
        config = config or SessionConfig(
            model=started.model, approve_mode=started.approve_mode,  # type: ignore[arg-type]
            budget_usd=started.budget_usd, max_iterations=started.max_iterations,
            reasoning_effort=started.reasoning_effort, api_base=started.api_base,
        )
        for event in log.events:
            if isinstance(event, ev.ModelChanged):
                config.model, config.api_base = event.model, event.api_base
        config.system_prompt = system_prompt or config.system_prompt
        if model is None:
            model = resolve_model(config.model, config.api_base)
        session = cls(config, tools, model=model, session_id=session_id, home=home, replay=log, **kwargs)
        session.repair(keep_pending=True)
        return session

    def repair(self, keep_pending: bool = False) -> list[ToolCallPart]:
        """Aborted results for open tool calls (except those still waiting on a pending approval)."""
        waiting = {r.call_id for r in self.approvals.pending()} if keep_pending else set()
        aborted = []
        for call in list(self._batch):
            if call.id not in self._batch_results and call.id not in waiting:
                self.emit(ev.ToolResult(call_id=call.id, tool=call.name, ok=False, status="aborted",
                                        content="Tool call aborted: the run stopped before this call finished."))
                aborted.append(call)
        if not waiting:
            # Calls cut off in a log written by an older version: fix the transcript itself.
            aborted += repair_dangling_calls(self.transcript)
        return aborted

    # ---- control ------------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Thread-safe: cancel the running turn at its next await point."""
        task, loop = self._turn_task, self._loop
        if task is None or loop is None or task.done():
            return
        if loop.is_running() and not _on_loop_thread(loop):
            loop.call_soon_threadsafe(task.cancel)
        else:
            task.cancel()

    def answer_approval(self, nonce: Any, decision: Any, feedback: Any = "", script: Any = None,
                        for_session: bool = False) -> bool:
        """A person's answer from any UI; thread-safe. False if it changed nothing (unknown or used nonce)."""
        loop = self._loop
        result: list[bool] = []

        def apply() -> None:
            result.append(self.approvals.answer(nonce, decision, feedback, script, for_session) is not None)
            done.set()

        done = threading.Event()
        if loop is not None and loop.is_running() and not _on_loop_thread(loop):
            # Futures belong to the agent's loop: resolve them there, and wait for the outcome.
            loop.call_soon_threadsafe(apply)
            done.wait(5)
            return bool(result and result[0])
        apply()
        return result[0]

    def set_budget(self, cap_usd: float | None) -> None:
        self.emit(ev.BudgetUpdated(cap_usd=cap_usd, llm_spent_usd=self.budget.llm_spent_usd,
                                   compute_reserved_usd=self.budget.compute_reserved_usd,
                                   compute_spent_usd=self.budget.compute_spent_usd))

    def set_model(self, name: str, model: Model | None = None, api_base: str | None = None) -> None:
        self.model = model or resolve_model(name, api_base)
        self.emit(ev.ModelChanged(model=self.model.name, api_base=getattr(self.model, "api_base", None)))

    def set_effort(self, effort: str | None) -> None:
        self.emit(ev.EffortChanged(effort=effort))

    def set_price(self, input_per_mtok: float, output_per_mtok: float) -> None:
        self.emit(ev.PriceSet(model=self.model.name, input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok))

    @property
    def context_window(self) -> int:
        """The model's input window: the one its provider named in a refusal, else what the model reports."""
        return self.provider.windows.get(self.model.name) or self.model.context_window

    async def run_turn(self, prompt: str | None, *, cell_id: str | None = None,
                       kernel_digest: str | None = None) -> ev.TurnEnded:
        from .loop import run_turn

        if prompt:
            # A token pasted into a prompt is masked everywhere from now on, also in encoded forms.
            self.redactor.learn_from_text(prompt)
        return await run_turn(self, prompt, cell_id=cell_id, kernel_digest=kernel_digest)

    async def compact(self) -> str:
        """`%intern compact`: summarise the middle of the transcript now."""
        from .context import compact

        event = await compact(self, "requested by the person", forced=True)
        return f"{event.tokens_before:,} -> {event.tokens_after:,} tokens"

    def close(self) -> None:
        self.store.close()

    def save_script(self, name: str, source: str) -> Path:
        path = self.scripts_dir / Path(name).name
        path.write_text(source)
        return path
