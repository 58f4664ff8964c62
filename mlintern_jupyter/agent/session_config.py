"""How a session starts (`SessionConfig`): the settings given at `%%intern` before any event exists."""

from __future__ import annotations

from dataclasses import dataclass, field

from .approval import ApproveMode
from .policy import PolicyConfig


@dataclass
class SessionConfig:
    """How a session starts. The settings a person can change later (model, approve mode, budget, effort,
    iterations) are recorded in `session_started` and live in `session.state` from then on."""

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
    # The notebook's directory (the trace's `cwd`); the kernel's working directory when not given.
    cwd: str | None = None
