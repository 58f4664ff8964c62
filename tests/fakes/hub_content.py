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

Collections: ``hub.add_collection(slug, title, items=["papers/2305.18290", "models/org/x"], owner=, upvotes=)``;
``GET /api/collections?item=papers/{id}&limit=`` -> ``[{"slug", "title", "description", "owner", "items",
"lastUpdated", "private", "theme", "upvotes"}]`` (items truncated to 4, as the Hub does).

Docs, the docs index and the Hub's OpenAPI document are in ``hub_docs.py``.
"""

from __future__ import annotations

import html as _html
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
        self.collections: list[dict[str, Any]] = []
        self._init_docs(seed=seed)

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

    def add_collection(self, slug: str, title: str, *, items: list[str], owner: str = "fake-org",
                       upvotes: int = 0, description: str = "") -> dict:
        c = {"slug": slug, "title": title, "description": description, "upvotes": upvotes, "items": items,
             "owner": owner}
        self.collections.append(c)
        return c

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
        a("GET", r"/api/collections", self._collections, "collections.list")
        self._setup_docs_routes()

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
        """LaTeXML's layout: numbered ``<section class="ltx_section" id="S4">`` with an ``ltx_tag`` span in the
        ``<h2>``, subsections (``4.1 ...`` keys) nested as ``ltx_subsection`` with ``<h3>``, math as ``<math
        alttext=...>`` with MathML inside, tables as ``ltx_tabular``."""
        p = self._get_paper(pid)
        e = _html.escape

        def head(level: int, key: str) -> str:
            number, _, title = key.partition(" ")
            kind = "section" if level == 2 else "subsection"
            return (f'<h{level} class="ltx_title ltx_title_{kind}"><span class="ltx_tag ltx_tag_{kind}">{e(number)} '
                    f"</span>{e(title)}</h{level}>")

        def para(text: str) -> str:
            body = e(text).replace("$beta$", '<math alttext="\\beta" display="inline"><semantics><mi>β</mi>'
                                   "</semantics></math>")
            return f'<div class="ltx_para"><p class="ltx_p">{body}</p></div>'

        parts = []
        for i, (key, text) in enumerate(p["sections"].items(), 1):
            if "." in key.split(" ")[0]:
                continue
            number = key.split(" ")[0]
            subs = "".join(
                f'<section id="S{i}.SS{j}" class="ltx_subsection">{head(3, k)}{para(t)}</section>'
                for j, (k, t) in enumerate(((k, t) for k, t in p["sections"].items()
                                            if k.split(" ")[0].startswith(number + ".")), 1))
            parts.append(f'<section id="S{i}" class="ltx_section">{head(2, key)}{para(text)}{subs}</section>\n')
        page = (
            f'<!DOCTYPE html><html lang="en"><head><title>{e(p["title"])}</title></head><body>'
            f'<nav class="ltx_page_navbar"><a href="#S1">Contents</a></nav>'
            f'<div class="ltx_page_main"><article class="ltx_document">'
            f'<h1 class="ltx_title ltx_title_document">{e(p["title"])}</h1>'
            f'<div class="ltx_authors">{e(", ".join(p["authors"]))}</div>'
            f'<div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6>'
            f'<p class="ltx_p">{e(p["summary"])}</p></div>\n{"".join(parts)}'
            f'<section class="ltx_bibliography" id="bib"><h2 class="ltx_title ltx_title_bibliography">References'
            f"</h2><ul><li>[1] Someone. A paper.</li></ul></section></article></div></body></html>"
        )
        return HTMLResponse(page)

    # --- collections ---------------------------------------------------------------------------------
    def _collections(self, rec: RecordedRequest) -> Response:
        item = rec.query.get("item")
        found = [c for c in self.collections if item is None or item in c["items"]]
        out = []  # no "position" in a listing: huggingface_hub adds it from the order
        for c in found[: int(rec.query.get("limit", 100))]:
            items = [{"_id": object_id(), "id": i.split("/", 1)[1], "type": i.split("/", 1)[0].rstrip("s"),
                      "position": n} for n, i in enumerate(c["items"][:4])]
            out.append({"slug": c["slug"], "title": c["title"], "description": c["description"],
                        "owner": {"name": c["owner"], "type": "org"}, "items": items, "lastUpdated": iso(),
                        "private": False, "theme": "indigo", "upvotes": c["upvotes"],
                        "isUpvotedByUser": False, "shareUrl": f"{self.url}/collections/{c['slug']}"})
        return JSONResponse(out)
