"""Docs site and OpenAPI document served by FakeHub (mixed into ``hub.FakeHub``), shaped after huggingface.co.

* ``GET /api/docs`` -> the docs index: ``[{"id": "transformers", "url": "/docs/transformers", "category": ...}]``
  (what huggingface.co returns, as the HF MCP server reads it).                                 route ``docs.index``
* ``GET /docs/{library}`` and ``GET /docs/{library}/{page}`` -> an HTML page laid out like the site: a top site
  ``<nav>`` (Models, Datasets, Docs ...), the library sidebar ``<nav class="flex-auto overflow-y-auto ...">`` with
  section headings and one ``<a href="/docs/{library}/{page}">`` per page, and the page in ``<div class="prose-doc
  prose">``. Unknown library or page: 404 HTML.                                                  ``docs.page``
* ``GET /docs/{library}/{page}.md`` -> the page as markdown (``text/markdown``), as the site serves every page.
  ``hub.docs_md_missing.add((library, page))`` makes one page HTML-only (its ``.md`` is a 404);
  ``hub.docs_md_broken.add(...)`` serves an HTML error page with status 200 instead of markdown.
* ``GET /.well-known/openapi.json`` -> an OpenAPI 3.1 document in the Hub's shape (``info.title`` "Hub API
  Endpoints", ``servers: [{"url": "https://huggingface.co"}]``, ``components.securitySchemes.bearerAuth``,
  ``components.schemas`` with ``$schema`` draft 2020-12, tags, paths under ``/api/...`` with path/query parameters
  and ``$ref`` request bodies).                                                                 ``openapi``

Register pages with ``hub.add_doc(library, page, title, html)`` or ``hub.add_docs_library(library, n_pages)``
(generated pages, for benchmarks). A few pages are seeded unless ``FakeHub(seed=False)``.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response

from ._server import RecordedRequest

CATEGORIES = {"hub": "Hub", "transformers": "Libraries", "trl": "Libraries", "datasets": "Libraries",
              "huggingface_hub": "Libraries"}


class DocsMixin:
    def _init_docs(self, *, seed: bool) -> None:
        self.docs: dict[str, dict[str, tuple[str, str]]] = {}
        self.docs_md_missing: set[tuple[str, str]] = set()
        self.docs_md_broken: set[tuple[str, str]] = set()
        # Extra sidebar links per library (e.g. to another host), for tests of what the tools follow.
        self.docs_extra_links: dict[str, list[str]] = {}
        self.openapi: dict[str, Any] = openapi_document()
        if seed:
            self._seed_docs()

    def add_doc(self, library: str, page: str, title: str, html: str) -> None:
        self.docs.setdefault(library, {})[page] = (title, html)

    def add_docs_library(self, library: str, n_pages: int) -> None:
        """`n_pages` generated pages of a few hundred words each, one of them about a distinctive term."""
        for i in range(n_pages):
            words = " ".join(f"word{(i * 7 + k) % 997}" for k in range(300))
            extra = " <code>gradient_checkpointing</code> saves memory." if i == n_pages // 2 else ""
            self.add_doc(library, f"section{i // 20}/page{i}", f"Page {i} of {library}",
                         f"<p>Topic {i}: {words}.{extra}</p>")

    def _seed_docs(self) -> None:
        self.add_doc("transformers", "main_classes/trainer", "Trainer",
                     "<p>The <code>Trainer</code> class provides an API for feature-complete training in PyTorch."
                     " Use <code>TrainingArguments</code> to set <code>learning_rate</code>, "
                     "<code>num_train_epochs</code> and <code>push_to_hub</code>.</p>")
        self.add_doc("transformers", "training", "Fine-tune a pretrained model",
                     "<p>Fine-tune distilbert on imdb with the Trainer and evaluate accuracy.</p>"
                     "<table><tr><th>model</th><th>accuracy</th></tr><tr><td>distilbert</td><td>0.93</td></tr>"
                     "</table>")
        self.add_doc("trl", "sft_trainer", "SFT Trainer",
                     "<p>The <code>SFTTrainer</code> fine-tunes language models on instruction datasets."
                     " Configure it with <code>SFTConfig</code>; set <code>packing=True</code> to pack sequences."
                     ' See <a href="/docs/trl/dpo_trainer">the DPO trainer</a>.</p>')
        self.add_doc("trl", "dpo_trainer", "DPO Trainer",
                     "<p>The <code>DPOTrainer</code> trains from preference pairs (prompt, chosen, rejected).</p>")
        self.add_doc("datasets", "loading", "Load a dataset",
                     '<p>Use <code>load_dataset("imdb")</code> to load a dataset from the Hub.</p>')
        self.add_doc("huggingface_hub", "guides/jobs", "Run and manage Jobs",
                     "<p>Run compute jobs with <code>run_job</code> and <code>run_uv_job</code>; choose a "
                     "<code>flavor</code> such as <code>a10g-small</code> and set a <code>timeout</code>.</p>")

    def _setup_docs_routes(self) -> None:
        a = self.add  # type: ignore[attr-defined]
        a("GET", r"/api/docs", self._docs_index, "docs.index")
        a("GET", r"/docs/(?P<lib>[^/]+)/?", self._doc_page, "docs.page")
        a("GET", r"/docs/(?P<lib>[^/]+)/(?P<page>.+)", self._doc_page, "docs.page")
        a("GET", r"/\.well-known/openapi\.json", self._openapi, "openapi")

    def _docs_index(self, rec: RecordedRequest) -> Response:
        return JSONResponse([{"id": lib, "url": f"/docs/{lib}", "category": CATEGORIES.get(lib, "Libraries")}
                             for lib in sorted(self.docs)])

    def _openapi(self, rec: RecordedRequest) -> Response:
        return JSONResponse(self.openapi)

    def _doc_page(self, rec: RecordedRequest, lib: str, page: str | None = None) -> Response:
        pages = self.docs.get(lib)
        missing = HTMLResponse("<html><body><h1>404</h1><p>Page not found</p></body></html>", status_code=404)
        if pages is None:
            return missing
        if page and page.endswith(".md"):
            name = page[:-3].strip("/")
            if name not in pages or (lib, name) in self.docs_md_missing:
                return missing
            if (lib, name) in self.docs_md_broken:
                return HTMLResponse("<html><body><div>Something went wrong</div></body></html>")
            title, body = pages[name]
            text = re.sub(r"<a href=\"([^\"]+)\">([^<]*)</a>", r"[\2](\1)", body)
            text = re.sub(r"</?code>", "`", text)
            return Response(f"# {title}\n\n{re.sub(r'<[^>]+>', '', text)}\n", media_type="text/markdown")
        if page and page.strip("/") not in pages:
            return missing
        e = _html.escape
        sidebar = "".join(
            (f"<h3>{e(name.split('/')[0])}</h3>" if i == 0 or name.split("/")[0] != list(pages)[i - 1].split("/")[0]
             else "") + f'<a class="block" href="/docs/{lib}/{name}">{e(title)}</a>'
            for i, (name, (title, _)) in enumerate(pages.items())) + "".join(
            f'<a href="{e(href)}">elsewhere</a>' for href in self.docs_extra_links.get(lib, []))
        title, body = pages[page.strip("/")] if page else (lib, f"<p>Welcome to the {e(lib)} docs.</p>")
        return HTMLResponse(
            f"<!DOCTYPE html><html><head><title>{e(title)}</title><script>window.hydrate()</script></head><body>"
            '<header><nav class="site-nav"><a href="/models">Models</a><a href="/datasets">Datasets</a>'
            '<a href="/docs">Docs</a><a href="/pricing">Pricing</a></nav></header>'
            f'<div class="flex"><nav class="flex-auto overflow-y-auto py-3 pl-5">{sidebar}</nav>'
            f'<div class="prose-doc prose relative mx-auto"><h1>{e(title)}</h1>{body}</div></div>'
            '<footer><a href="/terms">Terms</a></footer></body></html>')


def openapi_document() -> dict[str, Any]:
    """A slice of the Hub's OpenAPI document, in its real shape."""

    def path_param(name: str, example: str) -> dict[str, Any]:
        return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "examples": [example]}}

    repo = [path_param("namespace", "deepseek-ai"), path_param("repo", "DeepSeek-R1")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hub API Endpoints", "version": "0.0.1",
                 "description": "The base URL for those endpoints below is `https://huggingface.co`."},
        "servers": [{"url": "https://huggingface.co", "description": "Hub"}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "RepoId": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                           "properties": {"name": {"type": "string", "examples": ["deepseek-ai/DeepSeek-R1"]},
                                          "type": {"enum": ["dataset", "model", "space", "bucket", "kernel"]}},
                           "required": ["name", "type"], "additionalProperties": False, "id": "RepoId"},
            },
        },
        "tags": [{"name": "models", "x-displayName": "Models"}, {"name": "spaces", "x-displayName": "Spaces"},
                 {"name": "repos", "x-displayName": "Repositories"}, {"name": "discussions"},
                 {"name": "collections"}, {"name": "orgs"}],
        "paths": {
            "/api/models": {"get": {
                "summary": "List models", "tags": ["models"], "operationId": "listModels",
                "description": "List models on the Hub, filtered by search, author, tags; sorted and paginated.",
                "parameters": [{"name": "search", "in": "query", "schema": {"type": "string"}},
                               {"name": "author", "in": "query", "schema": {"type": "string"}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}}],
                "responses": {"200": {"description": "The models"}}}},
            "/api/spaces/{namespace}/{repo}/logs/{logType}": {"get": {
                "summary": "Stream Space logs", "tags": ["spaces"], "operationId": "getSpaceLogs",
                "description": "Server-sent events with the build or run logs of a Space.",
                "parameters": [*repo, {"name": "logType", "in": "path", "required": True,
                                       "schema": {"enum": ["build", "run"]}}],
                "responses": {"200": {"description": "SSE stream of log lines"}}}},
            "/api/spaces/{namespace}/{repo}/metrics": {"get": {
                "summary": "Get Space metrics", "tags": ["spaces"], "operationId": "getSpaceMetrics",
                "description": "CPU, memory and Zero-GPU usage of a running Space.", "parameters": repo,
                "responses": {"200": {"description": "metrics"}}}},
            "/api/repos/move": {"post": {
                "summary": "Move or rename a repository", "tags": ["repos"], "operationId": "moveRepo",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["fromRepo", "toRepo"],
                    "properties": {"fromRepo": {"$ref": "#/components/schemas/RepoId"},
                                   "toRepo": {"$ref": "#/components/schemas/RepoId"}}}}}},
                "responses": {"200": {"description": "moved"}}}},
            "/api/organizations/{name}/members": {"get": {
                "summary": "List organization members", "tags": ["orgs"], "operationId": "listOrgMembers",
                "parameters": [path_param("name", "huggingface")],
                "responses": {"200": {"description": "members"}}}},
            "/api/{repoType}s/{namespace}/{repo}/discussions/{num}/merge": {"post": {
                "summary": "Merge a pull request", "tags": ["discussions"], "operationId": "mergePullRequest",
                "parameters": [{"name": "repoType", "in": "path", "required": True,
                                "schema": {"enum": ["model", "dataset", "space"]}}, *repo,
                               {"name": "num", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"comment": {"type": "string"}}}}}},
                "responses": {"200": {"description": "merged"}}}},
            "/api/collections": {"get": {
                "summary": "List collections", "tags": ["collections"], "operationId": "listCollections",
                "parameters": [{"name": "item", "in": "query", "schema": {"type": "string",
                                                                         "examples": ["papers/2305.18290"]}}],
                "responses": {"200": {"description": "collections"}}}},
        },
    }
