"""Which endpoint a model id goes to, with which key: the one place that decides (DESIGN section 7).

- `anthropic/...`, `claude-...`: Anthropic's Messages API (ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL with or without /v1).
- `openai/...`, `gpt-...`, `o3...`: OpenAI (OPENAI_API_KEY; OPENAI_BASE_URL).
- `org/model`, `org/model:provider`, `huggingface/org/model`: Hugging Face Inference Providers through the
  router's OpenAI-compatible endpoint, with the HF token, as ml-intern does. A `:provider` (or `:fastest`,
  `:cheapest`) suffix always means the router, so `anthropic/claude-opus-4.8:fal-ai` is a router id.
- `ollama/`, `vllm/`, `hosted_vllm/`, `llamacpp/`, `lm_studio/`: a server the person runs, spoken to as an
  OpenAI-compatible endpoint at its usual address (or `--api-base`). `vllm/` is the vLLM *server*, not
  litellm's in-process vLLM.
- anything else litellm knows (`gemini/...`, providers in `litellm.custom_provider_map`): passed unchanged.

Keys go only where they belong: a provider key is sent to the provider's own host or to the base URL configured
beside it in the environment; any other base URL gets LOCAL_LLM_API_KEY or a placeholder.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from .base import ModelConfigError

RouteKind = Literal["anthropic", "openai", "hf_router", "local", "litellm"]
HF_ROUTER_URL = "https://router.huggingface.co/v1"
LOCAL_PLACEHOLDER_KEY = "sk-local-no-key-required"


@dataclass(frozen=True)
class LocalServer:
    label: str
    default_base: str
    base_envs: tuple[str, ...]
    key_envs: tuple[str, ...]
    start: str


LOCAL_SERVERS: dict[str, LocalServer] = {
    "ollama": LocalServer("Ollama", "http://localhost:11434", ("OLLAMA_API_BASE", "OLLAMA_BASE_URL"),
                          ("OLLAMA_API_KEY",), "ollama serve   (and once: ollama pull MODEL)"),
    "vllm": LocalServer("vLLM", "http://localhost:8000", ("VLLM_BASE_URL", "HOSTED_VLLM_API_BASE"),
                        ("VLLM_API_KEY", "HOSTED_VLLM_API_KEY"), "vllm serve MODEL --port 8000"),
    "llamacpp": LocalServer("llama.cpp server", "http://localhost:8080", ("LLAMACPP_BASE_URL",),
                            ("LLAMACPP_API_KEY",), "llama-server -m MODEL.gguf --port 8080 --jinja"),
    "lm_studio": LocalServer("LM Studio", "http://localhost:1234", ("LM_STUDIO_API_BASE", "LMSTUDIO_BASE_URL"),
                             ("LM_STUDIO_API_KEY", "LMSTUDIO_API_KEY"), "lms server start"),
}
LOCAL_PREFIXES = {"ollama/": "ollama", "ollama_chat/": "ollama", "vllm/": "vllm", "hosted_vllm/": "vllm",
                  "llamacpp/": "llamacpp", "llama_cpp/": "llamacpp", "lm_studio/": "lm_studio"}


@dataclass(frozen=True)
class Route:
    name: str  # the id the person chose: shown, logged, used to resume
    kind: RouteKind
    model: str  # what litellm is called with
    api_base: str | None = None
    api_key: str | None = None
    key_env: str | None = None  # the variable to name when the key is missing
    server: str | None = None  # LOCAL_SERVERS key for local routes
    # True when the person passed --api-base (stored in the log so a resume reaches the same server).
    explicit_base: bool = False

    @property
    def loopback(self) -> bool:
        host = urlparse(self.api_base or "").hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_private
        except ValueError:
            return False

    def __repr__(self) -> str:  # never show the key
        return f"Route({self.name!r}, {self.kind}, model={self.model!r}, api_base={self.api_base!r})"


def _env(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def hf_token(env: Mapping[str, str]) -> str | None:
    """HF_TOKEN (whitespace stripped, as huggingface_hub does), else the token `hf auth login` saved."""
    token = _env(env, "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
    if token:
        return token
    try:
        from huggingface_hub import get_token

        return (get_token() or "").strip() or None
    except Exception:  # noqa: BLE001 - an unreadable token file means "no token"
        return None


def check_base_url(url: str) -> str:
    """An http(s) URL without credentials in it; trailing slashes removed."""
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or any(c.isspace() for c in url):
        raise ModelConfigError(f"--api-base {url!r} is not an http(s) URL",
                               hint="give the server's base URL, e.g. http://localhost:8000/v1")
    if parsed.username or parsed.password:
        raise ModelConfigError("--api-base must not contain credentials", hint="put the key in the environment")
    return url.rstrip("/")


def _with_v1(url: str) -> str:
    url = check_base_url(url)
    return url if url.endswith("/v1") else f"{url}/v1"


def _anthropic_messages_url(url: str) -> str:
    """litellm appends /v1/messages unless the URL ends with it: "https://proxy/v1" would become /v1/v1/messages."""
    base = check_base_url(url).removesuffix("/messages").removesuffix("/v1")
    return f"{base}/v1/messages"


def _check_id(name: str) -> str:
    name = name.strip()
    if not name:
        raise ModelConfigError("no model given", hint="pass --model, set MLINTERN_MODEL, or try --model demo")
    if any(c.isspace() for c in name):
        raise ModelConfigError(f"model id {name!r} contains spaces",
                               hint="model ids have no spaces, e.g. ollama/llama3.1 or moonshotai/Kimi-K2.6")
    for prefix in LOCAL_PREFIXES:
        if name.startswith(prefix) and not name[len(prefix):].strip("/"):
            raise ModelConfigError(f"model id {name!r} names no model",
                                   hint=f"add the model after the prefix, e.g. {prefix}llama3.1")
    if name.startswith("openai-compat/"):
        # Not an escape hatch to an arbitrary server (as in ml-intern): say where the server is instead.
        raise ModelConfigError(f"model id {name!r} uses an unsupported prefix",
                               hint="for an OpenAI-compatible server use vllm/MODEL (or llamacpp/, lm_studio/, "
                                    "ollama/) with --api-base URL")
    if name.endswith("/") or name.endswith(":") or "//" in name:
        raise ModelConfigError(f"model id {name!r} is incomplete", hint="e.g. moonshotai/Kimi-K2.6:novita")
    return name


def _local(name: str, prefix: str, api_base: str | None, env: Mapping[str, str]) -> Route:
    key = LOCAL_PREFIXES[prefix]
    server = LOCAL_SERVERS[key]
    base = api_base or _env(env, *server.base_envs, "LOCAL_LLM_BASE_URL") or server.default_base
    if "://" not in base:  # OLLAMA_HOST style "127.0.0.1:11434"
        base = f"http://{base}"
    api_key = _env(env, *server.key_envs, "LOCAL_LLM_API_KEY") or LOCAL_PLACEHOLDER_KEY
    return Route(name, "local", f"openai/{name[len(prefix):]}", _with_v1(base), api_key, server=key,
                 explicit_base=api_base is not None)


def _router(name: str, model_id: str, api_base: str | None, env: Mapping[str, str]) -> Route:
    if api_base is not None:
        # The HF token goes only to the Hugging Face router; any other server is an OpenAI-compatible one.
        return Route(name, "local", f"openai/{model_id}", _with_v1(api_base),
                     _env(env, "LOCAL_LLM_API_KEY") or LOCAL_PLACEHOLDER_KEY, explicit_base=True)
    base = _env(env, "MLINTERN_HF_ROUTER_URL") or HF_ROUTER_URL
    return Route(name, "hf_router", f"openai/{model_id}", base.rstrip("/"), hf_token(env), key_env="HF_TOKEN")


def _host(url: str | None) -> str:
    return (urlparse(url or "").hostname or "").lower()


def resolve_route(name: str, api_base: str | None = None, env: Mapping[str, str] | None = None,
                  providers: Callable[[], set[str]] | None = None) -> Route:
    """The route for a model id. `providers` lists litellm's provider prefixes (loaded lazily)."""
    env = os.environ if env is None else env
    name = _check_id(name)
    base = check_base_url(api_base) if api_base else None
    for prefix in LOCAL_PREFIXES:
        if name.startswith(prefix):
            return _local(name, prefix, base, env)
    if name.startswith("huggingface/"):
        return _router(name, name.removeprefix("huggingface/"), base, env)
    head, _, rest = name.partition("/")
    if rest and ":" in rest:
        return _router(name, name, base, env)
    if head == "anthropic" or (not rest and name.startswith("claude")):
        configured = _env(env, "ANTHROPIC_BASE_URL", "ANTHROPIC_API_BASE")
        target = base or configured
        own = target is None or _host(target) == "api.anthropic.com" or (base is None or base == configured)
        key = _env(env, "ANTHROPIC_API_KEY") if own else _env(env, "LOCAL_LLM_API_KEY") or LOCAL_PLACEHOLDER_KEY
        return Route(name, "anthropic", name, _anthropic_messages_url(target) if target else None, key,
                     key_env="ANTHROPIC_API_KEY", explicit_base=base is not None)
    if head == "openai" or (not rest and name.startswith(("gpt-", "o1", "o3", "o4", "chatgpt-"))):
        configured = _env(env, "OPENAI_BASE_URL", "OPENAI_API_BASE")
        target = base or configured
        own = target is None or _host(target) == "api.openai.com" or (base is None or base == configured)
        key = _env(env, "OPENAI_API_KEY") if own else _env(env, "LOCAL_LLM_API_KEY") or LOCAL_PLACEHOLDER_KEY
        kind: RouteKind = "openai" if own else "local"
        return Route(name, kind, name if rest else f"openai/{name}", check_base_url(target) if target else None,
                     key, key_env="OPENAI_API_KEY" if own else None, explicit_base=base is not None)
    known = providers() if providers is not None else set()
    if rest and head not in known:
        return _router(name, name, base, env)
    return Route(name, "litellm", name, base, None, explicit_base=base is not None)
