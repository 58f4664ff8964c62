"""The magics: `%%intern` starts or continues the notebook's session; `%intern` is the line magic for the rest.

Thin on purpose: parse arguments, read configured defaults, hand off to the NotebookAgent.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Enum, Float, Int, Unicode

from .controller import NotebookAgent

SUBCOMMANDS = "status | stop | model [NAME [--api-base URL]] | effort [low|medium|high|max|none] | budget USD | " \
              "price IN_PER_MTOK OUT_PER_MTOK | compact | export PATH | sessions | resume ID [--wait] | " \
              "traces [public|private|off] | upload | allow [hf-token-jobs [off]]"
EFFORTS = ["low", "medium", "high", "max", "none"]


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
        self.agent = NotebookAgent(shell)

    def _cell_id(self) -> str | None:
        kernel = getattr(self.shell, "kernel", None)
        try:
            return (kernel.get_parent() or {}).get("metadata", {}).get("cellId") if kernel is not None else None
        except Exception:  # noqa: BLE001 - no parent outside an execute request
            return None

    @magic_arguments()
    @argument("--model", "-m", default=None, help="litellm model id, or an offline id (demo, scripted:PATH)")
    @argument("--approve", choices=["ask", "auto", "deny"], default=None, help="who decides approvals")
    @argument("--budget", type=float, default=None, help="session spend cap in USD")
    @argument("--max-iterations", type=int, default=None, help="model calls per prompt (default 300)")
    @argument("--effort", choices=EFFORTS, default=None, help="reasoning effort (default high; none turns it off)")
    @argument("--api-base", default=None, help="base URL of the model server (a vLLM, llama.cpp, Ollama, LM Studio "
              "server elsewhere, or a proxy)")
    @argument("--wait", action="store_true", help="block the cell until the turn ends (headless runs)")
    @argument("--new", action="store_true", help="start a fresh session instead of continuing")
    @line_cell_magic
    def intern(self, line: str, cell: str | None = None) -> None:
        """%%intern [options] + a prompt: start or continue this notebook's agent session.

        The cell returns at once and the agent works in the background (use --wait to block).
        Line magic: %intern status | stop | model [NAME [--api-base URL]] | effort [LEVEL] | budget USD |
        price IN_PER_MTOK OUT_PER_MTOK | compact | export PATH | sessions | resume ID [--wait] |
        traces [public|private|off] | upload | allow [hf-token-jobs [off]]
        """
        words = shlex.split(line)
        if cell is None or (words and words[0] == "approve"):
            message = self._subcommand(words, cell)
        else:
            args = parse_argstring(self.intern, line)
            message = self.agent.start_turn(
                cell.strip(), model=args.model, approve=args.approve, budget=args.budget,
                max_iterations=args.max_iterations, wait=args.wait, new=args.new, cell_id=self._cell_id(),
                effort=args.effort, api_base=args.api_base,
                defaults={"model": self.default_model, "approve": self.approve, "budget": self.budget,
                          "max_iterations": self.max_iterations, "effort": self.default_effort},
            )
        if message:
            print(message)

    def _subcommand(self, words: list[str], cell: str | None) -> str:
        from . import provider_commands, records
        from .model_choice import suggestions_text

        agent = self.agent
        name, rest = (words[0], words[1:]) if words else ("status", [])
        match name, rest:
            case "status", []:
                return agent.status()
            case "stop", []:
                agent.stop()
                return "Stopping the running turn."
            case "model", []:
                current = agent.session.model.name if agent.session else agent.chosen_model or "(none yet)"
                return f"Current model: {current}\n\n{suggestions_text()}"
            case "model", [model]:
                return agent.choose(model)
            case "model", [model, "--api-base", url] | ["--api-base", url, model]:
                return agent.choose(model, api_base=url)
            case "effort", []:
                return provider_commands.effort_text(agent, self.default_effort)
            case "effort", [level]:
                if level not in EFFORTS:
                    return f"effort must be one of {', '.join(EFFORTS)}, got {level!r}"
                return provider_commands.set_effort(agent, level)
            case "price", [price_in, price_out]:
                try:
                    prices = float(price_in), float(price_out)
                except ValueError:
                    return "usage: %intern price IN_PER_MTOK OUT_PER_MTOK (USD per million input / output tokens)"
                return provider_commands.set_price(agent, *prices)
            case "budget", [usd]:
                try:
                    cap = float(usd)
                except ValueError:
                    return f"budget must be a number of USD, got {usd!r}"
                if agent.session is None:
                    self.budget = cap
                    return f"The next session's budget is ${cap:.2f}."
                return agent.set_budget(cap)
            case "compact", []:
                return agent.compact()
            case "export", [path]:
                return agent.export(path)
            case "sessions", []:
                return records.sessions_text(agent.list_sessions())
            case "resume", [session_id]:
                return agent.resume(session_id)
            case "resume", [session_id, "--wait"] | ["--wait", session_id]:
                return agent.resume(session_id, wait=True)
            case "traces", [] | [("public" | "private" | "off")]:
                return records.traces(agent.session, rest[0] if rest else None)
            case "upload", []:
                return records.upload(agent.session)
            case "allow", [] | ["hf-token-jobs"] | ["hf-token-jobs", "off"]:
                return agent.allow_hf_token_jobs(None if not rest else rest[1:] != ["off"])
            case "approve", [nonce] if cell is not None:
                return agent.approve_cell(nonce, cell)
            case _:
                return f"usage: %intern {SUBCOMMANDS}\n       %%intern approve NONCE (cell holds the script)"
