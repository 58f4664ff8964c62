"""FakeSemanticScholar: a loopback Semantic Scholar Graph + Recommendations API, shaped after the real one.

Routes (``fake.url`` is the API base, like ``https://api.semanticscholar.org``):

* ``GET /graph/v1/paper/{id}?fields=`` -> the paper, only ``paperId`` plus the requested fields; ids may be the
  40-hex paperId, ``ARXIV:2305.18290`` or ``CorpusId:123``. Unknown id: 404 ``{"error": "Paper with id X not
  found"}``; an unknown field: 400 ``{"error": "Unrecognized or unsupported fields: [x]"}``.   route ``paper``
* ``GET /graph/v1/paper/{id}/citations`` / ``/references`` ``?fields=&offset=&limit=`` (limit <= 1000) ->
  ``{"offset", "next"?, "data": [{"contexts", "intents", "isInfluential", "citingPaper" | "citedPaper": {...}}]}``;
  edge fields (contexts, intents, isInfluential) and paper fields share one ``fields`` list.   ``citations``
* ``GET /graph/v1/paper/search`` (relevance, limit <= 100) -> ``{"total", "offset", "next"?, "data"}`` and
  ``GET /graph/v1/paper/search/bulk`` (``sort=citationCount:desc``...) -> ``{"total", "token", "data"}``; both
  filter by ``publicationDateOrYear``, ``fieldsOfStudy``, ``minCitationCount``.                   ``search``
* ``GET /graph/v1/snippet/search?query=&limit=`` -> ``{"data": [{"snippet": {"text", "snippetKind", "section",
  "snippetOffset"}, "score", "paper": {"corpusId", "title", "authors", "openAccessInfo"}}], "retrievalVersion"}``
* ``GET /recommendations/v1/papers/forpaper/{id}?fields=&limit=&from=`` and ``POST /recommendations/v1/papers/``
  (``{"positivePaperIds", "negativePaperIds"}``) -> ``{"recommendedPapers": [...]}``              ``recommend``

Rate limiting as the real service does it: 429 ``{"message": "Too Many Requests. ...", "code": "429"}`` (inject
with ``fake.fail("*", 429, times=2)``); with ``FakeSemanticScholar(api_key="k")`` a wrong ``x-api-key`` gets 403.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.responses import JSONResponse, Response

from ._server import FakeServer, HTTPError, RecordedRequest, json_body

TOO_MANY = ("Too Many Requests. Please wait and try again or apply for a key for higher rate limits. "
            "https://www.semanticscholar.org/product/api#api-key-form")
PAPER_FIELDS = {"paperId", "corpusId", "externalIds", "url", "title", "abstract", "venue", "publicationVenue", "year",
                "referenceCount", "citationCount", "influentialCitationCount", "isOpenAccess", "openAccessPdf",
                "fieldsOfStudy", "s2FieldsOfStudy", "publicationTypes", "publicationDate", "journal", "authors",
                "tldr"}
EDGE_FIELDS = {"contexts", "intents", "contextsWithIntent", "isInfluential"}


class FakeSemanticScholar(FakeServer):
    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.papers: dict[str, dict[str, Any]] = {}  # paperId -> paper
        self.edges: list[dict[str, Any]] = []  # {"citing", "cited", "isInfluential", "contexts", "intents"}
        self.snippet_texts: list[tuple[str, str, str]] = []  # (paperId, section, text)
        super().__init__()

    # --- test API ----------------------------------------------------------------
    def add_paper(self, arxiv_id: str | None, title: str, *, year: int = 2023, citations: int | None = None,
                  influential: int = 0, abstract: str = "", venue: str = "", fields: tuple[str, ...] = ("Computer "
                  "Science",), date: str | None = None, tldr: str | None = None) -> dict[str, Any]:
        paper_id = hashlib.sha1(f"{arxiv_id}|{title}".encode()).hexdigest()
        corpus = int(paper_id[:8], 16) % 10**9
        p = {"paperId": paper_id, "corpusId": corpus, "title": title, "year": year, "abstract": abstract or None,
             "venue": venue, "externalIds": {"CorpusId": corpus, **({"ArXiv": arxiv_id} if arxiv_id else {})},
             "url": f"https://www.semanticscholar.org/paper/{paper_id}", "citationCount": citations,
             "influentialCitationCount": influential, "referenceCount": 0, "isOpenAccess": True,
             "fieldsOfStudy": list(fields), "s2FieldsOfStudy": [{"category": f, "source": "s2-fos-model"}
                                                                 for f in fields],
             "publicationDate": date or f"{year}-06-01", "publicationTypes": ["JournalArticle"],
             "authors": [{"authorId": "1", "name": "A. Author"}],
             "tldr": {"model": "tldr@v2.0.0", "text": tldr} if tldr else None}
        self.papers[paper_id] = p
        return p

    def cite(self, citing: dict[str, Any], cited: dict[str, Any], *, influential: bool = False,
             context: str = "", intents: tuple[str, ...] = ("methodology",)) -> None:
        self.edges.append({"citing": citing["paperId"], "cited": cited["paperId"], "isInfluential": influential,
                           "contexts": [context] if context else [], "intents": list(intents)})

    def add_snippet(self, paper: dict[str, Any], section: str, text: str) -> None:
        self.snippet_texts.append((paper["paperId"], section, text))

    # --- routes -------------------------------------------------------------------
    def _setup_routes(self) -> None:
        a = self.add
        a("GET", r"/graph/v1/paper/search", self._search, "search")
        a("GET", r"/graph/v1/paper/search/bulk", self._bulk, "search")
        a("GET", r"/graph/v1/snippet/search", self._snippets, "snippets")
        a("GET", r"/graph/v1/paper/(?P<pid>[^/]+)/(?P<rel>citations|references)", self._edges, "citations")
        a("GET", r"/graph/v1/paper/(?P<pid>[^/]+)", self._paper, "paper")
        a("GET", r"/recommendations/v1/papers/forpaper/(?P<pid>[^/]+)", self._recommend_one, "recommend")
        a("POST", r"/recommendations/v1/papers/?", self._recommend_many, "recommend")

    def error_response(self, status: int, message: str | None = None, headers: dict[str, str] | None = None
                       ) -> Response:
        if status == 429:
            return JSONResponse({"message": TOO_MANY, "code": "429"}, status_code=429, headers=headers)
        if status == 403:
            return JSONResponse({"message": "Forbidden"}, status_code=403, headers=headers)
        return JSONResponse({"error": message or "Internal Server Error"}, status_code=status, headers=headers)

    def not_found(self, rec: RecordedRequest) -> Response:
        return JSONResponse({"message": "Missing Authentication Token"}, status_code=403)

    def before_request(self, rec: RecordedRequest) -> None:
        key = rec.headers.get("x-api-key")
        if self.api_key is not None and key is not None and key != self.api_key:
            raise HTTPError(403)

    # --- helpers ------------------------------------------------------------------
    def _lookup(self, pid: str) -> dict[str, Any]:
        kind, _, value = pid.partition(":")
        for p in self.papers.values():
            if pid == p["paperId"] or (kind.upper() == "ARXIV" and p["externalIds"].get("ArXiv") == value) or (
                    kind.lower() == "corpusid" and str(p["corpusId"]) == value):
                return p
        raise HTTPError(404, f"Paper with id {pid} not found")

    def _fields(self, rec: RecordedRequest, allowed: set[str], default: tuple[str, ...] = ("title",)) -> list[str]:
        raw = rec.query.get("fields")
        fields = [f.strip() for f in raw.split(",") if f.strip()] if raw else list(default)
        bad = [f for f in fields if f not in allowed]
        if bad:
            raise HTTPError(400, f"Unrecognized or unsupported fields: [{', '.join(bad)}]")
        return fields

    def _count(self, p: dict[str, Any]) -> int:
        if p["citationCount"] is not None:
            return p["citationCount"]
        return sum(1 for e in self.edges if e["cited"] == p["paperId"])

    def _project(self, p: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out = {"paperId": p["paperId"]}
        for f in fields:
            if f == "citationCount":
                out[f] = self._count(p)
            elif f == "referenceCount":
                out[f] = sum(1 for e in self.edges if e["citing"] == p["paperId"])
            elif f in PAPER_FIELDS:
                out[f] = p.get(f)
        return out

    def _limit(self, rec: RecordedRequest, default: int, maximum: int) -> int:
        limit = int(rec.query.get("limit", default))
        if limit > maximum:
            raise HTTPError(400, f"The limit parameter must be less than or equal to {maximum}")
        return limit

    def _matches(self, rec: RecordedRequest, p: dict[str, Any]) -> bool:
        words = rec.query.get("query", "").lower().replace('"', " ").split()
        text = f"{p['title']} {p.get('abstract') or ''}".lower()
        if words and not all(w in text for w in words if w not in ("|", "+")):
            return False
        if int(rec.query.get("minCitationCount") or 0) > self._count(p):
            return False
        if rec.query.get("fieldsOfStudy") and not set(rec.query["fieldsOfStudy"].split(",")) & set(
                p["fieldsOfStudy"]):
            return False
        start, _, end = (rec.query.get("publicationDateOrYear") or ":").partition(":")
        date = p["publicationDate"]
        return not (start and date < start) and not (end and date[: len(end)] > end)

    # --- handlers -----------------------------------------------------------------
    def _paper(self, rec: RecordedRequest, pid: str) -> Response:
        return JSONResponse(self._project(self._lookup(pid), self._fields(rec, PAPER_FIELDS)))

    def _edges(self, rec: RecordedRequest, pid: str, rel: str) -> Response:
        paper = self._lookup(pid)
        fields = self._fields(rec, PAPER_FIELDS | EDGE_FIELDS)
        offset, limit = int(rec.query.get("offset", 0)), self._limit(rec, 100, 1000)
        mine, other, key = ("cited", "citing", "citingPaper") if rel == "citations" else ("citing", "cited",
                                                                                         "citedPaper")
        edges = [e for e in self.edges if e[mine] == paper["paperId"]]
        page = edges[offset: offset + limit]
        data = [{**{f: e[f] for f in fields if f in EDGE_FIELDS and f != "contextsWithIntent"},
                 key: self._project(self.papers[e[other]], [f for f in fields if f in PAPER_FIELDS])} for e in page]
        body: dict[str, Any] = {"offset": offset, "data": data}
        if offset + limit < len(edges):
            body["next"] = offset + limit
        return JSONResponse(body)

    def _search(self, rec: RecordedRequest) -> Response:
        fields = self._fields(rec, PAPER_FIELDS)
        offset, limit = int(rec.query.get("offset", 0)), self._limit(rec, 100, 100)
        hits = [p for p in self.papers.values() if self._matches(rec, p)]
        body: dict[str, Any] = {"total": len(hits), "offset": offset,
                                "data": [self._project(p, fields) for p in hits[offset: offset + limit]]}
        if offset + limit < len(hits):
            body["next"] = offset + limit
        return JSONResponse(body)

    def _bulk(self, rec: RecordedRequest) -> Response:
        fields = self._fields(rec, PAPER_FIELDS)
        hits = [p for p in self.papers.values() if self._matches(rec, p)]
        sort_field, _, order = (rec.query.get("sort") or "paperId:asc").partition(":")
        if sort_field not in ("paperId", "publicationDate", "citationCount"):
            raise HTTPError(400, f"Unsupported sort field: {sort_field}")
        value = (lambda p: self._count(p)) if sort_field == "citationCount" else (lambda p: p[sort_field])
        hits.sort(key=value, reverse=order == "desc")
        return JSONResponse({"total": len(hits), "token": None, "data": [self._project(p, fields) for p in hits]})

    def _snippets(self, rec: RecordedRequest) -> Response:
        query = rec.query.get("query", "").lower().split()
        if not query:
            raise HTTPError(400, "query is required")
        limit = self._limit(rec, 10, 1000)
        data = []
        for pid, section, text in self.snippet_texts:
            if any(w in text.lower() for w in query) and self._matches_filters(rec, self.papers[pid]):
                p = self.papers[pid]
                data.append({"snippet": {"text": text, "snippetKind": "body", "section": section,
                                         "snippetOffset": {"start": 0, "end": len(text)},
                                         "annotations": {"sentences": [], "refMentions": []}},
                             "score": 0.5,
                             "paper": {"corpusId": str(p["corpusId"]), "title": p["title"],
                                       "authors": [a["name"] for a in p["authors"]],
                                       "openAccessInfo": {"license": "CCBY", "status": "GREEN", "disclaimer": ""}}})
        return JSONResponse({"data": data[:limit], "retrievalVersion": "fake-1"})

    def _matches_filters(self, rec: RecordedRequest, p: dict[str, Any]) -> bool:
        return int(rec.query.get("minCitationCount") or 0) <= self._count(p)

    def _recommended(self, rec: RecordedRequest, seeds: list[dict[str, Any]], avoid: set[str]) -> Response:
        fields = self._fields(rec, PAPER_FIELDS)
        seed_ids = {s["paperId"] for s in seeds}
        near = [e["citing"] for e in self.edges if e["cited"] in seed_ids] + [
            e["cited"] for e in self.edges if e["citing"] in seed_ids]
        picks = [pid for pid in dict.fromkeys(near) if pid not in seed_ids | avoid]
        limit = self._limit(rec, 100, 500)
        return JSONResponse({"recommendedPapers": [self._project(self.papers[p], fields) for p in picks[:limit]]})

    def _recommend_one(self, rec: RecordedRequest, pid: str) -> Response:
        if rec.query.get("from", "recent") not in ("recent", "all-cs"):
            raise HTTPError(400, "from must be recent or all-cs")
        return self._recommended(rec, [self._lookup(pid)], set())

    def _recommend_many(self, rec: RecordedRequest) -> Response:
        body = json_body(rec) or {}
        positive = [self._lookup(p) for p in body.get("positivePaperIds") or []]
        if not positive:
            raise HTTPError(400, "positivePaperIds must not be empty")
        avoid = {self._lookup(p)["paperId"] for p in body.get("negativePaperIds") or []}
        return self._recommended(rec, positive, avoid)
