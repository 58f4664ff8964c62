"""research: a sub-agent with read-only research tools and its own context, run as a child Session through the loop.

What the child shares with its parent, and what it does not:
- the parent's **Budget object**: every model call the child (or a sibling running concurrently) makes is checked
  against what the whole session spent, and each call's cost is recorded in the parent's log as it happens;
- the parent's **approval gate**: the child's calls go through the same classify -> policy -> approval path in the
  parent's approve mode and a copy of its policy; nobody can click for a child, so anything that would need a
  person is refused, not waited on (its tools are read-only, so that is a safety net, not a workflow);
- the parent's **model** (the model never picks another one: a model id from the model could name a file to
  replay, so there is no such argument);
- **not** the transcript: the child starts fresh (its own context window) and returns one capped answer.

Its progress streams into the parent as `subagent_progress` events under the research call's id, so the notebook
and the panel show one collapsible card for the whole sub-agent instead of a card per step.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from importlib import resources
from typing import Any, Literal

from pydantic import create_model

from ..agent import events as ev
from ..agent.tooling import SubAgentRunner
from .registry import Tool, ToolContext, ToolError, ToolRegistry

# The child may read Hub repos, never write them.
REPO_READS = ("list", "read")
ANSWER_CHARS = 8_000
MAX_ITERATIONS = 40
PROGRESS_CHARS = 200
REQUIRED_SECTIONS = ("## Recipe table", "## Open questions")
RESTRUCTURE = ("Rewrite your final answer now, without calling tools, in the required structure: the sections "
               "'## Recipe table' (a markdown table), '## On the Hub', '## Recommendation', '## Open questions' "
               "and '## Sources'. Keep every fact and source you found; write 'not reported' where a cell is unknown.")


def research_prompt() -> str:
    return resources.files("mlintern_jupyter.agent").joinpath("prompts/research.md").read_text()


def read_only_operations(tool: Tool, allowed: tuple[str, ...]) -> Tool:
    """The same tool with its `operation` restricted to `allowed` (schema and validation alike)."""
    parameters = copy.deepcopy(tool.parameters)
    parameters["properties"]["operation"]["enum"] = list(allowed)
    operation_type: Any = Literal[allowed]  # type: ignore[valid-type]
    model = create_model(f"{tool.name}_read_args", __base__=tool.args_model, operation=(operation_type, ...))
    return dataclasses.replace(tool, parameters=parameters, args_model=model, access="read")


def _subagents(ctx: ToolContext) -> SubAgentRunner:
    """The session's sub-agent runner (typed dependency): it shares the session's model and budget."""
    if ctx.subagents is None:
        raise ToolError("research runs only inside a session (it shares the session's model and budget)")
    return ctx.subagents


def _child_registry(parent_tools: ToolRegistry) -> ToolRegistry:
    """The tools that declare they only read (`access`, on each tool), plus Hub repo reads; never `research`
    itself, and no MCP tool (their servers' own read-only rule applies in the parent)."""
    tools = []
    for item in parent_tools:
        if item.name == "hf_repo_files":
            tools.append(read_only_operations(item, REPO_READS))
        elif item.access == "read" and item.name != "research" and "__" not in item.name:
            tools.append(item)
    return ToolRegistry(tools)


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= PROGRESS_CHARS else text[: PROGRESS_CHARS - 1] + "…"


def _arguments_text(arguments: Any) -> str:
    if isinstance(arguments, dict):
        return _short(", ".join(f"{k}={v!r}" for k, v in arguments.items()))
    return _short(arguments)


def _forwarder(ctx: ToolContext, model_name: str) -> Callable[[ev.Event], None]:
    """Child events -> the parent's: spend as it happens (into the parent's log and budget), progress as steps."""

    def progress(step: ev.SubagentStep, tool: str = "", text: str = "", ok: bool = True) -> None:
        ctx.emit(ev.SubagentProgress(call_id=ctx.call_id, step=step, tool=tool, text=text, ok=ok))

    def forward(event: ev.Event) -> None:
        match event:
            case ev.Usage():
                ctx.emit(dataclasses.replace(event, model=f"{event.model or model_name} (research)",
                                             session_id="", seq=0, ts=""))
            case ev.ToolCall(tool=tool, arguments=arguments):
                progress("tool_call", tool, _arguments_text(arguments))
            case ev.ToolResult(tool=tool, ok=ok, content=content):
                progress("tool_result", tool, f"{len(content):,} chars: {_short(content)}", ok)
            case ev.GuardFired(message=message) | ev.Notice(message=message) | ev.Error(message=message):
                progress("notice", "", _short(message), False)

    return forward


def _has_structure(answer: str) -> bool:
    return all(section.lower() in answer.lower() for section in REQUIRED_SECTIONS)


def make_research(tools: Callable[[], ToolRegistry]) -> Tool:
    """`tools()` returns the parent's registry; the child gets only its read-only research tools."""

    async def research(task: str, ctx: ToolContext, context: str | None = None,
                       max_iterations: int = 25) -> str:
        """Delegate a literature-first research question to a sub-agent; returns a recipe with sources.

        Use it before building anything non-trivial: "what is the best published recipe to fine-tune a 1B model
        for GSM8K, and which datasets on the Hub fit?". The sub-agent finds landmark papers, walks their citation
        graph, reads the methods sections, checks that datasets and models exist on the Hub (it can read Hub repo
        files), and answers with a recipe table (dataset, model, hyperparameters, hardware, reported results, each
        with its source), a recommendation and open questions. It has its own context window, so its many tool
        outputs do not fill yours; it shares this session's model, budget and approval rules and only reads. It
        also reads current docs and example scripts, so "research current TRL GRPOTrainer usage: example script
        and GRPOConfig arguments" is a good task before you write a script from memory.

        Args:
            task: the question, specific and self-contained (the sub-agent does not see this conversation), e.g.
                "Find the strongest published SFT recipes for Llama-3-8B on math word problems; check that their
                datasets are on the Hub and in a format SFTTrainer accepts."
            context: what the sub-agent should know from this conversation: the user's goal, constraints
                (budget, GPU, model size), what was already tried, e.g. "user has one A10G and $20; wants LoRA".
            max_iterations: model calls the sub-agent may make (1-40; default 25). Raise it for a deep crawl.
        """
        parent = _subagents(ctx)
        if parent.budget.exhausted:
            raise ToolError("the session's budget is used up, so no research can run; raise it with "
                            "%intern budget USD")
        child = parent.open_subagent(_child_registry(tools()), system_prompt=research_prompt(),
                                     max_iterations=max(1, min(max_iterations, MAX_ITERATIONS)),
                                     label=f"research-{ctx.call_id or 'x'}")
        child.subscribe(_forwarder(ctx, child.model.name))
        ctx.emit(ev.SubagentProgress(call_id=ctx.call_id, step="started", text=_short(task)))
        prompt = f"Context from the main agent:\n{context}\n\nResearch task: {task}" if context else \
            f"Research task: {task}"
        try:
            ended = await child.run_turn(prompt)
            answer = _final_answer(child)
            if ended.reason == "done" and answer and not _has_structure(answer) and not parent.budget.exhausted:
                child.set_max_iterations(1)  # one rewrite, no new research
                ended = await child.run_turn(RESTRUCTURE)
                answer = _final_answer(child) or answer
        finally:
            child.close()
        calls = sum(isinstance(e, ev.ToolCall) for e in child.events)
        ctx.emit(ev.SubagentProgress(call_id=ctx.call_id, step="ended", ok=ended.reason == "done",
                                     text=f"{ended.reason}: {calls} tool calls, ${child.usage.cost_usd:.4f}"))
        if len(answer) > ANSWER_CHARS:
            answer = answer[:ANSWER_CHARS] + "\n[... answer cut]"
        status = "" if ended.reason == "done" else f"; stopped: {ended.reason}, {ended.message}"
        return f"Research findings ({calls} tool calls{status}):\n{answer or '(no answer)'}"

    return Tool.from_function(research, access="read")


def _final_answer(child: Any) -> str:
    return next((e.text for e in reversed(child.events) if isinstance(e, ev.AssistantMessage) and e.text
                 and not e.tool_calls), "")
