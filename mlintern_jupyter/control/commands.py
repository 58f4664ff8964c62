"""Typed commands: what a person (or a host acting for one) can ask of a session, in one schema.

The magics build them from their arguments, the side panel sends them over the `mlintern` comm, the inline
cards build them from their buttons, a console script from its argv; all go to one `Dispatcher`. Every field is
validated here, so every UI gets the same one-line refusal for the same bad input (a negative budget, an unknown
approve mode, an empty prompt). `labextension/src/commands.ts` is generated from this module's JSON Schema
(`scripts/gen_commands_ts.py`), so the panel cannot send a shape the kernel does not know.

Protocol version rules (the comm envelope `{v, id, command}`):
- `PROTOCOL_VERSION` is one integer; every message either side sends carries it as `v`.
- The kernel acts only on messages of its own version; any other (or none: panels before versioning) is answered
  with `{type: 'error', code: 'version'}` naming both versions and what to do, and nothing happens.
- Bump it whenever the command schema changes (a field, a command, a type): `tests/test_commands.py` pins the
  schema's hash per version, so a schema change without a bump fails the tests.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

PROTOCOL_VERSION = 3

ApproveMode = Literal["ask", "auto", "deny"]
Effort = Literal["low", "medium", "high", "max", "none"]
TraceMode = Literal["private", "public", "off"]
EFFORTS: tuple[str, ...] = ("low", "medium", "high", "max", "none")
USD = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1, max_length=4096)]


class BaseCommand(BaseModel):
    # Validators are built on first use, not at import: %load_ext stays quick.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Hello(BaseCommand):
    """A frontend attaches: answered with the session's history (and its cell placements)."""

    type: Literal["hello"] = "hello"


class Prompt(BaseCommand):
    """Start or continue the session with a prompt; the options are the `%%intern` cell magic's."""

    type: Literal["prompt"] = "prompt"
    text: str = Field(min_length=1, max_length=200_000)
    cell_id: str | None = None
    new: bool = False
    wait: bool = False
    model: Text | None = None
    approve: ApproveMode | None = None
    budget: USD | None = None
    max_iterations: Annotated[int, Field(ge=1, le=100_000)] | None = None
    effort: Effort | None = None
    api_base: Text | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the prompt is empty: write a task under %%intern")
        return value


class Stop(BaseCommand):
    """Stop the running turn and the queued prompts; with `turn_id` (a card's Stop), only that turn."""

    type: Literal["stop"] = "stop"
    turn_id: str | None = None


class Approve(BaseCommand):
    """Approve as shown, or (`script`) the edited script a person put in a `%%intern approve NONCE` cell."""

    type: Literal["approve"] = "approve"
    nonce: Text
    feedback: str = Field(default="", max_length=4096)
    script: str | None = None


class Deny(BaseCommand):
    type: Literal["deny"] = "deny"
    nonce: Text
    feedback: str = Field(default="", max_length=4096)


class ApproveForSession(BaseCommand):
    """Approve, and allow the same plain bash program for the rest of the session (offered for bash only)."""

    type: Literal["approve_for_session"] = "approve_for_session"
    nonce: Text


class EditInCell(BaseCommand):
    """Put the script of a pending approval in a new cell headed `%%intern approve NONCE`."""

    type: Literal["edit_in_cell"] = "edit_in_cell"
    nonce: Text


class SetApproveMode(BaseCommand):
    type: Literal["set_approve_mode"] = "set_approve_mode"
    mode: ApproveMode


class SetBudget(BaseCommand):
    """The spend cap in USD; null removes it. A turn paused at the old cap continues when the new one leaves room."""

    type: Literal["set_budget"] = "set_budget"
    usd: USD | None


class SetModel(BaseCommand):
    type: Literal["set_model"] = "set_model"
    model: Text
    api_base: Text | None = None


class SetEffort(BaseCommand):
    type: Literal["set_effort"] = "set_effort"
    effort: Effort


