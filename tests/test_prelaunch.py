"""Pre-launch checks of hf_jobs: facts about the script, the data and the model, on the approval card and in the
result the model gets; never a block."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.session import Session
from mlintern_jupyter.control import commands as c
from mlintern_jupyter.tools import ToolsConfig, default_tools
from mlintern_jupyter.tools.jobs.prelaunch import column_checks, script_checks
from tests.agent_eval.world import seed
from tests.fakes.fixtures import fake_hub  # noqa: F401
from tests.test_tools_support import call, of_kind, results, scripted_session

GOOD = ("from trl import SFTConfig, SFTTrainer\nfrom datasets import load_dataset\n"
        "ds = load_dataset('HuggingFaceH4/no_robots')\n"
        "args = SFTConfig(output_dir='out', push_to_hub=True, hub_model_id='me/sft', disable_tqdm=True)\n"
        "SFTTrainer(model='Qwen/Qwen2.5-0.5B-Instruct', args=args, train_dataset=ds['train']).train()\n")
CARELESS = ("from trl import DPOConfig, DPOTrainer\nfrom datasets import load_dataset\n"
            "ds = load_dataset('stanfordnlp/imdb')\n"
            "DPOTrainer(model='Qwen/Qwen2.5-7B-Instruct', args=DPOConfig(output_dir='out'), train_dataset=ds).train()\n")


def test_the_script_alone() -> None:
    assert script_checks(GOOD, timeout_s=3 * 3600, remote=True, script_args=[]) == []
    (broken,) = script_checks("def f(:\n", timeout_s=3600, remote=True, script_args=[])
    assert "does not parse (line 1" in broken
    push, timeout = script_checks(CARELESS, timeout_s=1800, remote=True, script_args=[])
    assert "the trained model is lost when the job ends" in push and "timeout of 30 min" in timeout
    # A smoke test (max_steps <= 100) may be short and keep nothing; a local job's files stay on this machine.
    assert script_checks(CARELESS, timeout_s=600, remote=True, script_args=["--max_steps", "10"]) == []
    assert script_checks(CARELESS, timeout_s=3 * 3600, remote=False, script_args=[]) == []
    (loads,) = script_checks("from transformers import pipeline\nprint(pipeline('x', model='a/b')('hi'))\n",
                             timeout_s=1800, remote=True, script_args=[])
    assert "saves nothing to the Hub" in loads


def test_the_columns_against_the_trainer() -> None:
    columns = {"stanfordnlp/imdb": ["text", "label"], "HuggingFaceH4/no_robots": ["messages", "category"]}
    assert column_checks(GOOD, columns) == []
    (wrong,) = column_checks(CARELESS, columns)
    assert "has columns label, text; DPOTrainer needs prompt+chosen+rejected or chosen+rejected" in wrong
    (unchecked,) = column_checks(CARELESS, {})
    assert "stanfordnlp/imdb was not inspected in this session" in unchecked
    mapped = CARELESS.replace("ds = load_dataset('stanfordnlp/imdb')", "ds = load_dataset('stanfordnlp/imdb').map(f)")
    assert column_checks(mapped, columns) == []
    kto = "from trl import KTOTrainer\nload_dataset('x/kto')\nKTOTrainer(train_dataset=d)\n"
    assert "KTOTrainer needs prompt+completion+label" in column_checks(kto, {"x/kto": ["prompt", "completion"]})[0]


def _session(tmp_path: Path, hub, script: list) -> Session:
    config = ToolsConfig(hf_endpoint=hub.url, hf_token=hub.token, datasets_server_url=hub.url, runtime="hf")
    session = scripted_session(tmp_path, default_tools(config), script, approve="ask")
    session.config.person_present = True

    def person(event: ev.Event) -> None:
        if isinstance(event, ev.ApprovalRequested):
            asyncio.get_running_loop().call_soon(session.answer_approval, event.nonce, "approve", "")

    session.subscribe(person)
    return session


def test_a_careless_launch_shows_every_check_on_the_card_and_in_the_result(tmp_path, fake_hub) -> None:  # noqa: F811
    seed(fake_hub)
    fake_hub.add_repo("Qwen/Qwen2.5-7B-Instruct", files={"config.json": "{}"}).safetensors["BF16"] = 7_615_616_512
    session = _session(tmp_path, fake_hub, [
        call("hf_inspect_dataset", {"dataset": "stanfordnlp/imdb"}, "c1"),
        call("hf_jobs", {"operation": "run", "script": CARELESS, "hardware_flavor": "a10g-large", "timeout": "30m",
                         "dependencies": ["trl"]}, "c2"),
        "done"])
    asyncio.run(asyncio.wait_for(session.run_turn("train"), 60))
    (card,) = of_kind(session, ev.ApprovalRequested)
    checks = " | ".join(card.checks)
    assert "the trained model is lost when the job ends" in checks
    assert "timeout of 30 min" in checks
    assert "DPOTrainer needs prompt+chosen+rejected" in checks
    assert "Qwen/Qwen2.5-7B-Instruct has about 7.62B parameters: full fine-tuning with AdamW needs about 152 GB" in \
        checks and "a10g-large has 24 GB" in checks
    launched = results(session)[-1]
    assert launched.ok and "Started job" in launched.content  # warnings never block
    assert "Pre-launch checks (warnings; they did not block):" in launched.content and \
        "the trained model is lost" in launched.content
    # The card as the person sees it shows them too.
    from mlintern_jupyter.jupyter.approval_card import ApprovalCard

    view = ApprovalCard(card, send=lambda command: c.Reply(ok=True))
    assert "Pre-launch checks" in view.action.value and "the trained model is lost" in view.action.value


def test_a_careful_launch_has_no_warnings_and_a_missing_model_is_named(tmp_path, fake_hub) -> None:  # noqa: F811
    seed(fake_hub)
    fake_hub.repo("Qwen/Qwen2.5-0.5B-Instruct", "model").safetensors["BF16"] = 494_032_768
    missing = GOOD.replace("Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen9-0.5B-Typo").replace("me/sft", "me/sft2")
    session = _session(tmp_path, fake_hub, [
        call("hf_inspect_dataset", {"dataset": "HuggingFaceH4/no_robots"}, "c1"),
        call("hf_jobs", {"operation": "run", "script": GOOD, "hardware_flavor": "a10g-large", "timeout": "3h"}, "c2"),
        call("hf_jobs", {"operation": "run", "script": missing, "hardware_flavor": "a10g-large", "timeout": "3h"},
             "c3"),
        "done"])
    asyncio.run(asyncio.wait_for(session.run_turn("train"), 60))
    careful, typo = of_kind(session, ev.ApprovalRequested)
    assert careful.checks == []
    (not_found,) = typo.checks
    assert "model Qwen/Qwen9-0.5B-Typo" in not_found and "not found" in not_found.lower()
    assert "Pre-launch checks" not in results(session)[1].content
