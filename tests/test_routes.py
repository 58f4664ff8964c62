"""Which endpoint each model id goes to, with which key (a port, by intent, of ml-intern's test_llm_params and
test_cli_local_models, with this project's differences: direct Anthropic/OpenAI routes exist beside the router)."""

from __future__ import annotations

import pytest

from mlintern_jupyter.agent.models import ModelConfigError
from mlintern_jupyter.agent.models.routes import HF_ROUTER_URL, LOCAL_PLACEHOLDER_KEY, hf_token, resolve_route

PROVIDERS = {"anthropic", "openai", "gemini", "ollama", "deepseek", "mistral"}


def route(name: str, env: dict[str, str] | None = None, api_base: str | None = None):  # type: ignore[no-untyped-def]
    return resolve_route(name, api_base, env=env or {}, providers=lambda: PROVIDERS)


@pytest.fixture(autouse=True)
def no_saved_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)


def test_router_ids_go_to_the_router_with_the_hf_token() -> None:
    r = route("anthropic/claude-opus-4.8:fal-ai", {"HF_TOKEN": "hf_session"})
    assert (r.kind, r.model, r.api_base, r.api_key) == (
        "hf_router", "openai/anthropic/claude-opus-4.8:fal-ai", HF_ROUTER_URL, "hf_session")
    for name in ("moonshotai/Kimi-K2.6:novita", "moonshotai/Kimi-K2.6", "MiniMaxAI/MiniMax-M2.7:fastest",
                 "deepseek-ai/DeepSeek-V4-Pro:novita", "openai/gpt-oss-120b:cerebras"):
        assert route(name, {"HF_TOKEN": "t"}).kind == "hf_router", name


def test_the_huggingface_prefix_is_stripped_for_router_calls() -> None:
    r = route("huggingface/openai/gpt-5.5:fal-ai", {"HF_TOKEN": "t"})
    assert r.model == "openai/openai/gpt-5.5:fal-ai" and r.api_base == HF_ROUTER_URL
    assert r.name == "huggingface/openai/gpt-5.5:fal-ai"  # the person's id is what the log keeps


def test_hf_token_is_whitespace_stripped_and_falls_back_to_the_saved_login(monkeypatch) -> None:
    assert hf_token({"HF_TOKEN": " hf_abc \n"}) == "hf_abc"
    assert hf_token({"HUGGING_FACE_HUB_TOKEN": "\thf_old "}) == "hf_old"
    monkeypatch.setattr("huggingface_hub.get_token", lambda: "hf_cached")
    assert hf_token({}) == "hf_cached"

    def broken() -> str:
        raise RuntimeError("cache unavailable")

    monkeypatch.setattr("huggingface_hub.get_token", broken)
    assert hf_token({}) is None


def test_router_without_a_token_has_no_key_and_no_headers() -> None:
    r = route("moonshotai/Kimi-K2.6")
    assert r.kind == "hf_router" and r.api_key is None and r.key_env == "HF_TOKEN"


def test_router_url_can_be_pointed_elsewhere_for_tests_and_proxies() -> None:
    r = route("moonshotai/Kimi-K2.6", {"HF_TOKEN": "t", "MLINTERN_HF_ROUTER_URL": "http://127.0.0.1:9/v1/"})
    assert r.api_base == "http://127.0.0.1:9/v1"


def test_a_router_id_with_an_api_base_goes_there_without_the_hf_token() -> None:
    r = route("Qwen/Qwen2.5-7B-Instruct", {"HF_TOKEN": "hf_secret"}, api_base="http://gpu-box:8000")
    assert r.kind == "local" and r.api_base == "http://gpu-box:8000/v1" and r.api_key == LOCAL_PLACEHOLDER_KEY


@pytest.mark.parametrize(("name", "base", "model"), [
    ("ollama/llama3.1:8b", "http://localhost:11434/v1", "openai/llama3.1:8b"),
    ("ollama_chat/llama3.1", "http://localhost:11434/v1", "openai/llama3.1"),
    ("vllm/meta-llama/Llama-3.1-8B-Instruct", "http://localhost:8000/v1", "openai/meta-llama/Llama-3.1-8B-Instruct"),
    ("hosted_vllm/mistral", "http://localhost:8000/v1", "openai/mistral"),
    ("llamacpp/unsloth/Qwen3.5-2B", "http://localhost:8080/v1", "openai/unsloth/Qwen3.5-2B"),
    ("lm_studio/google/gemma-3-4b", "http://localhost:1234/v1", "openai/google/gemma-3-4b"),
])
def test_local_servers_at_their_usual_addresses(name: str, base: str, model: str) -> None:
    r = route(name)
    assert (r.kind, r.api_base, r.model, r.api_key) == ("local", base, model, LOCAL_PLACEHOLDER_KEY)


