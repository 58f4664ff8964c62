"""The system prompt: the static playbook (prompts/system.md), then a short SESSION CONTEXT built per session.

The playbook is the same for every session, so it is the part a prompt cache can share; the session context
(date, Hugging Face account, runtime, hardware with prices, notebook, kernel, tool count) follows it after the
`SESSION_CONTEXT_HEADER` line. `split_system_prompt` gives the two parts back to a provider adapter that sends
them as separate system blocks with the cache breakpoint after the first.

`build_session_context` is a pure function of typed inputs. Nothing secret may reach it: every free-text value
must have the shape of what it claims to be (an account name, a flavour, a file name, an identifier) and must
pass the redaction rules and the session's known secrets; a value that does not is withheld, never shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Literal

SESSION_CONTEXT_HEADER = "# SESSION CONTEXT"
WITHHELD = "[withheld]"
MAX_VARIABLES = 12

# Shapes of the values the context may carry (Hub names: letters, digits, "-", "_", "."; at most 96 chars).
_HUB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_FLAVOR = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_SPEC = re.compile(r"[A-Za-z0-9 .,()x+/-]{1,40}")
_FILE_NAME = re.compile(r"[\w .()+,-]{1,120}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,79}")
_TZ = re.compile(r"[A-Za-z0-9_+:/ -]{1,40}")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+-]{0,20}")
# A run of 20+ letters and digits with a digit in it reads as a key or token, whatever its prefix.
_TOKENISH = re.compile(r"(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{20,}")


@dataclass(frozen=True)
class HardwareOption:
    """One job flavour: for a GPU flavour its model ("A10G"), count and total GPU memory ("24 GB");
    for a CPU flavour its `cpu` and `ram` ("2 vCPU", "16 GB")."""

    name: str
    price_per_hour: float | None
    gpu: str | None = None
    gpus: int = 1
    gpu_memory: str = ""
    cpu: str = ""
    ram: str = ""


@dataclass(frozen=True)
class KernelSummary:
    python: str = ""
    cells_run: int = 0
    # Exception type name when the last cell the person ran raised one.
    last_error: str | None = None
    # (name, type name) of the person's variables, never their values.
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SessionFacts:
    now: datetime
    runtime: Literal["hf", "local"]
    tool_count: int
    # has_token with no hf_user: a token is set but its account could not be read.
    has_token: bool = False
    hf_user: str | None = None
    hf_orgs: tuple[str, ...] = ()
    hardware: tuple[HardwareOption, ...] = ()
    hardware_source: Literal["live", "built-in table"] = "live"
    timezone: str | None = None
    notebook: str | None = None
    kernel: KernelSummary | None = None
    local_cpus: int | None = None


def static_prompt() -> str:
    """The playbook: the same text for every session."""
    return resources.files("mlintern_jupyter.agent").joinpath("prompts/system.md").read_text()


def system_prompt(context: str, static: str | None = None) -> str:
    return f"{(static if static is not None else static_prompt()).rstrip()}\n\n{context}"


def split_system_prompt(text: str) -> tuple[str, str]:
    """(static playbook, session context); the context is "" for a prompt without one."""
    head, sep, tail = text.partition(f"\n\n{SESSION_CONTEXT_HEADER}\n")
    return (head, f"{SESSION_CONTEXT_HEADER}\n{tail}") if sep else (text, "")


class _Cleaner:
    """Accepts a value only when it has the expected shape and looks like no secret."""

    def __init__(self, redact: Callable[[str], str] | None) -> None:
        if redact is None:
            from .redact import Redactor

            redact = Redactor().redact  # the pattern rules: token shapes, keys, credentials in URLs
        self.redact = redact

    def ok(self, value: str, shape: re.Pattern[str]) -> bool:
        if not isinstance(value, str) or not shape.fullmatch(value) or _TOKENISH.search(value):
            return False
        try:
            return self.redact(value) == value
        except Exception:  # noqa: BLE001 - a redactor that fails means "not known to be safe": withhold
            return False

    def __call__(self, value: str | None, shape: re.Pattern[str], missing: str = WITHHELD) -> str:
        if value is None or value == "":
            return missing
        return value if self.ok(value, shape) else WITHHELD


def _price(value: float | None) -> str:
    if value is None or value != value or value < 0:
        return "price unknown"
    return f"${value:.2f}"


def _compact(size: str) -> str:
    return size.replace(" ", "")


def _hardware_item(option: HardwareOption, clean: _Cleaner) -> str:
    """"a100x4 4xA100 320GB $10.00", "cpu-basic 2vCPU 16GB $0.01": terse, there are two dozen of them."""
    if option.gpu:
        count = f"{int(option.gpus)}x" if int(option.gpus) > 1 else ""
        specs = [f"{count}{option.gpu}" if clean.ok(option.gpu, _SPEC) else "",
                 _compact(option.gpu_memory) if clean.ok(option.gpu_memory, _SPEC) else ""]
    else:
        specs = [_compact(s) if clean.ok(s, _SPEC) else "" for s in (option.cpu, option.ram)]
    return " ".join([option.name, *[s for s in specs if s], _price(option.price_per_hour)])


def _hardware_lines(facts: SessionFacts, clean: _Cleaner) -> list[str]:
    cpu: list[str] = []
    gpu: list[str] = []
    for option in facts.hardware:
        if clean.ok(option.name, _FLAVOR):
            (gpu if option.gpu else cpu).append(_hardware_item(option, clean))
    if not cpu and not gpu:
        return ["- Hardware: unknown (hf_jobs operation='hardware' lists flavours and prices)."]
    source = "live from the Hub" if facts.hardware_source == "live" else \
        "built-in table: the Hub's list was unavailable, prices may have changed; GPU memory via hf_jobs operation='hardware'"
    lines = [f"- HF Jobs hardware, USD per hour ({source}):"]
    if cpu:
        lines.append("  CPU (vCPUs, RAM): " + "; ".join(cpu))
    if gpu:
        lines.append("  GPU (GPUs, total GPU memory): " + "; ".join(gpu))
    return lines


def _kernel_line(kernel: KernelSummary, clean: _Cleaner) -> str:
    parts = []
    if kernel.python and clean.ok(kernel.python, _VERSION):
        parts.append(f"Python {kernel.python}")
    runs = max(0, int(kernel.cells_run))
    parts.append(f"{runs} cell{'s' if runs != 1 else ''} run")
    if kernel.last_error:
        parts.append(f"the last one raised {clean(kernel.last_error, _TYPE_NAME)}")
    shown = [f"{name} ({kind if clean.ok(kind, _TYPE_NAME) else '?'})"
             for name, kind in kernel.variables if clean.ok(name, _IDENTIFIER)][:MAX_VARIABLES]
    if shown:
        more = len(kernel.variables) - len(shown)
        parts.append("variables: " + ", ".join(shown) + (f", +{more} more (kernel_inspect)" if more > 0 else ""))
    else:
        parts.append("no variables defined yet")
    return "; ".join(parts)


def build_session_context(facts: SessionFacts, *, redact: Callable[[str], str] | None = None) -> str:
    """The SESSION CONTEXT block. `redact` is the session's redactor (known secrets plus rules)."""
    clean = _Cleaner(redact)
    now = facts.now
    offset = now.strftime("%z")
    zone = clean(facts.timezone or now.tzname() or "", _TZ, missing="local time")
    utc = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    when = f"{now:%Y-%m-%d %H:%M} {zone}" + (f" ({utc})" if utc and utc != "UTC+00:00" else "")
    lines = [SESSION_CONTEXT_HEADER, f"- Date: {when}, {now:%A}."]
    if not facts.has_token:
        lines.append("- Hugging Face: no token; jobs run locally, and nothing can be pushed to the Hub until the "
                     "person sets HF_TOKEN.")
    elif facts.hf_user is None:
        lines.append("- Hugging Face: a token is set, but the account could not be read (the Hub did not answer); "
                     "ask before assuming a namespace.")
    else:
        orgs = [clean(o, _HUB_NAME) for o in facts.hf_orgs]
        lines.append(f"- Hugging Face: signed in as {clean(facts.hf_user, _HUB_NAME)}"
                     + (f", member of {', '.join(orgs)}" if orgs else ", no organizations")
                     + ". Push to this account unless the person names an org.")
    if facts.runtime == "hf":
        lines.append("- Runtime: HF Jobs. hf_jobs runs on Hugging Face compute (runtime='local' keeps a job on "
                     "this machine).")
        lines += _hardware_lines(facts, clean)
    else:
        cpus = f" ({facts.local_cpus} CPUs)" if facts.local_cpus else ""
        lines.append(f"- Runtime: local. hf_jobs runs jobs as processes on this machine{cpus}; hardware_flavor "
                     "has no effect and there is no GPU unless the person says so.")
    notebook = clean(facts.notebook, _FILE_NAME, missing="unknown (the kernel was not told its notebook's name)")
    lines.append(f"- Notebook: {notebook}.")
    if facts.kernel is not None:
        lines.append(f"- Kernel: {_kernel_line(facts.kernel, clean)}.")
    lines.append(f"- Tools: {int(facts.tool_count)}.")
    text = "\n".join(lines)
    # Every piece passed on its own; the whole is checked once more, failing closed to the bare header.
    try:
        return clean.redact(text)
    except Exception:  # noqa: BLE001
        return f"{SESSION_CONTEXT_HEADER}\n- (not available)"
