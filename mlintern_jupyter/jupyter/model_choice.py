"""Which model a turn uses (DESIGN section 7) and the ids `%intern model` suggests."""

from __future__ import annotations

import os
from collections.abc import Mapping

# First provider whose credentials are present wins, in this order.
CREDENTIAL_DEFAULTS: tuple[tuple[str, str], ...] = (
    ("ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"),
    ("OPENAI_API_KEY", "openai/gpt-5"),
    ("HF_TOKEN", "huggingface/Qwen/Qwen3-Coder-480B-A35B-Instruct"),
)

SUGGESTED_MODELS: tuple[tuple[str, str], ...] = (
    ("anthropic/claude-sonnet-4-5", "needs ANTHROPIC_API_KEY"),
    ("anthropic/claude-opus-4-1", "needs ANTHROPIC_API_KEY"),
    ("openai/gpt-5", "needs OPENAI_API_KEY"),
    ("openai/gpt-5-mini", "needs OPENAI_API_KEY"),
    ("huggingface/Qwen/Qwen3-Coder-480B-A35B-Instruct", "HF Inference Providers, needs HF_TOKEN"),
    ("huggingface/moonshotai/Kimi-K2-Instruct", "HF Inference Providers, needs HF_TOKEN"),
    ("ollama/qwen2.5-coder:14b", "local Ollama server"),
    ("vllm/Qwen/Qwen2.5-Coder-7B-Instruct", "in-process vLLM"),
    ("hosted_vllm/Qwen/Qwen2.5-Coder-7B-Instruct", "a vLLM server (set api_base)"),
    ("lm_studio/qwen2.5-coder-7b-instruct", "local LM Studio server"),
    ("demo", "offline scripted storyline, no key needed"),
    ("scripted:PATH", "replays a JSON list of responses (tests)"),
)

NO_MODEL_HELP = """No model is configured for this notebook.

Choose one of:
  %%intern --model anthropic/claude-sonnet-4-5   (set ANTHROPIC_API_KEY first)
  %intern model openai/gpt-5                     (set OPENAI_API_KEY first)
  export MLINTERN_MODEL=...                      (before starting Jupyter)
  c.InternMagics.default_model = "..."           (in an IPython config file)
or set HF_TOKEN to use Hugging Face Inference Providers.

To try it with no key and no network:  %%intern --model demo"""


def choose_model(explicit: str | None, session_model: str | None, default_model: str,
                 env: Mapping[str, str] | None = None) -> str | None:
    """--model, else the session's `%intern model`, else MLINTERN_MODEL, else the trait, else credentials."""
    env = os.environ if env is None else env
    for candidate in (explicit, session_model, env.get("MLINTERN_MODEL"), default_model):
        if candidate and candidate.strip():
            return candidate.strip()
    for variable, model in CREDENTIAL_DEFAULTS:
        if env.get(variable):
            return model
    return None


def suggestions_text() -> str:
    width = max(len(name) for name, _ in SUGGESTED_MODELS)
    rows = "\n".join(f"  {name.ljust(width)}  {why}" for name, why in SUGGESTED_MODELS)
    return f"Suggested model ids (any litellm model string works):\n{rows}"
