"""`mlintern`: headless runs, session records and SFT data from a shell (`[project.scripts]`).

Exit codes: 0 the turn ended done, 1 error, 2 budget or max iterations, 3 awaiting approval, 130 stopped by
Ctrl+C, 64 bad input (one line on stderr, nothing written), 70 the kernel died.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from .parser import EXIT_USAGE, build_parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .notebooks import BadInput

    try:
        return _dispatch(args)
    except BadInput as exc:
        sys.stderr.write(f"mlintern: {exc}\n")
        return EXIT_USAGE


def _dispatch(args: Any) -> int:
    from . import actions

    match args.command:
        case "run" | "resume":
            return _headless(args)
        case "approve":
            print(actions.approve(args.session, args.nonce, deny=args.deny, feedback=args.feedback))
        case "sessions":
            print(actions.sessions())
        case "export":
            print(actions.export(args.session, args.path))
        case "upload":
            reply = actions.upload(args.session or actions.latest_session())
            print(reply.message)
            return 0 if reply.ok else 1
        case "traces":
            print(actions.traces(args.mode, args.session or actions.latest_session()))
        case "sft":
            from .sft_command import build

            return build(args)
    return 0


def _prompt(args: Any) -> str:
    from .notebooks import BadInput

    prompt = sys.stdin.read() if args.prompt == "-" else (args.prompt or "")
    if not prompt.strip():
        raise BadInput("no prompt: mlintern run \"TASK\" (or '-' to read it from stdin)")
    return prompt.strip()


def _outputs(args: Any, stem: Path) -> tuple[Path, Path | None]:
    out = Path(args.out) if args.out else stem.with_name(stem.name + ".ipynb")
    if args.export == "none":
        return out, None
    return out, Path(args.export) if args.export else out.with_name(out.stem + ".export.ipynb")


def _headless(args: Any) -> int:
    from . import actions
    from .headless import RunPlan, run_plan
    from .notebooks import read_notebook, resume_notebook, run_notebook

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.command == "run":
        prompt = _prompt(args)
        base = read_notebook(args.notebook) if args.notebook else None
        options = {"model": args.model, "approve": args.approve, "budget": args.budget,
                   "max_iterations": args.max_iterations, "effort": args.effort, "api_base": args.api_base}
        notebook, index = run_notebook(prompt, options, base)
        source = Path(args.notebook).resolve() if args.notebook else None
        cwd = source.parent if source else Path.cwd()
        stem = source.with_name(source.stem + ".mlintern") if source else Path.cwd() / f"mlintern-run-{stamp}"
        session_id = None
    else:
        session_id = actions.idle_session(args.session)
        notebook, index = resume_notebook(session_id)
        cwd, stem = Path.cwd(), Path.cwd() / f"mlintern-resume-{stamp}"
    out, export = _outputs(args, stem)
    plan = RunPlan(notebook, index, out, export, cwd, kernel_name=args.kernel, session_id=session_id,
                   as_json=args.json)
    result = run_plan(plan)
    for line in result.messages:
        sys.stderr.write(f"mlintern: {line}\n" if not line.startswith(" ") else line + "\n")
    if result.code in (0, 1, 2, 3, 130) and result.session_id and out.exists():
        sys.stderr.write(f"mlintern: notebook {out}" + (f", export {export}" if export and export.exists() else "")
                         + "\n")
    return result.code