def test_local_addresses_and_keys_from_the_environment() -> None:
    assert route("ollama/llama3.1", {"OLLAMA_API_BASE": "http://box:11434"}).api_base == "http://box:11434/v1"
    assert route("vllm/m", {"VLLM_BASE_URL": "http://localhost:8000/v1/"}).api_base == "http://localhost:8000/v1"
    shared = {"LOCAL_LLM_BASE_URL": "http://localhost:9000/v1/", "LOCAL_LLM_API_KEY": "shared-secret"}
    assert (route("vllm/custom", shared).api_base, route("vllm/custom", shared).api_key) == (
        "http://localhost:9000/v1", "shared-secret")
    studio = route("lm_studio/g", {"LMSTUDIO_BASE_URL": "http://127.0.0.1:1234", "LMSTUDIO_API_KEY": "local-secret",
                                   **shared})
    assert (studio.api_base, studio.api_key) == ("http://127.0.0.1:1234/v1", "local-secret")
    assert route("ollama/x", api_base="http://10.0.0.5:11434/").api_base == "http://10.0.0.5:11434/v1"


@pytest.mark.parametrize("bad", ["ollama/", "vllm/", "lm_studio/", "llamacpp/", "ollama/llama 3.1", "  ",
                                 "moonshotai/", "org/model:", "openai-compat/custom-model"])
def test_empty_or_space_containing_ids_are_refused(bad: str) -> None:
    with pytest.raises(ModelConfigError):
        route(bad)


@pytest.mark.parametrize("base", ["not a url", "ftp://host", "http://user:pass@host:8000", "localhost:8000 x"])
def test_an_api_base_that_is_not_an_http_url_is_refused(base: str) -> None:
    with pytest.raises(ModelConfigError):
        route("vllm/m", api_base=base)


def test_direct_providers_and_their_base_urls() -> None:
    a = route("anthropic/claude-sonnet-4-5", {"ANTHROPIC_API_KEY": "sk-ant"})
    assert (a.kind, a.model, a.api_base, a.api_key) == ("anthropic", "anthropic/claude-sonnet-4-5", None, "sk-ant")
    # ANTHROPIC_BASE_URL with or without /v1 (litellm would otherwise call .../v1/v1/messages).
    for base in ("https://proxy.example/v1", "https://proxy.example", "https://proxy.example/v1/messages/"):
        r = route("anthropic/claude-sonnet-4-5", {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": base})
        assert r.api_base == "https://proxy.example/v1/messages" and r.api_key == "k"
    o = route("openai/gpt-5", {"OPENAI_API_KEY": "sk-oa"})
    assert (o.kind, o.model, o.api_key) == ("openai", "openai/gpt-5", "sk-oa")
    assert route("gpt-4o", {"OPENAI_API_KEY": "k"}).model == "openai/gpt-4o"
    assert route("gemini/gemini-2.5-pro").kind == "litellm"


def test_a_provider_key_never_goes_to_a_base_url_the_person_did_not_configure_beside_it() -> None:
    env = {"OPENAI_API_KEY": "sk-real", "ANTHROPIC_API_KEY": "sk-ant-real"}
    o = route("openai/llama3", env, api_base="http://localhost:8000/v1")
    assert o.kind == "local" and o.api_key == LOCAL_PLACEHOLDER_KEY
    a = route("anthropic/claude-sonnet-4-5", env, api_base="http://elsewhere:9/")
    assert a.api_key == LOCAL_PLACEHOLDER_KEY and a.api_base == "http://elsewhere:9/v1/messages"
    assert route("openai/gpt-5", env, api_base="https://api.openai.com/v1").api_key == "sk-real"


def test_the_route_never_shows_its_key() -> None:
    r = route("moonshotai/Kimi-K2.6", {"HF_TOKEN": "hf_secretvalue"})
    assert "hf_secretvalue" not in repr(r)
