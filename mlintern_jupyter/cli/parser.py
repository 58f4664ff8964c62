"""The `mlintern` command line: subcommands and their options (argparse, one clear line per usage error)."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EFFORTS = ("low", "medium", "high", "max", "none")
EXIT_USAGE = 64


class Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr and exit code 64, never a usage dump (2 means budget here)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="where the executed notebook goes (default: beside the input, or "
                        "./mlintern-<session>.ipynb)")
    parser.add_argument("--export", help="where the session export goes (default: <out>.export.ipynb; 'none' "
                        "skips it)")
    parser.add_argument("--json", action="store_true", help="one event per line as JSON on stdout")
    parser.add_argument("--kernel", default="python3", help="the kernel to start (default python3)")


def build_parser() -> Parser:
    parser = Parser(prog="mlintern", description="mlintern-jupyter from a shell: headless runs, session records, "
                    "SFT data.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="run a prompt headless in a real kernel and follow it live")
    run.add_argument("prompt", nargs="?", help="the task ('-' reads it from stdin)")
    run.add_argument("--model", "-m", help="model id (default: MLINTERN_MODEL or the first provider with a key)")
    run.add_argument("--approve", choices=("ask", "auto", "deny"), default=None, help="who decides approvals")
    run.add_argument("--budget", type=float, help="session spend cap in USD")
    run.add_argument("--max-iterations", type=int, help="model calls per prompt (default 300)")
    run.add_argument("--effort", choices=EFFORTS, help="reasoning effort")
    run.add_argument("--api-base", help="base URL of the model server")
    run.add_argument("--notebook", help="run in this notebook: its cells run first, so its kernel state is context")
    _run_options(run)

    resume = sub.add_parser("resume", help="continue a session whose approvals were answered")
    resume.add_argument("session", help="short name, id or unique id prefix")
    _run_options(resume)

    approve = sub.add_parser("approve", help="answer a pending approval (then: mlintern resume SESSION)")
    approve.add_argument("session")
    approve.add_argument("nonce")
    approve.add_argument("--deny", action="store_true", help="deny instead of approving")
    approve.add_argument("--feedback", default="", help="a note the model reads with the answer")

    sub.add_parser("sessions", help="list sessions, newest first (as %%intern sessions)")

    export = sub.add_parser("export", help="export a session as a notebook (as %%intern export)")
    export.add_argument("session")
    export.add_argument("path")

    upload = sub.add_parser("upload", help="upload a session's trace to your private HF dataset")
    upload.add_argument("session", nargs="?", help="default: the most recent session")

    traces = sub.add_parser("traces", help="show or set a session's trace upload mode")
    traces.add_argument("mode", nargs="?", choices=("private", "public", "off"))
    traces.add_argument("session", nargs="?", help="default: the most recent session")

    sft = sub.add_parser("sft", help="training data from sessions")
    sft_sub = sft.add_subparsers(dest="sft_command", required=True, parser_class=Parser)
    build = sft_sub.add_parser("build", help="sessions -> chat `messages` rows with tool calls (TRL SFTTrainer)")
    build.add_argument("--sessions", help="folder of session folders (default: $MLINTERN_HOME/sessions)")
    build.add_argument("--out", required=True, help="output file: .jsonl or .parquet")
    build.add_argument("--tags", default="", help="keep sessions having all these tags (comma separated)")
    build.add_argument("--min-outcome", choices=("error", "cancelled", "stopped", "done", "success"),
                       help="keep sessions whose last turn ended at least this well")
    build.add_argument("--exclude", action="append", default=[], help="drop sessions with this tag; 'denied' "
                       "drops sessions where a person denied an action (repeatable)")
    build.add_argument("--rows", choices=("turn", "session"), default="turn",
                       help="one row per turn (the context up to that turn's end) or per session")
    build.add_argument("--kernel-digests", choices=("keep", "drop"), default="keep",
                       help="keep the fenced kernel digests in prompts, or drop them")
    build.add_argument("--format", choices=("jsonl", "parquet"), help="default: from --out's extension")
    build.add_argument("--push", metavar="REPO_ID", help="also upload to this private Hub dataset, with a card")
    return parser