class SetPrice(BaseCommand):
    """A price for the current model when litellm has none (USD per million input / output tokens)."""

    type: Literal["set_price"] = "set_price"
    input_per_mtok: USD
    output_per_mtok: USD


class SetMaxIterations(BaseCommand):
    type: Literal["set_max_iterations"] = "set_max_iterations"
    max_iterations: Annotated[int, Field(ge=1, le=100_000)]


class SetTraces(BaseCommand):
    type: Literal["set_traces"] = "set_traces"
    mode: TraceMode


class AllowHfTokenJobs(BaseCommand):
    """`%intern allow hf-token-jobs [off]`: let policy approve HF jobs and sandbox Spaces, which receive the HF
    token, for this session (`allowed`), take that back, or (None) say what is allowed."""

    type: Literal["allow_hf_token_jobs"] = "allow_hf_token_jobs"
    allowed: bool | None = None


class CancelJob(BaseCommand):
    type: Literal["cancel_job"] = "cancel_job"
    job_id: Text


class Export(BaseCommand):
    """Write a session (this one, or `session_id`) as a notebook; directories are created only with make_dirs."""

    type: Literal["export"] = "export"
    path: Text
    session_id: Text | None = None
    make_dirs: bool = False


class Resume(BaseCommand):
    """Open a past session; answers given meanwhile continue now. `wait` (`%intern resume ID --wait`, `mlintern
    resume`): block until that turn ends, with nobody to ask (approvals end the turn, as `--wait`)."""

    type: Literal["resume"] = "resume"
    session_id: Text
    wait: bool = False


class Sessions(BaseCommand):
    type: Literal["sessions"] = "sessions"
    limit: Annotated[int, Field(ge=1, le=1000)] = 50


class Show(BaseCommand):
    """A read-only view: the session's status, its model (with suggestions), effort, or trace mode."""

    type: Literal["show"] = "show"
    what: Literal["status", "model", "effort", "traces"] = "status"


class Compact(BaseCommand):
    type: Literal["compact"] = "compact"


class Upload(BaseCommand):
    type: Literal["upload"] = "upload"
    session_id: Text | None = None


class CellAck(BaseCommand):
    """The panel placed (or found) the cell of a cell_insert event, or could not find where it went."""

    type: Literal["cell_ack"] = "cell_ack"
    session_id: Text
    call_id: Text
    result: Literal["inserted", "found", "missing"]


class InsertCell(BaseCommand):
    """The card's "Insert below": hand the cell to the frontend through the kernel (set_next_input)."""

    type: Literal["insert_cell"] = "insert_cell"
    session_id: Text
    call_id: Text


COMMAND_TYPES: tuple[type[BaseCommand], ...] = (
    Hello, Prompt, Stop, Approve, Deny, ApproveForSession, EditInCell, SetApproveMode, SetBudget, SetModel,
    SetEffort, SetPrice, SetMaxIterations, SetTraces, AllowHfTokenJobs, CancelJob, Export, Resume, Sessions, Show, Compact, Upload,
    CellAck, InsertCell,
)
Command = Annotated[
    Hello | Prompt | Stop | Approve | Deny | ApproveForSession | EditInCell | SetApproveMode | SetBudget
    | SetModel | SetEffort | SetPrice | SetMaxIterations | SetTraces | AllowHfTokenJobs | CancelJob | Export | Resume | Sessions
    | Show | Compact | Upload | CellAck | InsertCell,
    Field(discriminator="type"),
]


def edit_cell_source(nonce: str, script: str) -> str:
    """The cell "Edit in a cell" creates: running it sends Approve(nonce, script=<the cell's body>)."""
    return f"%%intern approve {nonce}\n{script}"


