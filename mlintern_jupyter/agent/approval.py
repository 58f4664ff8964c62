"""Approval: one strict ActionSpec per tool call and nonce-bound approval records (the policy is policy.py).

The same ActionSpec feeds the policy, the cost estimate, the approval card and the executor: the executor runs
exactly the arguments the approved spec binds (a script resolved to its bytes before the card, an edited script,
the target repo's visibility). Anything malformed in an answer is a denial.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .allow_list import session_shape

ApproveMode = Literal["ask", "auto", "deny"]
APPROVE_MODES: tuple[str, ...] = ("ask", "auto", "deny")
DEFAULT_EXPIRY = timedelta(minutes=30)
FEEDBACK_LIMIT = 2_000
# The exact words an answer may carry (the comm sends "approve"/"deny"); anything else is a denial.
APPROVE_WORDS = frozenset({"approve", "approved"})
DENY_WORDS = frozenset({"deny", "denied"})


def normalize(value: Any) -> str:
    """Canonical form of an operation or flavour: lower case, single spaces, `_`/`-` kept."""
    return re.sub(r"\s+", " ", str(value if value is not None else "")).strip().lower()


class ActionSpec(BaseModel):
    """What a tool call will do, parsed once; unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str
    operation: str = ""
    runtime: str = ""
    hardware_flavor: str = ""
    timeout_s: int | None = None
    namespace: str = ""
    image: str = ""
    target: str = ""
    command: tuple[str, ...] = ()
    script: str | None = None
    # The remaining validated arguments, canonical JSON, so the hash binds everything the executor gets.
    arguments_json: str = "{}"
    # For a Hub write: the target repo's visibility as the Hub reported it before the card (public, private,
    # unknown); the policy never approves a write into a public repo, and the hash binds what the card said.
    visibility: str = ""

    def sha256(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()

    def display(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(mode="json").items() if v not in ("", None, (), [], "{}")}


def parse_duration_s(value: Any) -> int | None:
    """`timeout` as seconds: ints, "30m", "2h", "90s"; None when absent or unreadable (fail closed later)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value > 0 else None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(value).lower())
    if not match:
        return None
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    seconds = int(float(match.group(1)) * scale)
    return seconds if seconds > 0 else None


def _one_of(args: dict[str, Any], *names: str) -> str:
    """The canonical value of an argument that has aliases; two different values fail closed (never a read)."""
    values = {normalize(args[n]) for n in names if args.get(n) not in (None, "")}
    if len(values) > 1:
        return "conflicting: " + " | ".join(sorted(values))
    return values.pop() if values else ""


def classify(tool: str, arguments: dict[str, Any]) -> ActionSpec:
    """One canonical, strict parse of a validated tool call."""
    args = dict(arguments)
    command = args.get("command")
    if isinstance(command, str):
        command_tuple: tuple[str, ...] = (command,)
    elif isinstance(command, list | tuple):
        command_tuple = tuple(str(c) for c in command)
    else:
        command_tuple = ()
    target = args.get("repo_id") or args.get("path") or args.get("url") or args.get("job_id") or ""
    return ActionSpec(
        tool=tool,
        operation=_one_of(args, "operation", "action"),
        runtime=_one_of(args, "runtime"),
        hardware_flavor=_one_of(args, "hardware_flavor", "flavor"),
        timeout_s=parse_duration_s(args.get("timeout")),
        namespace=str(args.get("namespace") or ""),
        image=str(args.get("image") or ""),
        target=str(target),
        command=command_tuple,
        script=args.get("script") if isinstance(args.get("script"), str) else None,
        arguments_json=json.dumps(args, sort_keys=True, default=str, separators=(",", ":")),
    )


def clean_feedback(text: Any) -> str:
    """A person's feedback as it reaches the model: text only, no control characters, capped."""
    if not isinstance(text, str):
        return ""
    # C0/C1 controls (tab and newline kept), bidi overrides and zero-width characters that could hide text.
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]", "", text)
    return text[:FEEDBACK_LIMIT].strip()


def _now() -> datetime:
    return datetime.now(UTC)


