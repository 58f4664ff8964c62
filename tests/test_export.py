"""`export_notebook`: a scripted session becomes a valid, inert, redacted notebook that nbval runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.export import INERT_MAGIC, ExportError, escape_md, export_notebook
from mlintern_jupyter.agent.redact import RedactionError, Redactor
from tests.crash_driver import DIGEST, FULL_SCRIPT, SCRIPT, SECRET, SUMMARY, run_story

GITHUB_PAT = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def cells_of(nb, kind: str) -> list:
    return [c for c in nb.cells if c.metadata.get("mlintern", {}).get("kind") == kind]


@pytest.fixture
def story(tmp_path):
    session = run_story(tmp_path / "home")
    session.close()
    return session


def test_export_of_a_session_directory(story, tmp_path):
    path = export_notebook(story.dir, tmp_path / "out" / "session.ipynb", make_dirs=True)
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    text = path.read_text()

    meta = nb.metadata["mlintern"]
    assert meta["session_id"] == "story" and meta["model"] == "scripted:story"
    assert meta["totals"]["turns"] == 3 and meta["totals"]["model_calls"] == 6
    assert meta["totals"]["prompt_tokens"] > 0 and meta["totals"]["compactions"] == 1
    # Prompts and answers are markdown; the pasted token is masked.
    prompts = cells_of(nb, "user_prompt")
    assert [c.cell_type for c in prompts] == ["markdown"] * 3
    assert SECRET not in text and "[REDACTED:HF_TOKEN]" in prompts[0].source
    assert DIGEST.splitlines()[-1] in prompts[1].source and "```" in prompts[1].source
    # LLM text never becomes HTML.
    answer = next(c for c in cells_of(nb, "assistant_message") if "smoke job" in c.source)
    assert "<script>" not in answer.source and "&lt;script>" in answer.source
    # Tool calls: collapsed code cells holding the result as a stream output.
    tools = cells_of(nb, "tool_call")
    assert {c.metadata["mlintern"]["tool"] for c in tools} == {"plan_tool", "notebook_insert_cell", "hf_jobs"}
    for cell in tools:
        assert cell.cell_type == "code" and cell.metadata["collapsed"] is True
        assert cell.metadata["jupyter"]["outputs_hidden"] is True
    job = next(c for c in tools if c.metadata["mlintern"]["call_id"] == "call_job1")
    assert job.outputs[0]["output_type"] == "stream" and "started job-1" in job.outputs[0]["text"]
    # Scripts: the inserted cell and the job script waiting for approval, each inert.
    scripts = [c for c in nb.cells if "mlintern-script" in c.metadata.get("tags", [])]
    assert [c.source.split("\n", 1)[1] for c in scripts] == [SCRIPT, FULL_SCRIPT]
    assert all(c.source.startswith(INERT_MAGIC + "\n") for c in nb.cells if c.cell_type == "code")
    # Approvals, jobs, costs and the compaction summary as annotations.
    approvals = [c.source for c in cells_of(nb, "approval")]
    assert "**approved** by policy" in approvals[0] and "**pending**" in approvals[1]
    assert "job-1" in cells_of(nb, "job")[0].source
    assert all("model calls" in c.source for c in cells_of(nb, "turn_ended"))
    compacted = cells_of(nb, "compacted")
    assert len(compacted) == 1 and compacted[0].cell_type == "markdown" and SUMMARY in compacted[0].source


def test_exported_notebook_runs_under_nbval_and_launches_nothing(story, tmp_path):
    run_dir = tmp_path / "run"
    path = export_notebook(story.dir, run_dir / "session.ipynb", make_dirs=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(path)],
        cwd=run_dir, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
    assert not (run_dir / "LAUNCHED_BY_EXPORT").exists()


def test_export_is_redacted_as_a_whole_from_an_event_list(tmp_path):
    events = [
        ev.SessionStarted(session_id="s1", seq=1, ts="2025-01-02T03:04:05.000Z", model="m"),
        ev.UserPrompt(session_id="s1", seq=2, ts="2025-01-02T03:04:06.000Z", text="use my key please"),
        ev.ToolCall(session_id="s1", seq=3, call_id="c1", tool="bash",
                    arguments={"command": f"git clone https://user:{GITHUB_PAT}@github.com/x/y"}),
        ev.ToolResult(session_id="s1", seq=4, call_id="c1", tool="bash", ok=True,
                      content=f"GITHUB_TOKEN={GITHUB_PAT}\nkey=sk-proj-known-value-1234567890"),
        ev.AssistantMessage(session_id="s1", seq=5, text="<img src=x onerror=alert(1)> done"),
    ]
    redactor = Redactor({"OPENAI_API_KEY": "sk-proj-known-value-1234567890"})
    path = export_notebook(events, tmp_path / "list.ipynb", redactor=redactor)
    text = path.read_text()
    assert GITHUB_PAT not in text and "sk-proj-known-value-1234567890" not in text
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["mlintern"]["session_id"] == "s1"
    assert "<img" not in text and "&lt;img" in text


def test_redaction_failure_writes_nothing(story, tmp_path):
    class Broken(Redactor):
        def redact_obj(self, obj):
            raise RedactionError("broken on purpose")

    target = tmp_path / "session.ipynb"
    target.write_text("previous export")
    with pytest.raises(ExportError, match="redaction failed"):
        export_notebook(story.dir, target, redactor=Broken())
    assert target.read_text() == "previous export"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_export_of_an_empty_directory_fails_cleanly(tmp_path):
    with pytest.raises(ExportError, match="no session events"):
        export_notebook(tmp_path, tmp_path / "x.ipynb")
    assert not (tmp_path / "x.ipynb").exists()


@pytest.mark.parametrize(
    ("text", "absent", "present"),
    [
        ("<b>bold</b> & more", "<b>", "&lt;b>bold&lt;/b> & more"),
        ("see `a<b>` and\n```html\n<div>x</div>\n```", "&lt;div", "see `a<b>` and\n```html\n<div>x</div>\n```"),
        ("![pixel](https://tracker.example/p.png)", "![pixel]", "!\\[pixel]"),
        # The regex this replaced took \` for a code span and an indented ``` for a fence (attack 11).
        ("x \\`<img src=https://t.example/a.png>`", "<img", "&lt;img"),
        ("    ```\n<img src=https://t.example/a.png>\n    ```", "\n<img", "&lt;img"),
        # GFM splits table cells before code spans: the pipe ends the span for the renderer.
        ("| a | b |\n|---|---|\n| `x | <img src=https://t.example/p> ` |", "<img", "&lt;img"),
        ("- item ![a][r]\n\n[r]: https://t.example/x.png", "![a]", "!\\[a][r]"),
    ],
)
def test_escape_md(text, absent, present):
    out = escape_md(text)
    assert absent not in out and present in out


def test_export_json_has_cell_ids_and_is_deterministic(story, tmp_path):
    a = export_notebook(story.dir, tmp_path / "a.ipynb")
    b = export_notebook(story.dir, tmp_path / "b.ipynb")
    assert a.read_text() == b.read_text()
    ids = [c["id"] for c in json.loads(a.read_text())["cells"]]
    assert len(ids) == len(set(ids))


def test_export_from_a_live_session_object(story, tmp_path):
    path = export_notebook(story, Path(tmp_path) / "live.ipynb")
    assert nbformat.read(path, as_version=4).metadata["mlintern"]["session_id"] == "story"


def test_export_is_written_like_any_file_of_the_person_with_no_counters_and_readable_plan(story, tmp_path):
    previous = os.umask(0o022)
    try:
        path = export_notebook(story.dir, tmp_path / "session.ipynb")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    nb = nbformat.read(path, as_version=4)
    assert all(c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    with_outputs = [c for c in nb.cells if c.cell_type == "code" and c.outputs]
    assert with_outputs and all("nbval-skip" in c.metadata["tags"] for c in with_outputs)
    plan = "\n".join(c.source for c in nb.cells if c.metadata.get("mlintern", {}).get("kind") == "plan")
    assert plan and "[~]" not in plan and "[x]" not in plan
    assert any(mark in plan for mark in ("✅ done:", "▶️ in progress:", "⬜ to do:"))
    path.chmod(0o640)
    export_notebook(story.dir, path)  # overwriting keeps the mode the person gave it
    assert path.stat().st_mode & 0o777 == 0o640


def test_export_creates_no_folders_unless_asked(story, tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export_notebook(story.dir, tmp_path / "no" / "such" / "x.ipynb")
    assert not (tmp_path / "no").exists()