class Reply(BaseModel):
    """What a command did, as one line for a person (`message`) and, where a UI needs it, data."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    message: str = ""
    data: dict[str, Any] | None = None


class CommandError(ValueError):
    """A message that is not a valid command of this protocol version: nothing was done."""

    def __init__(self, message: str, code: Literal["invalid", "version"] = "invalid") -> None:
        super().__init__(message)
        self.code = code


@functools.cache
def command_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(Command)


FIELD_NAMES = {"usd": "budget", "input_per_mtok": "input price", "output_per_mtok": "output price"}


def _shown(value: Any) -> str:
    return value if isinstance(value, str) and value.strip() and " " not in value else repr(value)


def explain(exc: ValidationError, *, tagged: bool = False) -> str:
    """One line a person can act on, from pydantic's errors: `budget must be at least 0 (got -5)`. `tagged`: the
    errors come from the command union, whose first location entry is the command's type, not a field."""
    parts = []
    for error in exc.errors()[:2]:
        loc = list(error["loc"][1:] if tagged else error["loc"])
        fields = [str(p) for p in loc if not isinstance(p, int)]
        where = FIELD_NAMES.get(fields[-1], fields[-1].replace("_", " ")) if fields else "command"
        kind = error["type"]
        got = error.get("input")
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            tag = got.get("type") if isinstance(got, dict) else None
            parts.append(f"unknown command {tag!r}" if tag else "a command needs a `type`")
            continue
        if kind == "greater_than_equal":
            text = f"{where} must be at least {error['ctx']['ge']:g}"
        elif kind == "less_than_equal":
            text = f"{where} must be at most {error['ctx']['le']:g}"
        elif kind == "literal_error":
            text = f"{where} must be one of {error['ctx']['expected'].replace(' or ', ', ')}"
        elif kind in ("float_parsing", "float_type", "finite_number"):
            text = f"{where} must be a number of USD" if where in ("budget", "input price", "output price") \
                else f"{where} must be a number"
        elif kind in ("int_parsing", "int_type", "int_from_float"):
            text = f"{where} must be a whole number"
        elif kind == "missing":
            text = f"{where} is missing"
        elif kind == "extra_forbidden":
            text = f"unknown field {where!r}"
        elif kind == "value_error":
            text = str(error["msg"]).removeprefix("Value error, ")
        else:
            text = f"{where}: {error['msg']}"
        parts.append(text + (f" (got {_shown(got)})" if kind not in ("missing", "value_error") and not
                             isinstance(got, dict) else ""))
    return "; ".join(parts)


def parse_command(data: Any) -> Any:
    """A command from its JSON form (a dict with `type`); raises CommandError with one readable line."""
    try:
        return command_adapter().validate_python(data)
    except ValidationError as exc:
        raise CommandError(explain(exc, tagged=True)) from None


def version_message(version: Any) -> str:
    if isinstance(version, int) and version > PROTOCOL_VERSION:
        return (f"This side panel speaks mlintern protocol {version}, but the kernel's mlintern-jupyter speaks "
                f"{PROTOCOL_VERSION}: upgrade mlintern-jupyter in the kernel's environment and restart the kernel.")
    spoken = version if isinstance(version, int) else 1
    return (f"This side panel speaks mlintern protocol {spoken}, but the kernel speaks {PROTOCOL_VERSION}: "
            "reload the page so JupyterLab loads the panel installed with this kernel's mlintern-jupyter "
            "(restart JupyterLab after an upgrade). Nothing was done.")


def parse_message(data: Any) -> tuple[str | None, Any]:
    """A comm message `{v, id, command}`: (request id, command). A message of another protocol version (or of
    none) raises CommandError(code='version'); anything else malformed, CommandError(code='invalid')."""
    if not isinstance(data, dict):
        raise CommandError("messages must be JSON objects")
    if data.get("v") != PROTOCOL_VERSION:
        raise CommandError(version_message(data.get("v")), code="version")
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise CommandError("`id` must be a string")
    return request_id, parse_command(data.get("command"))


def commands_json_schema() -> dict[str, Any]:
    """The JSON Schema of every command: the source `labextension/src/commands.ts` is generated from."""
    schema = command_adapter().json_schema(mode="validation")
    schema["x-protocol-version"] = PROTOCOL_VERSION
    return schema


def schema_sha256() -> str:
    """The hash a protocol version pins (tests/test_commands.py): the schema without its version stamp."""
    schema = command_adapter().json_schema(mode="validation")
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()
