"""Which model a turn uses (DESIGN section 7) and the ids `%intern model` suggests."""

from __future__ import annotations

import os
from collections.abc import Mapping

# The model a person with only an HF token gets, as in ml-intern: Claude through Inference Providers.
HF_DEFAULT_MODEL = "anthropic/claude-opus-4.8:fal-ai"

# First provider whose credentials are present wins, in this order.
CREDENTIAL_DEFAULTS: tuple[tuple[str, str], ...] = (
    ("ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"),
    ("OPENAI_API_KEY", "openai/gpt-5"),
    ("HF_TOKEN", HF_DEFAULT_MODEL),
    ("HUGGING_FACE_HUB_TOKEN", HF_DEFAULT_MODEL),
)

# Hugging Face Inference Providers (router) ids, ml-intern's list: `org/model:provider`; drop the suffix to let the
# router pick, or use `:fastest` / `:cheapest`.
ROUTER_MODELS: tuple[tuple[str, str], ...] = (
    (HF_DEFAULT_MODEL, "Claude Opus 4.8"),
    ("openai/gpt-5.5:fal-ai", "GPT-5.5"),
    ("moonshotai/Kimi-K2.6:novita", "Kimi K2.6"),
    ("MiniMaxAI/MiniMax-M2.7:novita", "MiniMax M2.7"),
    ("zai-org/GLM-5.1:novita", "GLM 5.1"),
    ("deepseek-ai/DeepSeek-V4-Pro:novita", "DeepSeek V4 Pro"),
)

SUGGESTED_MODELS: tuple[tuple[str, str], ...] = (
    *((name, f"{label}, HF Inference Providers, needs HF_TOKEN") for name, label in ROUTER_MODELS),
    ("anthropic/claude-sonnet-4-5", "Anthropic directly, needs ANTHROPIC_API_KEY"),
    ("openai/gpt-5", "OpenAI directly, needs OPENAI_API_KEY"),
    ("ollama/qwen2.5-coder:14b", "local Ollama server (localhost:11434; start it with `ollama serve`)"),
    ("vllm/Qwen/Qwen2.5-Coder-7B-Instruct", "a vLLM server (localhost:8000; `vllm serve MODEL`)"),
    ("hosted_vllm/Qwen/Qwen2.5-Coder-7B-Instruct", "same as vllm/ (litellm's name for a vLLM server)"),
    ("llamacpp/qwen2.5-coder-7b", "llama.cpp's llama-server (localhost:8080)"),
    ("lm_studio/qwen2.5-coder-7b-instruct", "local LM Studio server (localhost:1234)"),
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

A local server works too:  %%intern --model ollama/llama3.1   (add --api-base URL if it is not on localhost)
To try it with no key and no network:  %%intern --model demo"""


def choose_model(explicit: str | None, session_model: str | None, default_model: str,
                 env: Mapping[str, str] | None = None) -> str | None:
    """--model, else the session's `%intern model`, else MLINTERN_MODEL, else the trait, else credentials."""
    env = os.environ if env is None else env
    for candidate in (explicit, session_model, env.get("MLINTERN_MODEL"), default_model):
        if candidate and candidate.strip():
            return candidate.strip()
    for variable, model in CREDENTIAL_DEFAULTS:
        if (env.get(variable) or "").strip():
            return model
    return None


def suggestions_text() -> str:
    width = max(len(name) for name, _ in SUGGESTED_MODELS)
    rows = "\n".join(f"  {name.ljust(width)}  {why}" for name, why in SUGGESTED_MODELS)
    return (f"Suggested model ids (any Hugging Face `org/model[:provider]` id or litellm model string works; "
            f"a server elsewhere: `%intern model NAME --api-base URL`):\n{rows}")
