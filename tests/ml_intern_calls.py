"""Tool calls shaped the way huggingface/ml-intern's tools take them: one per operation of each of its tools that
has an equivalent here, with its argument names and values (read from its tool specs at commit
d9283ec565bf622e79af3eed539744c93398ce00, agent/tools/*.py; none of its text is kept here).

Each row: the call, and what our tool does with it (a piece of the result the model gets). Rows run in order in
one session, so a later row can use an id an earlier one produced: `{job_id}`, `{scheduled_job_id}`, `{pr_num}`.
`tests/test_ml_intern_calls.py` replays them through validation and execution; `bench_playbook.py` counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ml-intern's operation enums (its specs at the commit above), so the table is checked to cover each one.
ML_INTERN_OPERATIONS: dict[str, tuple[str, ...]] = {
    "hf_jobs": ("run", "ps", "logs", "inspect", "cancel", "scheduled run", "scheduled ps", "scheduled inspect",
                "scheduled delete", "scheduled suspend", "scheduled resume"),
    "hf_papers": ("trending", "search", "paper_details", "read_paper", "citation_graph", "snippet_search",
                  "recommend", "find_datasets", "find_models", "find_collections", "find_all_resources"),
    "hf_repo_files": ("list", "read", "upload", "delete"),
    "hf_repo_git": ("create_branch", "delete_branch", "create_tag", "delete_tag", "list_refs", "create_pr",
                    "list_prs", "get_pr", "merge_pr", "close_pr", "comment_pr", "change_pr_status", "create_repo",
                    "update_repo"),
    "edit": ("replace", "append_after", "prepend_before"),
}
# Its tools without operations; each has at least one row.
ML_INTERN_TOOLS = ("sandbox_create", "bash", "read", "write", "edit", "research", "explore_hf_docs", "fetch_hf_docs",
                   "hf_papers", "web_search", "hf_inspect_dataset", "plan_tool", "notify", "hf_jobs", "hf_repo_files",
                   "hf_repo_git", "github_find_examples", "github_list_repos", "github_read_file")

TRAIN = ("from transformers import Trainer, TrainingArguments\n"
         "args = TrainingArguments('out', push_to_hub=True, hub_model_id='fake-user/imdb-clf', disable_tqdm=True)\n"
         "Trainer(args=args).train()\n")


@dataclass(frozen=True)
class Row:
    tool: str
    arguments: dict[str, Any]
    expect: str  # a piece of the result our tool returns
    note: str = ""  # how our tool reads it, when the shape differs

    @property
    def operation(self) -> str:
        return str(self.arguments.get("mode") or self.arguments.get("operation") or "")


ROWS: tuple[Row, ...] = (
    # The workspace tools (ml-intern's sandbox tools): a file is read before it is edited or overwritten.
    Row("write", {"path": "train.py", "content": TRAIN}, "Created train.py"),
    Row("read", {"path": "train.py", "offset": 1, "limit": 50}, "Trainer(args=args).train()"),
    Row("edit", {"path": "train.py", "old_str": "disable_tqdm=True", "new_str": "disable_tqdm=True, logging_steps=10",
                 "mode": "replace"}, "1 replacement"),
    Row("edit", {"path": "train.py", "old_str": "from transformers import Trainer, TrainingArguments\n",
                 "new_str": "import trackio  # noqa\n", "mode": "append_after"}, "insertion(s) after"),
    Row("edit", {"path": "train.py", "old_str": "from transformers", "new_str": "# fine-tune a classifier\n",
                 "mode": "prepend_before", "replace_all": False}, "insertion(s) before"),
    Row("bash", {"command": "grep -c logging_steps train.py", "description": "check the edit", "work_dir": ".",
                 "timeout": 60}, "exit code 0"),
    Row("sandbox_create", {"hardware": "t4-small", "trackio_project": "imdb", "trackio_space_id": "fake-user/tracking"},
        "Sandbox Space", "`hardware` is our `hardware_flavor`"),
    # Research and docs.
    Row("research", {"task": "Find the current TRL SFTTrainer recipe for a 0.5B model.",
                     "context": "the user has one A10G"}, "Recipe table"),
    Row("explore_hf_docs", {"endpoint": "trl", "query": "SFTTrainer", "max_results": 5}, "trl"),
    Row("fetch_hf_docs", {"url": "{hub}/docs/trl/sft_trainer"}, "SFT"),
    Row("web_search", {"query": "trl sft trainer example", "allowed_domains": ["huggingface.co"]}, "huggingface.co"),
    Row("hf_inspect_dataset", {"dataset": "stanfordnlp/imdb", "split": "train", "sample_rows": 2}, "label"),
    Row("plan_tool", {"todos": [{"id": "1", "content": "inspect the dataset", "status": "completed"},
                                {"id": "2", "content": "train", "status": "in_progress"}]}, "train"),
    Row("github_find_examples", {"repo": "trl", "keyword": "sft", "org": "huggingface", "max_results": 5,
                                 "min_score": 60}, "sft.py", "`keyword` is our `query`; a bare repo name is in `org`"),
    Row("github_list_repos", {"owner": "huggingface", "owner_type": "org", "sort": "stars", "order": "desc",
                              "limit": 5}, "huggingface/trl"),
    Row("github_read_file", {"repo": "huggingface/trl", "path": "examples/scripts/sft.py", "ref": "main",
                             "line_start": 1, "line_end": 20}, "SFTTrainer"),
    Row("notify", {"destinations": ["slack.ops"], "message": "training finished", "title": "SFT job",
                   "severity": "success"}, "Sent to"),
    # Papers.
    Row("hf_papers", {"operation": "trending", "query": "preference", "limit": 5}, "2305.18290"),
    Row("hf_papers", {"operation": "search", "query": "direct preference optimization", "limit": 5}, "2305.18290"),
    Row("hf_papers", {"operation": "paper_details", "arxiv_id": "2305.18290"}, "Direct Preference Optimization"),
    Row("hf_papers", {"operation": "read_paper", "arxiv_id": "2305.18290", "section": "5"}, "61%"),
    Row("hf_papers", {"operation": "citation_graph", "arxiv_id": "2305.18290", "direction": "citations",
                      "limit": 5}, "SimPO"),
    Row("hf_papers", {"operation": "snippet_search", "query": "learning rate", "date_from": "2023-01-01",
                      "limit": 5}, "1e-6"),
    Row("hf_papers", {"operation": "recommend", "positive_ids": "2305.18290", "limit": 5}, "SimPO"),
    Row("hf_papers", {"operation": "find_datasets", "arxiv_id": "2305.18290", "sort": "downloads"}, "fake-org/prefs"),
    Row("hf_papers", {"operation": "find_models", "arxiv_id": "2305.18290", "sort": "likes"}, "fake-org/dpo-model"),
    Row("hf_papers", {"operation": "find_collections", "arxiv_id": "2305.18290"}, "Alignment"),
    Row("hf_papers", {"operation": "find_all_resources", "arxiv_id": "2305.18290"}, "fake-org/dpo-model"),
    # Hub repositories.
    Row("hf_repo_git", {"operation": "create_repo", "repo_id": "fake-user/compat-model", "private": True},
        "Created private model repo"),
    Row("hf_repo_files", {"operation": "upload", "repo_id": "fake-user/compat-model", "path": "README.md",
                          "content": "# compat\n", "commit_message": "card"}, "Uploaded README.md"),
    Row("hf_repo_files", {"operation": "list", "repo_id": "fake-user/compat-model", "revision": "main"}, "README.md"),
    Row("hf_repo_files", {"operation": "read", "repo_id": "fake-user/compat-model", "path": "README.md"}, "# compat"),
    Row("hf_repo_files", {"operation": "upload", "repo_id": "fake-user/compat-model", "path": "scratch.tmp",
                          "content": "x"}, "Uploaded scratch.tmp"),
    Row("hf_repo_files", {"operation": "delete", "repo_id": "fake-user/compat-model", "patterns": ["*.tmp"]},
        "Deleted *.tmp"),
    Row("hf_repo_git", {"operation": "create_branch", "repo_id": "fake-user/compat-model", "branch": "exp",
                        "from_rev": "main"}, "'exp'"),
    Row("hf_repo_git", {"operation": "list_refs", "repo_id": "fake-user/compat-model"}, "exp"),
    Row("hf_repo_git", {"operation": "delete_branch", "repo_id": "fake-user/compat-model", "branch": "exp"}, "'exp'"),
    Row("hf_repo_git", {"operation": "create_tag", "repo_id": "fake-user/compat-model", "tag": "v1.0",
                        "revision": "main", "tag_message": "first"}, "'v1.0'"),
    Row("hf_repo_git", {"operation": "delete_tag", "repo_id": "fake-user/compat-model", "tag": "v1.0"}, "'v1.0'"),
    Row("hf_repo_git", {"operation": "create_pr", "repo_id": "fake-user/compat-model", "title": "Add results",
                        "description": "eval numbers"}, "#"),
    Row("hf_repo_git", {"operation": "list_prs", "repo_id": "fake-user/compat-model", "status": "all"},
        "Add results"),
    Row("hf_repo_git", {"operation": "get_pr", "repo_id": "fake-user/compat-model", "pr_num": "{pr_num}"},
        "Add results"),
    Row("hf_repo_git", {"operation": "comment_pr", "repo_id": "fake-user/compat-model", "pr_num": "{pr_num}",
                        "comment": "looks good"}, "Commented"),
    Row("hf_repo_git", {"operation": "change_pr_status", "repo_id": "fake-user/compat-model", "pr_num": "{pr_num}",
                        "new_status": "open"}, "now open"),
    Row("hf_repo_git", {"operation": "merge_pr", "repo_id": "fake-user/compat-model", "pr_num": "{pr_num}"},
        "Merged PR"),
    Row("hf_repo_git", {"operation": "create_pr", "repo_id": "fake-user/compat-model", "title": "Second"}, "#"),
    Row("hf_repo_git", {"operation": "close_pr", "repo_id": "fake-user/compat-model", "pr_num": "{pr_num}"},
        "closed"),
    Row("hf_repo_git", {"operation": "update_repo", "repo_id": "fake-user/compat-model", "private": True,
                        "gated": "auto"}, "updated"),
    # Jobs: `run` with `script` is the Python (uv) mode, with `command` the Docker mode, as in ml-intern.
    Row("hf_jobs", {"operation": "run", "script": "train.py", "dependencies": ["transformers", "trackio"],
                    "hardware_flavor": "a10g-large", "timeout": "3h", "trackio_project": "imdb"}, "Started job"),
    Row("hf_jobs", {"operation": "logs", "job_id": "{job_id}"}, "{job_id}"),
    Row("hf_jobs", {"operation": "inspect", "job_id": "{job_id}"}, "{job_id}"),
    Row("hf_jobs", {"operation": "ps"}, "{job_id}"),
    Row("hf_jobs", {"operation": "run", "command": ["duckdb", "-c", "select 1 + 2"], "image": "duckdb/duckdb",
                    "hardware_flavor": "cpu-basic", "timeout": "1h", "env": {"MODE": "check"}}, "Started job"),
    Row("hf_jobs", {"operation": "cancel", "job_id": "{job_id}"}, "{job_id}"),
    Row("hf_jobs", {"operation": "scheduled run", "script": "print('nightly eval')", "dependencies": ["datasets"],
                    "schedule": "@daily", "hardware_flavor": "cpu-basic", "timeout": "30m"}, "Scheduled job"),
    Row("hf_jobs", {"operation": "scheduled ps"}, "{scheduled_job_id}"),
    Row("hf_jobs", {"operation": "scheduled inspect", "scheduled_job_id": "{scheduled_job_id}"}, "@daily"),
    Row("hf_jobs", {"operation": "scheduled suspend", "scheduled_job_id": "{scheduled_job_id}"}, "suspend done"),
    Row("hf_jobs", {"operation": "scheduled resume", "scheduled_job_id": "{scheduled_job_id}"}, "resume done"),
    Row("hf_jobs", {"operation": "scheduled delete", "scheduled_job_id": "{scheduled_job_id}"}, "delete done"),
)
