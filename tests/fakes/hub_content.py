"""Read-only content served by FakeHub (mixed into ``hub.FakeHub``): dataset viewer, papers, arXiv HTML, docs.

Dataset viewer (datasets-server JSON shapes; give the tool ``hub.url`` as the viewer base URL):

* ``GET /is-valid?dataset=``  -> ``{"preview", "viewer", "search", "filter", "statistics"}``       viewer.is_valid
* ``GET /splits?dataset=``    -> ``{"splits": [{"dataset", "config", "split"}], "pending": [], "failed": []}``
* ``GET /first-rows?dataset=&config=&split=`` -> ``{"dataset", "config", "split", "features": [{"feature_idx",
  "name", "type"}], "rows": [{"row_idx", "row", "truncated_cells"}], "truncated"}`` (first 100 rows)
* ``GET /rows?dataset=&config=&split=&offset=&length=`` -> ``{"features", "rows", "num_rows_total",
  "num_rows_per_page", "partial"}``
* ``GET /info?dataset=[&config=]`` -> ``{"dataset_info": {config: {"features", "splits", ...}}, "pending",
  "failed", "partial"}`` (with ``config=``: ``{"dataset_info": {...one config...}, "partial"}``)
* ``GET /size?dataset=`` -> ``{"size": {"dataset": {...}, "configs": [...], "splits": [...]}, "partial"}``
  Unknown dataset: 404 ``{"error": "The dataset does not exist, ..."}`` with ``X-Error-Code: DatasetNotFoundError``.
  Register with ``hub.add_dataset(repo_id, features={"text": "string", "label": {"_type": "ClassLabel", ...}},
  splits={"train": [rows...]}, config="default", viewer=True)`` (also creates the dataset repo) or
  ``hub.add_wide_dataset(repo_id, n_columns=5000, n_rows=3)``.

Papers: ``hub.add_paper(arxiv_id, title, summary, authors=[...], sections={"1 Introduction": "text"},
upvotes=, github_repo=, published_at=)``; link models/datasets with ``hub.add_repo(..., tags=["arxiv:ID"])``.

* ``GET /api/papers/search?q=&limit=`` -> ``[{"paper": {...}, "title", "publishedAt", "numComments", ...}]``
* ``GET /api/daily_papers?date=&limit=`` -> same shape;  ``GET /api/papers/{id}`` -> flat paper JSON
* ``GET /papers/{id}.md`` -> markdown (``HfApi.read_paper``)
* ``GET /arxiv/html/{id}`` -> arXiv-HTML-like page: ``<h1 class="ltx_title ltx_title_document">``, abstract
  ``<div class="ltx_abstract">``, one ``<section class="ltx_section" id="S{n}">`` per section with an ``<h2>``.
* ``GET /api/models?filter=arxiv:{id}`` / ``/api/datasets?filter=arxiv:{id}`` are served by hub_repos.

Docs (the shape of huggingface.co/docs: a library index with a sidebar of pages, each page also as markdown):

* ``GET /docs/{library}`` -> index page (same layout as a page, body lists the pages)
* ``GET /docs/{library}/{page}`` (page may contain ``/``) -> HTML: ``<nav class="docs-nav"><ul><li><a
  href="/docs/{library}/{page}">{title}</a></li>...</ul></nav><main><h1>{title}</h1>{html}</main>``
* ``GET /docs/{library}/{page}.md`` -> the page as markdown (``# {title}`` and the text).
  Register with ``hub.add_doc(library, page, title, html)``; a few pages are seeded (transformers trainer,
  trl sft_trainer, datasets loading, huggingface_hub guides/jobs) unless ``FakeHub(seed=False)``.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from ._hubutil import iso, object_id
from ._server import HTTPError, RecordedRequest

NOT_FOUND = (
    "The dataset does not exist, or is not accessible without authentication (private or gated). "
    "Please check the spelling of the dataset name or retry with authentication."
)


def _feature(t: Any) -> dict:
    return {"dtype": t, "_type": "Value"} if isinstance(t, str) else t


class ContentMixin:
    def _init_content(self, *, seed: bool) -> None:
        self.viewer: dict[str, dict[str, Any]] = {}
        self.papers: dict[str, dict[str, Any]] = {}
        self.docs: dict[str, dict[str, tuple[str, str]]] = {}
        if seed:
            self._seed_content()

    # --- test API --------------------------------------------------------
    def add_dataset(
        self,
        repo_id: str,
        *,
        features: dict[str, Any],
        splits: dict[str, list[dict]],
        config: str = "default",
        viewer: bool = True,
        private: bool = False,
        tags: list[str] | None = None,
    ) -> None:
        d = self.viewer.setdefault(repo_id, {"configs": {}, "viewer": viewer})
        d["viewer"] = viewer
        d["configs"][config] = {"features": {k: _feature(v) for k, v in features.items()}, "splits": splits}
        if ("dataset", repo_id) not in self.repos:
            self.add_repo(
                repo_id,
                repo_type="dataset",
                private=private,
                tags=tags,
                files={"README.md": f"---\nlicense: mit\n---\n# {repo_id}\n"},
            )

    def add_wide_dataset(self, repo_id: str, n_columns: int = 5000, n_rows: int = 3) -> None:
        feats = {f"col_{i}": "float32" for i in range(n_columns)}
        rows = [{f"col_{i}": float(r * n_columns + i) for i in range(n_columns)} for r in range(n_rows)]
        self.add_dataset(repo_id, features=feats, splits={"train": rows})

    def add_paper(
        self,
        arxiv_id: str,
        title: str,
        summary: str = "",
        *,
        authors: list[str] | None = None,
        sections: dict[str, str] | None = None,
        upvotes: int = 0,
        github_repo: str | None = None,
        published_at: str | None = None,
        daily: bool = True,
    ) -> dict:
        p = {
            "id": arxiv_id,
            "title": title,
            "summary": summary,
            "authors": authors or ["A. Author"],
            "sections": sections or {"1 Introduction": summary},
            "upvotes": upvotes,
            "githubRepo": github_repo,
            "publishedAt": published_at or iso(),
            "daily": daily,
            "discussionId": object_id(),
        }
        self.papers[arxiv_id] = p
        return p

    def add_doc(self, library: str, page: str, title: str, html: str) -> None:
        self.docs.setdefault(library, {})[page] = (title, html)

    def _seed_content(self) -> None:
        self.add_doc(
            "transformers",
            "main_classes/trainer",
            "Trainer",
            "<p>The <code>Trainer</code> class provides an API for feature-complete training in PyTorch."
            " Use <code>TrainingArguments</code> to set <code>learning_rate</code>, "
            "<code>num_train_epochs</code> and <code>push_to_hub</code>.</p>",
        )
        self.add_doc(
            "transformers",
            "training",
            "Fine-tune a pretrained model",
            "<p>Fine-tune distilbert on imdb with the Trainer and evaluate accuracy.</p>",
        )
        self.add_doc(
            "trl",
            "sft_trainer",
            "SFT Trainer",
            "<p>The <code>SFTTrainer</code> fine-tunes language models on instruction datasets."
            " Configure it with <code>SFTConfig</code>.</p>",
        )
        self.add_doc(
            "datasets",
            "loading",
            "Load a dataset",
            '<p>Use <code>load_dataset("imdb")</code> to load a dataset from the Hub.</p>',
        )
        self.add_doc(
            "huggingface_hub",
            "guides/jobs",
            "Run and manage Jobs",
            "<p>Run compute jobs with <code>run_job</code> and <code>run_uv_job</code>; choose a "
            "<code>flavor</code> such as <code>a10g-small</code> and set a <code>timeout</code>.</p>",
        )

    # --- routes ------------------------------------------------------------
    def _setup_content_routes(self) -> None:
        a = self.add
        a("GET", r"/is-valid", self._v_is_valid, "viewer.is_valid")
        a("GET", r"/splits", self._v_splits, "viewer.splits")
        a("GET", r"/first-rows", self._v_first_rows, "viewer.first_rows")
        a("GET", r"/rows", self._v_rows, "viewer.rows")
        a("GET", r"/info", self._v_info, "viewer.info")
        a("GET", r"/size", self._v_size, "viewer.size")
        a("GET", r"/api/papers/search", self._papers_search, "papers.search")
        a("GET", r"/api/daily_papers", self._daily_papers, "papers.daily")
        a("GET", r"/api/papers/(?P<pid>[^/]+)", self._paper, "papers.info")
        a("GET", r"/papers/(?P<pid>[^/]+)\.md", self._paper_md, "papers.markdown")
        a("GET", r"/arxiv/html/(?P<pid>[^/]+?)(?:v\d+)?/?", self._arxiv_html, "papers.arxiv_html")
        a("GET", r"/docs/(?P<lib>[^/]+)/?", self._doc_page, "docs.page")
        a("GET", r"/docs/(?P<lib>[^/]+)/(?P<page>.+)", self._doc_page, "docs.page")

    # --- dataset viewer ----------------------------------------------------------
    def _v_dataset(self, rec: RecordedRequest) -> tuple[str, dict]:
        name = rec.query.get("dataset", "")
        d = self.viewer.get(name)
        repo = self.repos.get(("dataset", name))
        if d is None or (repo is not None and repo.private and self.user_for(rec) is None):
            raise HTTPError(404, NOT_FOUND, {"X-Error-Code": "DatasetNotFoundError"})
        return name, d

    def _v_split(self, rec: RecordedRequest) -> tuple[str, str, str, dict]:
        name, d = self._v_dataset(rec)
        config, split = rec.query.get("config", ""), rec.query.get("split", "")
        c = d["configs"].get(config)
        if c is None or split not in c["splits"]:
            raise HTTPError(404, "Not found.", {"X-Error-Code": "ResponseNotFound"})
        return name, config, split, c

    @staticmethod
    def _features_list(c: dict) -> list[dict]:
        return [{"feature_idx": i, "name": n, "type": t} for i, (n, t) in enumerate(c["features"].items())]

    def _v_is_valid(self, rec: RecordedRequest) -> Response:
        name = rec.query.get("dataset", "")
        ok = name in self.viewer and self.viewer[name]["viewer"]
        return JSONResponse({"preview": ok, "viewer": ok, "search": ok, "filter": ok, "statistics": ok})

    def _v_splits(self, rec: RecordedRequest) -> Response:
        name, d = self._v_dataset(rec)
        return JSONResponse(
            {
                "splits": [
                    {"dataset": name, "config": c, "split": s} for c, cfg in d["configs"].items() for s in cfg["splits"]
                ],
                "pending": [],
                "failed": [],
            }
        )

    def _v_first_rows(self, rec: RecordedRequest) -> Response:
        name, config, split, c = self._v_split(rec)
        rows = c["splits"][split][:100]
        return JSONResponse(
            {
                "dataset": name,
                "config": config,
                "split": split,
                "features": self._features_list(c),
                "rows": [{"row_idx": i, "row": r, "truncated_cells": []} for i, r in enumerate(rows)],
                "truncated": len(c["splits"][split]) > 100,
            }
        )

    def _v_rows(self, rec: RecordedRequest) -> Response:
        _, _, split, c = self._v_split(rec)
        off, length = int(rec.query.get("offset", 0)), min(int(rec.query.get("length", 100)), 100)
        rows = c["splits"][split]
        return JSONResponse(
            {
                "features": self._features_list(c),
                "rows": [
                    {"row_idx": off + i, "row": r, "truncated_cells": []}
                    for i, r in enumerate(rows[off : off + length])
                ],
                "num_rows_total": len(rows),
                "num_rows_per_page": 100,
                "partial": False,
            }
        )

    def _config_info(self, name: str, config: str, c: dict) -> dict:
        splits = {
            s: {"name": s, "num_bytes": 100 * len(rows), "num_examples": len(rows), "dataset_name": name}
            for s, rows in c["splits"].items()
        }
        size = sum(v["num_bytes"] for v in splits.values())
        return {
            "description": "",
            "citation": "",
            "homepage": "",
            "license": "",
            "features": c["features"],
            "builder_name": "parquet",
            "dataset_name": name,
            "config_name": config,
            "version": {"version_str": "0.0.0", "major": 0, "minor": 0, "patch": 0},
            "splits": splits,
            "download_size": size,
            "dataset_size": size,
        }

    def _v_info(self, rec: RecordedRequest) -> Response:
        name, d = self._v_dataset(rec)
        if rec.query.get("config"):
            c = d["configs"].get(rec.query["config"])
            if c is None:
                raise HTTPError(404, "Not found.", {"X-Error-Code": "ResponseNotFound"})
            return JSONResponse({"dataset_info": self._config_info(name, rec.query["config"], c), "partial": False})
        return JSONResponse(
            {
                "dataset_info": {k: self._config_info(name, k, c) for k, c in d["configs"].items()},
                "pending": [],
                "failed": [],
                "partial": False,
            }
        )

    def _v_size(self, rec: RecordedRequest) -> Response:
        name, d = self._v_dataset(rec)
        splits = [
            {
                "dataset": name,
                "config": k,
                "split": s,
                "num_bytes_parquet_files": 100 * len(r),
                "num_bytes_memory": 100 * len(r),
                "num_rows": len(r),
                "num_columns": len(c["features"]),
            }
            for k, c in d["configs"].items()
            for s, r in c["splits"].items()
        ]
        total = sum(s["num_rows"] for s in splits)
        return JSONResponse(
            {
                "size": {
                    "dataset": {
                        "dataset": name,
                        "num_bytes_original_files": 100 * total,
                        "num_bytes_parquet_files": 100 * total,
                        "num_bytes_memory": 100 * total,
                        "num_rows": total,
                    },
                    "configs": [],
                    "splits": splits,
                },
                "pending": [],
                "failed": [],
                "partial": False,
            }
        )

    # --- papers ----------------------------------------------------------------
    def _paper_flat(self, p: dict) -> dict:
        return {
            "id": p["id"],
            "title": p["title"],
            "summary": p["summary"],
            "upvotes": p["upvotes"],
            "authors": [{"_id": object_id(), "name": a, "hidden": False} for a in p["authors"]],
            "publishedAt": p["publishedAt"],
            "discussionId": p["discussionId"],
            "githubRepo": p["githubRepo"],
            "ai_summary": p["summary"][:200],
            "ai_keywords": [],
        }

    def _paper_entry(self, p: dict) -> dict:
        return {
            "paper": self._paper_flat(p),
            "title": p["title"],
            "publishedAt": p["publishedAt"],
            "numComments": 0,
            "thumbnail": f"{self.url}/thumbnails/{p['id']}.png",
            "isAuthorParticipating": False,
        }

    def _papers_search(self, rec: RecordedRequest) -> Response:
        words = rec.query.get("q", "").lower().split()
        hits = [
            p for p in self.papers.values() if all(w in f"{p['id']} {p['title']} {p['summary']}".lower() for w in words)
        ]
        limit = int(rec.query.get("limit", 50))
        return JSONResponse([self._paper_entry(p) for p in hits[:limit]])

    def _daily_papers(self, rec: RecordedRequest) -> Response:
        ps = sorted((p for p in self.papers.values() if p["daily"]), key=lambda p: -p["upvotes"])
        if rec.query.get("date"):
            ps = [p for p in ps if p["publishedAt"].startswith(rec.query["date"])]
        return JSONResponse([self._paper_entry(p) for p in ps[: int(rec.query.get("limit", 50))]])

    def _get_paper(self, pid: str) -> dict:
        if pid not in self.papers:
            raise HTTPError(404, "Paper not found")
        return self.papers[pid]

    def _paper(self, rec: RecordedRequest, pid: str) -> Response:
        return JSONResponse(self._paper_flat(self._get_paper(pid)))

    def _paper_md(self, rec: RecordedRequest, pid: str) -> Response:
        p = self._get_paper(pid)
        body = "\n\n".join(f"## {h}\n\n{t}" for h, t in p["sections"].items())
        return PlainTextResponse(
            f"# {p['title']}\n\n## Abstract\n\n{p['summary']}\n\n{body}\n", media_type="text/markdown"
        )

    def _arxiv_html(self, rec: RecordedRequest, pid: str) -> Response:
        p = self._get_paper(pid)
        e = _html.escape
        secs = "".join(
            f'<section id="S{i}" class="ltx_section"><h2 class="ltx_title ltx_title_section">{e(h)}</h2>'
            f'<div class="ltx_para"><p class="ltx_p">{e(t)}</p></div></section>\n'
            for i, (h, t) in enumerate(p["sections"].items(), 1)
        )
        page = (
            f'<!DOCTYPE html><html lang="en"><head><title>{e(p["title"])}</title></head><body>'
            f'<div class="ltx_page_main"><article class="ltx_document">'
            f'<h1 class="ltx_title ltx_title_document">{e(p["title"])}</h1>'
            f'<div class="ltx_authors">{e(", ".join(p["authors"]))}</div>'
            f'<div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6>'
            f'<p class="ltx_p">{e(p["summary"])}</p></div>\n{secs}</article></div></body></html>'
        )
        return HTMLResponse(page)

    # --- docs --------------------------------------------------------------------
    def _doc_page(self, rec: RecordedRequest, lib: str, page: str | None = None) -> Response:
        pages = self.docs.get(lib)
        if page and page.endswith(".md") and pages is not None and page[:-3].strip("/") in pages:
            # huggingface.co/docs serves every page's markdown at the page URL + ".md".
            title, body = pages[page[:-3].strip("/")]
            return Response(f"# {title}\n\n{re.sub(r'<[^>]+>', '', body)}\n", media_type="text/markdown")
        if pages is None or (page and page.strip("/") not in pages):
            return HTMLResponse("<html><body><h1>404</h1><p>Page not found</p></body></html>", status_code=404)
        nav = "".join(f'<li><a href="/docs/{lib}/{p}">{_html.escape(t)}</a></li>' for p, (t, _) in pages.items())
        if page:
            title, body = pages[page.strip("/")]
        else:
            title, body = lib, "<ul>" + nav + "</ul>"
        return HTMLResponse(
            f"<!DOCTYPE html><html><head><title>{_html.escape(title)}</title></head><body>"
            f'<nav class="docs-nav"><ul>{nav}</ul></nav>'
            f"<main><h1>{_html.escape(title)}</h1>{body}</main></body></html>"
        )

