"""The magics: `%%intern` starts or continues the notebook's session; `%intern` is the line magic for the rest.

Thin on purpose: parse the words into a typed command (`control/commands.py`), send it to the notebook's one
dispatcher, print its one-line reply. Bad input is refused by the command's validation, with one line.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from pydantic import ValidationError
from traitlets import Enum, Float, Int, Unicode

from ..control import commands as c
from .controller import NotebookAgent

EFFORTS = list(c.EFFORTS)
USAGE = """usage: %%intern [--model NAME] [--approve ask|auto|deny] [--budget USD] [--max-iterations N]
                [--effort low|medium|high|max|none] [--api-base URL] [--wait] [--new]
                + the task on the lines below
       %intern status | stop | model [NAME [--api-base URL]] | effort [low|medium|high|max|none] |
               approve-mode ask|auto|deny | budget USD|none | price IN_PER_MTOK OUT_PER_MTOK |
               max-iterations N | cancel JOB_ID | compact | export PATH [--make-dirs] | sessions |
               resume ID [--wait] | traces [public|private|off] | upload | allow [hf-token-jobs [off]]
       %%intern approve NONCE   (the cell holds the edited script to approve)"""


class _Usage(ValueError):
    pass


@magics_class
class InternMagics(Magics):
    default_model = Unicode("", help="Model used when neither --model, %intern model nor MLINTERN_MODEL is set.").tag(config=True)
    approve = Enum(["ask", "auto", "deny"], default_value="ask", help="Who decides approvals.").tag(config=True)
    budget = Float(None, allow_none=True, help="Session spend cap in USD (none by default).").tag(config=True)
    max_iterations = Int(300, help="Model calls per prompt.").tag(config=True)
    default_effort = Enum(EFFORTS, default_value="high",
                          help="Reasoning effort when neither --effort, %intern effort nor MLINTERN_EFFORT is set; "
                               "a model that takes less gets the nearest level it accepts.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self.agent = NotebookAgent(shell, defaults=self._defaults)

    def _defaults(self) -> dict[str, Any]:
        return {"model": self.default_model, "approve": self.approve, "budget": self.budget,
                "max_iterations": self.max_iterations, "effort": self.default_effort}

    def _cell_id(self) -> str | None:
        kernel = getattr(self.shell, "kernel", None)
        try:
            return (kernel.get_parent() or {}).get("metadata", {}).get("cellId") if kernel is not None else None
        except Exception:  # noqa: BLE001 - no parent outside an execute request
            return None

    @magic_arguments(name="%intern")  # IPython adds one "%": the usage line reads %%intern
    @argument("--model", "-m", default=None, metavar="NAME",
              help="a Hugging Face org/model[:provider] id, anthropic/..., openai/..., a local server (ollama/..., "
                   "vllm/..., llamacpp/..., lm_studio/...), any litellm model string, or the offline demo | "
                   "scripted:PATH (default: MLINTERN_MODEL, %%intern model, or the first provider with a key)")
    @argument("--approve", default=None, metavar="ask|auto|deny",
              help="who decides approvals: ask = a person clicks (default), auto = the policy within the budget, "
                   "deny = refuse everything")
    @argument("--budget", default=None, metavar="USD",
              help="session spend cap in USD, a number >= 0 (LLM spend observed + compute reserved before launch)")
    @argument("--max-iterations", default=None, metavar="N", help="model calls per prompt, >= 1 (default 300)")
    @argument("--effort", default=None, metavar="low|medium|high|max|none",
              help="reasoning effort (default high; none turns it off)")
    @argument("--api-base", default=None, metavar="URL", help="base URL of the model server (a vLLM, llama.cpp, "
              "Ollama, LM Studio server elsewhere, or a proxy)")
    @argument("--wait", action="store_true", help="block the cell until the turn ends (headless runs)")
    @argument("--new", action="store_true", help="start a fresh session instead of continuing")
    @line_cell_magic
    def intern(self, line: str, cell: str | None = None) -> None:
        """%%intern [options] + the task below: start or continue this notebook's agent session.

        The cell returns at once and the agent works in the background (--wait blocks until the turn ends).
        %intern alone shows every line command.
        """
        try:
            command = self._command(line, cell)
        except _Usage as exc:
            print(str(exc))
            return
        except ValidationError as exc:
            print(c.explain(exc))
            return
        reply = self.agent.send(command, in_cell=cell is not None)
        if reply.message:
            print(reply.message)

    def _command(self, line: str, cell: str | None) -> Any:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise _Usage(f"cannot read the options: {exc}") from None
        if cell is not None and words[:1] == ["approve"]:
            if len(words) != 2:
                raise _Usage("usage: %%intern approve NONCE (the cell holds the edited script)")
            return c.Approve(nonce=words[1], script=cell)
        if cell is None:
            return self._subcommand(words)
        if not cell.strip():
            raise _Usage("%%intern needs a task on the lines below the magic.\n" + USAGE)
        try:
            args = parse_argstring(self.intern, line)
        except Exception as exc:  # noqa: BLE001 - argparse's usage error, as one line
            raise _Usage(f"{str(exc).strip() or 'bad options'}\n{USAGE}") from None
        return c.Prompt(text=cell.strip(), model=args.model, approve=args.approve, budget=args.budget,
                        max_iterations=args.max_iterations, effort=args.effort, api_base=args.api_base,
                        wait=args.wait, new=args.new, cell_id=self._cell_id())

    @staticmethod
    def _subcommand(words: list[str]) -> Any:
        match words:
            case []:
                raise _Usage(USAGE)
            case ["status"]:
                return c.Show(what="status")
            case ["stop"]:
                return c.Stop()
            case ["model"]:
                return c.Show(what="model")
            case ["model", model]:
                return c.SetModel(model=model)
            case ["model", model, "--api-base", url] | ["model", "--api-base", url, model]:
                return c.SetModel(model=model, api_base=url)
            case ["effort"]:
                return c.Show(what="effort")
            case ["effort", level]:
                return c.SetEffort(effort=level)
            case ["approve-mode", mode]:
                return c.SetApproveMode(mode=mode)
            case ["budget", "none" | "off"]:
                return c.SetBudget(usd=None)
            case ["budget", usd]:
                return c.SetBudget(usd=usd)
            case ["price", price_in, price_out]:
                return c.SetPrice(input_per_mtok=price_in, output_per_mtok=price_out)
            case ["max-iterations", n]:
                return c.SetMaxIterations(max_iterations=n)
            case ["cancel", job_id]:
                return c.CancelJob(job_id=job_id)
            case ["compact"]:
                return c.Compact()
            case ["export", path]:
                return c.Export(path=path)
            case ["export", path, "--make-dirs"] | ["export", "--make-dirs", path]:
                return c.Export(path=path, make_dirs=True)
            case ["sessions"]:
                return c.Sessions()
            case ["resume", session_id]:
                return c.Resume(session_id=session_id)
            case ["resume", session_id, "--wait"] | ["resume", "--wait", session_id]:
                return c.Resume(session_id=session_id, wait=True)
            case ["traces"]:
                return c.Show(what="traces")
            case ["traces", mode]:
                return c.SetTraces(mode=mode)
            case ["upload"]:
                return c.Upload()
            case ["allow"]:
                return c.AllowHfTokenJobs()
            case ["allow", "hf-token-jobs"]:
                return c.AllowHfTokenJobs(allowed=True)
            case ["allow", "hf-token-jobs", "off"]:
                return c.AllowHfTokenJobs(allowed=False)
        name = words[0]
        known = {"status", "stop", "model", "effort", "approve-mode", "budget", "price", "max-iterations", "cancel",
                 "compact", "export", "sessions", "resume", "traces", "upload", "allow"}
        problem = f"wrong arguments for %intern {name}" if name in known else f"unknown command {name!r}"
        raise _Usage(f"{problem}\n{USAGE}")