def new_nonce() -> str:
    """128 random bits, URL-safe, never starting with '-': a nonce is pasted as a word on command lines
    (`mlintern approve SESSION NONCE`), where a leading dash reads as an option (1 nonce in 64 did)."""
    while (nonce := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return nonce


@dataclass
class ApprovalRecord:
    call_id: str
    spec: ActionSpec
    cost_usd: float | None
    nonce: str = field(default_factory=new_nonce)
    expires_at: datetime = field(default_factory=lambda: _now() + DEFAULT_EXPIRY)
    used: bool = False
    # The decision the person or policy gave; None while pending.
    decision: str | None = None
    feedback: str = ""
    approved_spec: ActionSpec | None = None
    # Set when the person chose "approve for this session": the command shape it allows (allow_list.py).
    allow_shape: str | None = None
    # "person" or "policy", once decided: only a person's approval may hand credentials to local code.
    decided_by: str | None = None

    @property
    def action_sha256(self) -> str:
        return self.spec.sha256()

    def expired(self, now: datetime | None = None) -> bool:
        return (now or _now()) >= self.expires_at


@dataclass(frozen=True)
class Resolution:
    """A decision about one record, not yet applied: the fields of its `approval_resolved` event."""

    record: ApprovalRecord
    decision: str  # approved | denied | expired | superseded
    feedback: str = ""
    # The script the person approved instead of the model's.
    edited_script: str | None = None
    allow_shape: str | None = None


def edited_spec(spec: ActionSpec, script: str) -> ActionSpec:
    """The action with the person's script in place of the model's: the hash binds the edited bytes."""
    args = json.loads(spec.arguments_json)
    args["script"] = script
    return spec.model_copy(update={"script": script, "arguments_json": json.dumps(
        args, sort_keys=True, default=str, separators=(",", ":"))})


class ApprovalBook:
    """The session's approval records. Decisions arrive from any UI as (nonce, decision, feedback, script);
    `resolve` decides without changing anything, `record_decision` (called by the fold) applies it."""

    def __init__(self, expiry: timedelta = DEFAULT_EXPIRY) -> None:
        self.expiry = expiry
        self.records: dict[str, ApprovalRecord] = {}
        # call id -> the newest record's nonce: lookups by call stay O(1), so a replay stays linear.
        self._by_call: dict[str, str] = {}

    def create(self, call_id: str, spec: ActionSpec, cost_usd: float | None, nonce: str | None = None,
               expires_at: datetime | None = None) -> ApprovalRecord:
        record = ApprovalRecord(call_id, spec, cost_usd, expires_at=expires_at or _now() + self.expiry)
        if nonce:
            record.nonce = nonce
        self.records[record.nonce] = record
        self._by_call[call_id] = record.nonce
        return record

    def pending(self) -> list[ApprovalRecord]:
        return [r for r in self.records.values() if r.decision is None]

    def for_call(self, call_id: str) -> ApprovalRecord | None:
        """The newest record asked for this call."""
        nonce = self._by_call.get(call_id)
        return self.records.get(nonce) if nonce is not None else None

    def resolve(self, nonce: Any, decision: Any, feedback: Any = "", script: Any = None,
                for_session: bool = False, now: datetime | None = None) -> Resolution | None:
        """What a person's answer decides. Unknown, reused or expired nonces and malformed answers never approve;
        None when the nonce is unknown or already decided (nothing changes, nothing runs).

        `for_session` also allows commands of this one's exact shape for the rest of the session, where
        allow_list.session_shape offers it (plain read-only bash commands); anywhere else it approves this once."""
        record = self.records.get(nonce) if isinstance(nonce, str) else None
        if record is None or record.decision is not None:
            return None
        if record.expired(now):
            return Resolution(record, "expired")
        if not isinstance(decision, str) or not isinstance(feedback, str | None):
            return Resolution(record, "denied", "malformed answer")
        if decision in APPROVE_WORDS:
            shape = None
            if script is not None:
                if not isinstance(script, str) or record.spec.script is None:
                    return Resolution(record, "denied", "malformed edited script")
            elif for_session is True:
                shape = session_shape(record.spec)
            return Resolution(record, "approved", clean_feedback(feedback), script, shape)
        if decision in DENY_WORDS:
            return Resolution(record, "denied", clean_feedback(feedback))
        return Resolution(record, "denied", "malformed answer")

    def record_decision(self, record: ApprovalRecord, decision: str, feedback: str = "",
                        edited_script: str | None = None, allow_shape: str | None = None,
                        by: str | None = None) -> ApprovalRecord:
        record.decision = decision
        record.feedback = feedback
        record.decided_by = by
        approved = decision == "approved"
        spec = edited_spec(record.spec, edited_script) if approved and edited_script is not None else record.spec
        record.approved_spec = spec if approved else None
        record.allow_shape = allow_shape if approved else None
        return record

    def answer(self, nonce: Any, decision: Any, feedback: Any = "", script: Any = None,
               for_session: bool = False) -> ApprovalRecord | None:
        """`resolve` and apply at once (for callers without an event log)."""
        resolution = self.resolve(nonce, decision, feedback, script, for_session)
        if resolution is None:
            return None
        return self.record_decision(resolution.record, resolution.decision, resolution.feedback,
                                    resolution.edited_script, resolution.allow_shape, by="person")

    def can_consume(self, record: ApprovalRecord, spec_to_run: ActionSpec, now: datetime | None = None) -> bool:
        """The executor's check: approved, unused, unexpired, and the exact approved action."""
        approved = record.approved_spec
        if record.decision != "approved" or record.used or approved is None or record.expired(now):
            return False
        return approved.sha256() == spec_to_run.sha256()

    def consume(self, record: ApprovalRecord, spec_to_run: ActionSpec) -> bool:
        """`can_consume`, then marks the record used (the loop records that as the call's tool_started)."""
        if not self.can_consume(record, spec_to_run):
            return False
        record.used = True
        return True
