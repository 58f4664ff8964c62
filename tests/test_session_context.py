"""The SESSION CONTEXT: its facts, its sources (the Hub account through the loopback Hub, the kernel), and that
no secret planted in any of its inputs reaches it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from mlintern_jupyter.agent.redact import Redactor
from mlintern_jupyter.agent.session_context import (
    SESSION_CONTEXT_HEADER,
    WITHHELD,
    HardwareOption,
    KernelSummary,
    SessionFacts,
    build_session_context,
    split_system_prompt,
    static_prompt,
    system_prompt,
)
from mlintern_jupyter.jupyter.kernel_context import CellRecord, KernelContext
from mlintern_jupyter.jupyter.session_facts import kernel_summary, notebook_name
from mlintern_jupyter.tools.config import ToolsConfig
from mlintern_jupyter.tools.hub_account import HubAccount

NOW = datetime(2026, 3, 14, 9, 26, tzinfo=timezone(timedelta(hours=1), "CET"))
A100 = HardwareOption("a100x4", 10.0, gpu="A100", gpus=4, gpu_memory="320 GB")
CPU = HardwareOption("cpu-basic", 0.01, cpu="2 vCPU", ram="16 GB")


def facts(**overrides) -> SessionFacts:
    base = dict(now=NOW, runtime="hf", tool_count=23, has_token=True, hf_user="ada", hf_orgs=("lab", "uni"),
                hardware=(CPU, A100), notebook="train.ipynb",
                kernel=KernelSummary("3.11.9", 3, None, (("df", "DataFrame"), ("tok", "PreTrainedTokenizerFast"))))
    return SessionFacts(**{**base, **overrides})  # type: ignore[arg-type]


def test_the_context_states_each_fact_in_one_short_block() -> None:
    text = build_session_context(facts())
    assert text.startswith(SESSION_CONTEXT_HEADER + "\n")
    assert "2026-03-14 09:26 CET (UTC+01:00), Saturday" in text
    assert "signed in as ada, member of lab, uni" in text
    assert "Runtime: HF Jobs" in text
    assert "cpu-basic 2vCPU 16GB $0.01" in text and "a100x4 4xA100 320GB $10.00" in text
    assert "live from the Hub" in text
    assert "Notebook: train.ipynb." in text
    assert "Kernel: Python 3.11.9; 3 cells run; variables: df (DataFrame), tok (PreTrainedTokenizerFast)." in text
    assert text.rstrip().endswith("Tools: 23.")
    assert len(text) < 1_200


def test_no_token_means_local_jobs_and_no_hardware_list() -> None:
    text = build_session_context(facts(has_token=False, hf_user=None, hf_orgs=(), runtime="local", local_cpus=8))
    assert "no token; jobs run locally" in text
    assert "Runtime: local" in text and "(8 CPUs)" in text
    assert "HF Jobs hardware" not in text and "a100x4" not in text


def test_unreadable_account_and_fallback_table_are_labelled() -> None:
    text = build_session_context(facts(hf_user=None, hf_orgs=(), hardware=(HardwareOption("t4-small", 0.4),),
                                       hardware_source="built-in table", notebook=None,
                                       kernel=KernelSummary("3.11.9", 1, "KeyError", ())))
    assert "the account could not be read" in text
    assert "built-in table" in text and "t4-small $0.40" in text
    assert "unknown (the kernel was not told its notebook's name)" in text
    assert "the last one raised KeyError" in text and "no variables defined yet" in text


def test_many_variables_are_cut_with_a_pointer_to_kernel_inspect() -> None:
    names = tuple((f"v{i}", "int") for i in range(30))
    text = build_session_context(facts(kernel=KernelSummary("3.11.9", 30, None, names)))
    assert "v11 (int)" in text and "v12 (int)" not in text and "+18 more (kernel_inspect)" in text


def test_the_system_prompt_is_the_static_playbook_then_the_context() -> None:
    context = build_session_context(facts())
    prompt = system_prompt(context)
    static, tail = split_system_prompt(prompt)
    assert static == static_prompt().rstrip() and tail == context
    assert SESSION_CONTEXT_HEADER not in static
    assert split_system_prompt("just a prompt") == ("just a prompt", "")


SHAPED = {
    "hf": "hf_" + "Ab3" * 12,
    "openai": "sk-proj-" + "x9Y" * 10,
    "anthropic": "sk-ant-api03-" + "Qz8" * 10,
    "github": "ghp_" + "k7M" * 12,
    "aws": "AKIA" + "ABCDEFGH12345678",
    "shapeless": "Zq4vK9wLm2Nx8Tr5Bp7Hy3Jd",  # no known prefix: caught as token-like
}
KNOWN = "correct-horse-battery"  # a secret by value only (registered like an env secret)


@pytest.mark.parametrize("kind", sorted(SHAPED) + ["known"])
def test_no_secret_planted_in_any_input_reaches_the_context(kind: str) -> None:
    secret = KNOWN if kind == "known" else SHAPED[kind]
    redactor = Redactor({"MY_PASSWORD": KNOWN})
    planted = facts(
        hf_user=secret, hf_orgs=("lab", secret), timezone=secret, notebook=f"{secret}.ipynb",
        hardware=(HardwareOption(secret, 1.0, gpu=secret, gpus=2, gpu_memory=secret),
                  HardwareOption("cpu-basic", 0.01, cpu=secret, ram=f"16 GB {secret}"),
                  HardwareOption("t4-small", 0.4, gpu="T4", gpu_memory="16 GB")),
        kernel=KernelSummary(python=secret, cells_run=2, last_error=secret,
                             variables=((secret, "str"), ("token", secret), ("df", "DataFrame"))),
    )
    text = build_session_context(planted, redact=redactor.redact)
    # The clock's own zone name is an input too (used when no time zone name is given).
    zoned = build_session_context(facts(now=datetime(2026, 3, 14, 9, 26, tzinfo=timezone(timedelta(0), secret)),
                                        timezone=None), redact=redactor.redact)
    for piece in {secret, secret[:12], secret[-12:]}:
        assert piece not in text + zoned, f"{kind} secret leaked into the session context"
    # The rest of the context survives around what was withheld.
    assert WITHHELD in text and "t4-small T4 16GB $0.40" in text and "df (DataFrame)" in text
    assert "Tools: 23." in text


def test_account_and_hardware_come_from_the_hub_once_per_token(fake_hub) -> None:
    config = ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token)
    account = HubAccount()
    first = account.facts(config)
    assert first.user == fake_hub.user and first.orgs == ("fake-org",)
    assert first.hardware_source == "live"
    by_name = {h.name: h for h in first.hardware}
    assert by_name["a10g-large"].gpu == "A10G" and by_name["a10g-large"].gpu_memory == "24 GB"
    assert by_name["a10g-large"].price_per_hour == pytest.approx(1.5, rel=0.01)
    assert by_name["cpu-basic"].gpu is None and by_name["cpu-basic"].cpu == "2 vCPU"
    assert account.facts(config) == first
    assert len(fake_hub.requests.find(path="/api/whoami-v2")) == 1
    assert len(fake_hub.requests.find(route="jobs.hardware")) == 1


def test_a_failing_hub_gives_unknown_account_and_the_table_then_is_asked_again(fake_hub) -> None:
    config = ToolsConfig(hf_endpoint=fake_hub.url, hf_token=fake_hub.token)
    fake_hub.fail("* /api/whoami-v2", 500, times=1)
    fake_hub.fail("jobs.hardware", 500, times=1)
    account = HubAccount()
    degraded = account.facts(config)
    assert degraded.has_token and degraded.user is None and degraded.hardware_source == "built-in table"
    assert any(h.name == "a100-large" for h in degraded.hardware)
    assert account.facts(config).user == fake_hub.user  # not cached: the next session asks again


def test_no_token_asks_nothing() -> None:
    assert HubAccount().facts(ToolsConfig(hf_token="")).has_token is False


def test_a_hub_that_never_answers_is_left_behind_at_the_deadline() -> None:
    import socket
    import threading

    # A server that accepts connections (the backlog) and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        config = ToolsConfig(hf_endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}", hf_token="hf_x")
        facts_ = HubAccount(deadline_s=0.3).facts(config)
        # Returned while the requests still wait: the deadline ended the wait, not a client timeout.
        waiting = [t for t in threading.enumerate() if t.name.startswith("mlintern-hub-account") and t.is_alive()]
    assert facts_.user is None and facts_.hardware_source == "built-in table"
    assert waiting


def test_notebook_name_comes_from_the_session_variable_or_jupyter_server() -> None:
    shell = SimpleNamespace(user_ns={"__session__": "/home/ada/projects/train imdb.ipynb"})
    assert notebook_name(shell, environ={}) == "train imdb.ipynb"
    assert notebook_name(SimpleNamespace(user_ns={}), environ={"JPY_SESSION_NAME": "a/b/eval.ipynb"}) == "eval.ipynb"
    assert notebook_name(SimpleNamespace(user_ns={}), environ={}) is None


def test_kernel_summary_names_variables_and_types_never_values() -> None:
    import json as a_module

    secret_value = "hf_" + "Vv9" * 12
    shell = SimpleNamespace(user_ns={"df": [1, 2], "token": secret_value, "_hidden": 1, "In": [], "json": a_module,
                                     "seen": 3},
                            user_ns_hidden={"seen": 3})
    context = KernelContext(shell)
    context.cells = [CellRecord(1, "x = 1"), CellRecord(2, "y[0]", error="Traceback ...\nKeyError: 'label'\n")]
    summary = kernel_summary(shell, context)
    assert summary.cells_run == 2 and summary.last_error == "KeyError"
    assert dict(summary.variables) == {"df": "list", "token": "str"}
    text = build_session_context(facts(kernel=summary))
    assert secret_value not in text and "token (str)" in text


def test_the_date_is_the_sessions_own_clock() -> None:
    text = build_session_context(facts(now=datetime(2027, 1, 2, 3, 4, tzinfo=UTC)))
    assert re.search(r"Date: 2027-01-02 03:04 UTC, Saturday\.", text)
