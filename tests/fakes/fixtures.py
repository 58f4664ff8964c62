"""pytest fixtures for the loopback fakes. In ``tests/conftest.py``::

    from tests.fakes.fixtures import fake_hub, fake_github, fake_search, fake_slack  # noqa: F401

Each fixture is function-scoped: it starts a fresh server on 127.0.0.1 (ephemeral port) and stops it after
the test. ``fake_hub`` yields a ``FakeHub`` (``.url``, ``.token``, ``.user``); build the client with
``HfApi(endpoint=fake_hub.url, token=fake_hub.token)``.

``fake_hub_env`` (uses ``fake_hub``) additionally points huggingface_hub's *module-level* state at the fake, for
code that does not pass ``endpoint=``: it sets ``HF_ENDPOINT`` / ``HF_TOKEN`` / ``HF_HUB_CACHE`` (tmp) and
monkeypatches ``huggingface_hub.constants.ENDPOINT``, ``HUGGINGFACE_CO_URL_TEMPLATE``, ``HF_URL_HOSTS`` and the
endpoint of the module-level ``HfApi`` behind ``huggingface_hub.whoami`` / ``list_jobs`` / ... (``HF_ENDPOINT`` is
read once at import, so setting the variable alone is not enough). Needed e.g. for ``HfApi.list_jobs()`` without
``namespace=``: huggingface_hub 2.4 resolves the namespace there with the module-level ``whoami`` (default
endpoint), not ``self.whoami``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .anthropic import FakeAnthropic
from .github import FakeGitHub
from .hub import FakeHub
from .openai_chat import FakeOpenAIChat
from .s2 import FakeSemanticScholar
from .search import FakeSearch
from .slack import FakeSlack


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    with FakeHub() as hub:
        yield hub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as gh:
        yield gh


@pytest.fixture
def fake_search() -> Iterator[FakeSearch]:
    with FakeSearch() as s:
        yield s


@pytest.fixture
def fake_s2() -> Iterator[FakeSemanticScholar]:
    with FakeSemanticScholar() as s2:
        yield s2


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as s:
        yield s


@pytest.fixture
def fake_hub_env(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[FakeHub]:
    from huggingface_hub import constants, hf_api

    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setenv("HF_TOKEN", fake_hub.token)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setattr(constants, "ENDPOINT", fake_hub.url)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", fake_hub.url + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {"127.0.0.1"})
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(hf_api.api, "endpoint", fake_hub.url)
    yield fake_hub


@pytest.fixture
def fake_anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """The Anthropic Messages fake with ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL pointing at it."""
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", fake.api_key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIChat]:
    """OpenAI itself: OPENAI_API_KEY / OPENAI_BASE_URL pointing at the fake."""
    with FakeOpenAIChat(flavour="openai") as fake:
        monkeypatch.setenv("OPENAI_API_KEY", fake.api_key or "")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        yield fake


@pytest.fixture
def fake_router(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIChat]:
    """The HF router's OpenAI-compatible path, reached with HF_TOKEN alone (MLINTERN_HF_ROUTER_URL points at it)."""
    with FakeOpenAIChat(flavour="router", reasoning_models=("moonshotai/Kimi", "openai/gpt-oss")) as fake:
        monkeypatch.setenv("HF_TOKEN", fake.api_key or "")
        monkeypatch.setenv("MLINTERN_HF_ROUTER_URL", fake.base_url)
        yield fake


@pytest.fixture
def fake_local() -> Iterator[FakeOpenAIChat]:
    """A local OpenAI-compatible server (vLLM, llama.cpp, Ollama, LM Studio); pass its URL as --api-base."""
    with FakeOpenAIChat(flavour="local") as fake:
        yield fake
