"""FakeGitHub: the slice of the GitHub REST API (v3 JSON shapes) the github_* tools use.

* ``GET /search/code?q=&per_page=&page=``  terms + qualifiers repo:, org:, user:, language:, path:, filename:,
  extension:. Requires a token (like GitHub: 401 "Requires authentication") unless
  ``code_search_requires_auth=False``. ``Accept: application/vnd.github.text-match+json`` adds ``text_matches``.
                                                                                       route: search.code
* ``GET /search/repositories?q=&sort=stars``  terms + user:/org:/language:/topic:       route: search.repos
* ``GET /users/{u}/repos``, ``GET /orgs/{o}/repos`` (``per_page``, ``page``, ``sort``; Link header)
                                                                        routes: users.repos, orgs.repos
* ``GET /repos/{o}/{r}``                                                               route: repos.get
* ``GET /repos/{o}/{r}/contents/{path}?ref=`` file JSON (base64 ``content`` in 60-char lines, ``encoding``,
  ``size``, ``sha``, ``download_url``...), directory listing, raw bytes when ``Accept:
  application/vnd.github.raw`` (or ``.raw+json`` / ``v3.raw``). Files over 1 MB get ``content: ""`` and
  ``encoding: "none"`` in JSON (like GitHub); over 100 MB: 403 ``too_large``.    route: repos.contents
* ``GET /raw/{o}/{r}/{ref}/{path}`` (the ``download_url`` of contents entries)           route: raw
* ``GET /rate_limit``                                                                 route: rate_limit

Seeded repos (``seed=True``): ``huggingface/trl`` (README.md, examples/scripts/sft.py,
examples/notebooks/sft_example.ipynb, assets/logo.png (binary), large/weights.bin (50 MB zeros)),
``huggingface/transformers`` (examples/pytorch/text-classification/run_glue.py) and ``fake-user/scratch``.
``gh.add_repo(full_name, files={path: str|bytes}, description=, stars=, language=, topics=)``.

Failure injection: ``gh.rate_limit(status=403|429, retry_after=None, times=1)`` answers the GitHub
rate-limit error (``x-ratelimit-remaining: 0``, ``x-ratelimit-reset``, optional ``retry-after``);
``gh.fail(...)`` for anything else (GitHub error body ``{"message", "documentation_url", "status"}``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from ._server import Failure, FakeServer, HTTPError, RecordedRequest

DOCS = "https://docs.github.com/rest"
NOTEBOOK = json.dumps(
    {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# SFT example\n", "Fine-tune with TRL."]},
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["trained\n"]}],
                "source": ["from trl import SFTTrainer\n", "trainer = SFTTrainer(model='gpt2')\n", "trainer.train()"],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    },
    indent=1,
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
SFT_PY = '''"""Minimal SFT script."""
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer

dataset = load_dataset("trl-lib/Capybara", split="train")
trainer = SFTTrainer(model="Qwen/Qwen2.5-0.5B", train_dataset=dataset, args=SFTConfig(output_dir="out"))
trainer.train()
'''
LANG = {".py": "Python", ".ipynb": "Jupyter Notebook", ".md": "Markdown", ".js": "JavaScript", ".ts": "TypeScript"}


def _sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeGitHub(FakeServer):
    def __init__(self, *, seed: bool = True, code_search_requires_auth: bool = True) -> None:
        self.repos: dict[str, dict[str, Any]] = {}
        self.code_search_requires_auth = code_search_requires_auth
        self._next_id = 1000
        super().__init__()
        if seed:
            self.add_repo(
                "huggingface/trl",
                description="Train transformer language models with RL.",
                stars=15000,
                topics=["rlhf", "transformers"],
                files={
                    "README.md": "# TRL\nTrain transformer language models with reinforcement learning.\n",
                    "examples/scripts/sft.py": SFT_PY,
                    "examples/notebooks/sft_example.ipynb": NOTEBOOK,
                    "assets/logo.png": PNG,
                    "large/weights.bin": b"\0" * (50 * 1024 * 1024),
                },
            )
            self.add_repo(
                "huggingface/transformers",
                description="Transformers: state-of-the-art ML.",
                stars=150000,
                files={
                    "README.md": "# Transformers\n",
                    "examples/pytorch/text-classification/run_glue.py": "from transformers import Trainer, TrainingArguments\n# fine-tune on GLUE\n",
                },
            )
            self.add_repo("fake-user/scratch", description="scratch", stars=0, files={"notes.md": "hello\n"})

    def start(self) -> FakeGitHub:
        super().start()
        for full, repo in self.repos.items():  # seeded before the port was known
            repo["meta"]["url"] = f"{self.url}/repos/{full}"
        return self

    # --- test API --------------------------------------------------------
    def add_repo(
        self,
        full_name: str,
        *,
        files: dict[str, str | bytes] | None = None,
        description: str = "",
        stars: int = 0,
        language: str = "Python",
        topics: list[str] | None = None,
        default_branch: str = "main",
        owner_type: str = "Organization",
    ) -> dict:
        owner, name = full_name.split("/")
        self._next_id += 1
        meta = {
            "id": self._next_id,
            "node_id": f"R_{self._next_id}",
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": {
                "login": owner,
                "id": abs(hash(owner)) % 10**8,
                "type": owner_type,
                "html_url": f"https://github.com/{owner}",
            },
            "html_url": f"https://github.com/{full_name}",
            "description": description,
            "fork": False,
            "url": f"{self.url}/repos/{full_name}",
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
            "pushed_at": "2025-01-01T00:00:00Z",
            "stargazers_count": stars,
            "watchers_count": stars,
            "forks_count": stars // 10,
            "language": language,
            "topics": topics or [],
            "default_branch": default_branch,
            "archived": False,
            "visibility": "public",
            "license": {"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0"},
        }
        data = {k: v.encode() if isinstance(v, str) else v for k, v in (files or {}).items()}
        self.repos[full_name] = {"meta": meta, "files": data}
        return meta

    def rate_limit(
        self,
        status: int = 403,
        *,
        retry_after: float | None = None,
        times: int | None = 1,
        resource: str = "core",
        match: str = "* /*",
    ) -> Failure:
        headers = {
            "x-ratelimit-limit": "60" if resource == "core" else "10",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "60",
            "x-ratelimit-reset": str(int(time.time()) + 60),
            "x-ratelimit-resource": resource,
        }
        body = {
            "message": "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests"
            " get a higher rate limit. Check out the documentation for more details.)",
            "documentation_url": f"{DOCS}/using-the-rest-api/rate-limits-for-the-rest-api",
            "status": str(status),
        }
        return self.fail(match, status, times=times, body=body, headers=headers, retry_after=retry_after)

    def error_response(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        return JSONResponse(
            {
                "message": message
                or {401: "Bad credentials", 403: "Forbidden", 404: "Not Found", 422: "Validation Failed"}.get(
                    status, "Error"
                ),
                "documentation_url": DOCS,
                "status": str(status),
            },
            status_code=status,
            headers=headers,
        )

    # --- routes ------------------------------------------------------------
    def _setup_routes(self) -> None:
        self.add("GET", r"/search/code", self._search_code, "search.code")
        self.add("GET", r"/search/repositories", self._search_repos, "search.repos")
        self.add("GET", r"/users/(?P<owner>[^/]+)/repos", self._owner_repos, "users.repos")
        self.add("GET", r"/orgs/(?P<owner>[^/]+)/repos", self._owner_repos, "orgs.repos")
        self.add("GET", r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)", self._repo, "repos.get")
        self.add(
            "GET",
            r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/contents(?:/(?P<path>.*))?",
            self._contents,
            "repos.contents",
        )
        self.add("GET", r"/raw/(?P<owner>[^/]+)/(?P<name>[^/]+)/(?P<ref>[^/]+)/(?P<path>.+)", self._raw, "raw")
        self.add(
            "GET",
            r"/rate_limit",
            lambda rec: JSONResponse(
                {"resources": {"core": {"limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600, "used": 1}}}
            ),
            "rate_limit",
        )

    def _paginate(self, rec: RecordedRequest, items: list) -> tuple[list, dict[str, str]]:
        per_page = min(int(rec.query.get("per_page", 30)), 100)
        page = int(rec.query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            q = "&".join(f"{k}={v}" for k, v in rec.query.items() if k != "page")
            headers["Link"] = f'<{self.url}{rec.path}?{q}&page={page + 1}>; rel="next"'
        return chunk, headers

    @staticmethod
    def _parse_q(q: str) -> tuple[list[str], dict[str, list[str]]]:
        terms, quals = [], {}
        for tok in q.split():
            if ":" in tok and not tok.startswith("http"):
                k, v = tok.split(":", 1)
                quals.setdefault(k.lower(), []).append(v.strip('"').lower())
            else:
                terms.append(tok.strip('"').lower())
        return terms, quals

    def _search_code(self, rec: RecordedRequest) -> Response:
        if self.code_search_requires_auth and not rec.headers.get("authorization"):
            raise HTTPError(401, "Requires authentication")
        terms, quals = self._parse_q(rec.query.get("q", ""))
        items = []
        for full, repo in self.repos.items():
            owner = full.split("/")[0].lower()
            if "repo" in quals and full.lower() not in quals["repo"]:
                continue
            if ("org" in quals or "user" in quals) and owner not in quals.get("org", []) + quals.get("user", []):
                continue
            for path, data in sorted(repo["files"].items()):
                fname = path.rsplit("/", 1)[-1]
                ext = "." + fname.rsplit(".", 1)[-1] if "." in fname else ""
                if len(data) > 384 * 1024 or b"\0" in data[:1024]:
                    continue  # GitHub only indexes small text files
                text = data.decode("utf-8", "replace").lower()
                if "language" in quals and LANG.get(ext, "").lower() not in quals["language"]:
                    continue
                if "path" in quals and not any(p.strip("/") in path.lower() for p in quals["path"]):
                    continue
                if "filename" in quals and fname.lower() not in quals["filename"]:
                    continue
                if "extension" in quals and ext.lstrip(".") not in quals["extension"]:
                    continue
                if not all(t in text or t in path.lower() for t in terms):
                    continue
                item = {
                    "name": fname,
                    "path": path,
                    "sha": _sha(data),
                    "url": f"{self.url}/repos/{full}/contents/{path}?ref={repo['meta']['default_branch']}",
                    "git_url": f"{self.url}/repos/{full}/git/blobs/{_sha(data)}",
                    "html_url": f"https://github.com/{full}/blob/{repo['meta']['default_branch']}/{path}",
                    "repository": repo["meta"],
                    "score": 1.0,
                }
                if "text-match" in rec.headers.get("accept", ""):
                    first = next(
                        (
                            ln
                            for ln in data.decode("utf-8", "replace").splitlines()
                            if any(t in ln.lower() for t in terms)
                        ),
                        "",
                    )
                    item["text_matches"] = [
                        {"object_type": "FileContent", "property": "content", "fragment": first, "matches": []}
                    ]
                items.append(item)
        chunk, headers = self._paginate(rec, items)
        return JSONResponse({"total_count": len(items), "incomplete_results": False, "items": chunk}, headers=headers)

    def _search_repos(self, rec: RecordedRequest) -> Response:
        terms, quals = self._parse_q(rec.query.get("q", ""))
        out = []
        for full, repo in self.repos.items():
            m = repo["meta"]
            hay = f"{full} {m['description']} {' '.join(m['topics'])}".lower()
            if not all(t in hay for t in terms):
                continue
            if ("user" in quals or "org" in quals) and m["owner"]["login"].lower() not in quals.get(
                "user", []
            ) + quals.get("org", []):
                continue
            if "language" in quals and (m["language"] or "").lower() not in quals["language"]:
                continue
            if "topic" in quals and not set(quals["topic"]) <= set(m["topics"]):
                continue
            out.append(m)
        if rec.query.get("sort") == "stars":
            out.sort(key=lambda m: -m["stargazers_count"])
        chunk, headers = self._paginate(rec, out)
        return JSONResponse({"total_count": len(out), "incomplete_results": False, "items": chunk}, headers=headers)

    def _owner_repos(self, rec: RecordedRequest, owner: str) -> Response:
        repos = [r["meta"] for full, r in self.repos.items() if full.split("/")[0].lower() == owner.lower()]
        if not repos:
            raise HTTPError(404, "Not Found")
        if rec.query.get("sort") in ("updated", "pushed"):
            repos.sort(key=lambda m: m["pushed_at"], reverse=True)
        chunk, headers = self._paginate(rec, repos)
        return JSONResponse(chunk, headers=headers)

    def _raw(self, rec: RecordedRequest, owner: str, name: str, ref: str, path: str) -> Response:
        """``download_url`` of contents entries (raw.githubusercontent.com stand-in)."""
        repo = self._get(owner, name)
        if ref != repo["meta"]["default_branch"] or path not in repo["files"]:
            return Response(b"404: Not Found", status_code=404, media_type="text/plain")
        return Response(repo["files"][path], media_type="text/plain; charset=utf-8")

    def _get(self, owner: str, name: str) -> dict:
        repo = self.repos.get(f"{owner}/{name}")
        if repo is None:
            raise HTTPError(404, "Not Found")
        return repo

    def _repo(self, rec: RecordedRequest, owner: str, name: str) -> Response:
        return JSONResponse(self._get(owner, name)["meta"])

    def _entry(self, full: str, path: str, data: bytes | None, branch: str) -> dict:
        is_file = data is not None
        sha = _sha(data) if is_file else _sha(path.encode())
        return {
            "type": "file" if is_file else "dir",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": len(data) if is_file else 0,
            "url": f"{self.url}/repos/{full}/contents/{path}?ref={branch}",
            "html_url": f"https://github.com/{full}/{'blob' if is_file else 'tree'}/{branch}/{path}",
            "git_url": f"{self.url}/repos/{full}/git/{'blobs' if is_file else 'trees'}/{sha}",
            "download_url": f"{self.url}/raw/{full}/{branch}/{path}" if is_file else None,
            "_links": {"self": f"{self.url}/repos/{full}/contents/{path}?ref={branch}"},
        }

    def _contents(self, rec: RecordedRequest, owner: str, name: str, path: str | None = None) -> Response:
        repo = self._get(owner, name)
        full, branch = repo["meta"]["full_name"], repo["meta"]["default_branch"]
        ref = rec.query.get("ref")
        if ref and ref != branch:
            raise HTTPError(404, f"No commit found for the ref {ref}")
        path = (path or "").strip("/")
        files = repo["files"]
        accept = rec.headers.get("accept", "")
        if path in files:
            data = files[path]
            if "vnd.github.raw" in accept or "vnd.github.v3.raw" in accept:
                if len(data) > 100 * 1024 * 1024:
                    raise HTTPError(403, "This API returns blobs up to 100 MB in size.")
                return Response(data, media_type="application/octet-stream")
            if len(data) > 100 * 1024 * 1024:
                raise HTTPError(
                    403,
                    "This API returns blobs up to 100 MB in size. The requested blob is too large "
                    "to fetch via the API, but you can use the Git Data API.",
                )
            entry = self._entry(full, path, data, branch)
            if len(data) > 1024 * 1024:
                entry.update(content="", encoding="none")
            else:
                b64 = base64.b64encode(data).decode()
                entry.update(
                    content="\n".join(b64[i : i + 60] for i in range(0, len(b64), 60)) + "\n", encoding="base64"
                )
            return JSONResponse(entry)
        prefix = path + "/" if path else ""
        children: dict[str, bytes | None] = {}
        for p, data in files.items():
            if p.startswith(prefix):
                head, _, rest = p[len(prefix) :].partition("/")
                children[prefix + head] = None if rest else data
        if not children:
            raise HTTPError(404, "Not Found")
        return JSONResponse([self._entry(full, p, d, branch) for p, d in sorted(children.items())])
