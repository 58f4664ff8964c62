"""Repos part of FakeHub (mixed into ``hub.FakeHub``). ``{t}`` is models|datasets|spaces; ``{repo}`` is
``ns/name`` (or a bare name); revisions and paths arrive percent-encoded and are decoded.

* ``POST /api/repos/create`` (name, organization, visibility/private, type, sdk, hardware, secrets)   repos.create
* ``DELETE /api/repos/delete``                                                                         repos.delete
* ``PUT /api/{t}/{repo}/settings`` (visibility / private / gated)                                      repos.settings
* ``GET /api/{t}/{repo}`` and ``/api/{t}/{repo}/revision/{rev}`` (info incl. private, sha, siblings, safetensors)   repos.info
* ``GET /api/models|datasets|spaces`` ``?filter=&search=&author=&limit=``                              repos.list
* ``POST /api/{t}/{repo}/preupload/{rev}`` (always uploadMode "regular")                               repos.preupload
* ``POST /api/{t}/{repo}/commit/{rev}`` NDJSON header/file(base64)/deletedFile/deletedFolder,
  ``?create_pr=1``                                                                                     repos.commit
* ``GET /api/{t}/{repo}/tree/{rev}[/{path}]`` ``?recursive=``                                         repos.tree
* ``GET|HEAD /{repo}/resolve/{rev}/{path}``, ``/datasets/...``, ``/spaces/...`` (ETag, X-Repo-Commit,
  Content-Length; 404 with X-Error-Code EntryNotFound / RevisionNotFound / RepoNotFound)               repos.resolve
* ``GET /api/{t}/{repo}/refs``; ``POST|DELETE /api/{t}/{repo}/branch/{name}``;
  ``POST /api/{t}/{repo}/tag/{rev}`` (body {"tag", "message"}); ``DELETE /api/{t}/{repo}/tag/{tag}``  repos.refs/branch/tag
* ``GET|POST /api/{t}/{repo}/discussions``, ``GET /api/{t}/{repo}/discussions/{num}``                  repos.discussions
* Spaces runtime / hardware / secrets: see ``hub_spaces.py``

Test API: ``hub.add_repo(repo_id, repo_type=, private=, files={path: bytes|str}, tags=, downloads=, likes=)``,
``hub.repo(repo_id, repo_type)`` -> FakeRepo (``.private``, ``.files(rev)``, ``.read(path, rev)``,
``.branches``, ``.tags``, ``.commits``, ``.discussions``, ``.space``), ``hub.repos`` dict keyed by (type, id).
LFS / Xet uploads are not supported (preupload always answers "regular").
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

from ._hubutil import commit_sha, git_blob_sha1, iso, object_id
from ._server import HTTPError, RecordedRequest, json_body
from .hub_refs import RefsMixin
from .hub_spaces import SpacesMixin

T = r"(?P<type>model|dataset|space)s"
REPO = r"(?P<repo>[^/]+(?:/[^/]+)?)"
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


@dataclass
class FakeRepo:
    repo_id: str
    repo_type: str
    private: bool
    author: str
    sdk: str | None = None
    created: float = field(default_factory=time.time)
    commits: dict[str, dict] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    discussions: list[dict] = field(default_factory=list)
    meta_tags: list[str] = field(default_factory=list)
    downloads: int = 0
    likes: int = 0
    settings_updates: list[dict] = field(default_factory=list)
    space: dict[str, Any] = field(default_factory=dict)
    # A model's parameter count per dtype, served as the Hub's `safetensors` metadata ({"BF16": 494032768}).
    safetensors: dict[str, int] = field(default_factory=dict)

    def resolve(self, rev: str) -> str:
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.tags:
            return self.tags[rev]
        if rev in self.commits:
            return rev
        raise HTTPError(404, f"Invalid rev id: {rev}", {"X-Error-Code": "RevisionNotFound"})

    def files(self, rev: str = "main") -> dict[str, bytes]:
        return self.commits[self.resolve(rev)]["files"]

    def read(self, path: str, rev: str = "main") -> bytes:
        return self.files(rev)[path]

    def commit(self, parent: str | None, files: dict[str, bytes], title: str) -> str:
        sha = commit_sha()
        self.commits[sha] = {"files": files, "parent": parent, "title": title, "at": time.time()}
        return sha


class ReposMixin(SpacesMixin, RefsMixin):
    def _init_repos(self, *, space_start_delay: float) -> None:
        self.repos: dict[tuple[str, str], FakeRepo] = {}
        self.space_start_delay = space_start_delay

    # --- test API --------------------------------------------------------
    def add_repo(
        self,
        repo_id: str,
        *,
        repo_type: str = "model",
        private: bool = False,
        files: dict[str, bytes | str] | None = None,
        tags: list[str] | None = None,
        downloads: int = 0,
        likes: int = 0,
        sdk: str | None = None,
    ) -> FakeRepo:
        repo = FakeRepo(
            repo_id,
            repo_type,
            private,
            repo_id.split("/")[0] if "/" in repo_id else "",
            sdk=sdk,
            meta_tags=list(tags or []),
            downloads=downloads,
            likes=likes,
        )
        content = {".gitattributes": GITATTRIBUTES}
        content.update({k: v.encode() if isinstance(v, str) else v for k, v in (files or {}).items()})
        repo.branches["main"] = repo.commit(None, content, "initial commit")
        if repo_type == "space":
            repo.space = {
                "hardware": "cpu-basic",
                "requested": "cpu-basic",
                "since": time.time(),
                "secrets": {},
                "variables": {},
                "sleep": None,
                "stage": None,
            }
        with self.lock:
            self.repos[(repo_type, repo_id)] = repo
        return repo

    def repo(self, repo_id: str, repo_type: str = "model") -> FakeRepo:
        return self.repos[(repo_type, repo_id)]

    # --- helpers -----------------------------------------------------------
    def _get_repo(self, rec: RecordedRequest, type: str, repo: str, *, write: bool = False) -> FakeRepo:
        user = self.user_for(rec)
        r = self.repos.get((type, repo))
        can_write = (
            user is not None and r is not None and r.author in {user["name"], *(o["name"] for o in user["orgs"])}
        )
        if r is None or (r.private and not can_write):
            raise HTTPError(401 if user is None else 404, "Repository not found", {"X-Error-Code": "RepoNotFound"})
        if write and not can_write:
            raise HTTPError(403 if user else 401, f"You don't have the rights to write to {type}s/{repo}")
        return r

    def _repo_url(self, r: FakeRepo) -> str:
        return f"{self.url}/{PREFIX[r.repo_type]}{r.repo_id}"

    def _setup_repos_routes(self) -> None:
        a = self.add
        a("POST", r"/api/repos/create", self._create_repo, "repos.create")
        a("DELETE", r"/api/repos/delete", self._delete_repo, "repos.delete")
        a("GET", r"/api/(?P<type>model|dataset|space)s", self._list_repos, "repos.list")
        self._setup_spaces_routes()  # before the generic repo routes
        a("PUT", rf"/api/{T}/{REPO}/settings", self._settings, "repos.settings")
        a("GET", rf"/api/{T}/{REPO}", self._info, "repos.info")
        a("GET", rf"/api/{T}/{REPO}/revision/(?P<rev>[^/]+)", self._info, "repos.info")
        a("POST", rf"/api/{T}/{REPO}/preupload/(?P<rev>[^/]+)", self._preupload, "repos.preupload")
        a("POST", rf"/api/{T}/{REPO}/commit/(?P<rev>[^/]+)", self._commit, "repos.commit")
        a("GET", rf"/api/{T}/{REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", self._tree, "repos.tree")
        a("GET", rf"/api/{T}/{REPO}/refs", self._refs, "repos.refs")
        a("POST|DELETE", rf"/api/{T}/{REPO}/branch/(?P<name>[^/]+)", self._branch, "repos.branch")
        a("POST", rf"/api/{T}/{REPO}/tag/(?P<rev>[^/]+)", self._create_tag, "repos.tag")
        a("DELETE", rf"/api/{T}/{REPO}/tag/(?P<tag>[^/]+)", self._delete_tag, "repos.tag")
        a("GET|POST", rf"/api/{T}/{REPO}/discussions", self._discussions, "repos.discussions")
        a("GET", rf"/api/{T}/{REPO}/discussions/(?P<num>\d+)", self._discussion, "repos.discussions")
        a("POST", rf"/api/{T}/{REPO}/discussions/(?P<num>\d+)/(?P<action>comment|status|merge)",
          self._discussion_change, "repos.discussions.change")
        a(
            "GET",
            rf"/(?P<type>dataset|space)s/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)",
            self._resolve,
            "repos.resolve",
        )
        a("GET", rf"/{REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", self._resolve, "repos.resolve")

    # --- handlers ----------------------------------------------------------
    def _create_repo(self, rec: RecordedRequest) -> Response:
        user = self.require_user(rec)
        body = json_body(rec) or {}
        ns = body.get("organization") or user["name"]
        self.owner_for(rec, ns)
        repo_type = body.get("type") or "model"
        repo_id = f"{ns}/{body['name']}"
        private = body.get("visibility") == "private" or bool(body.get("private"))
        if (repo_type, repo_id) in self.repos:
            msg = f"You already created this {repo_type} repo"
            return JSONResponse(
                {"error": msg, "url": self._repo_url(self.repos[(repo_type, repo_id)])},
                status_code=409,
                headers={"X-Error-Message": msg},
            )
        if repo_type == "space" and not body.get("sdk"):
            raise HTTPError(400, "Missing sdk for space")
        r = self.add_repo(repo_id, repo_type=repo_type, private=private, sdk=body.get("sdk"))
        if repo_type == "space":
            hw = body.get("hardware") or "cpu-basic"
            r.space.update(requested=hw, hardware=hw, since=time.time(), sleep=body.get("sleepTimeSeconds"))
            r.space["secrets"] = {s["key"]: s["value"] for s in body.get("secrets") or []}
            r.space["variables"] = {s["key"]: s["value"] for s in body.get("variables") or []}
        return JSONResponse({"url": self._repo_url(r), "name": repo_id, "id": object_id()})

    def _delete_repo(self, rec: RecordedRequest) -> Response:
        user = self.require_user(rec)
        body = json_body(rec) or {}
        repo_id = f"{body.get('organization') or user['name']}/{body['name']}"
        r = self._get_repo(rec, body.get("type") or "model", repo_id, write=True)
        with self.lock:
            del self.repos[(r.repo_type, r.repo_id)]
        return Response(status_code=200)

    def _settings(self, rec: RecordedRequest, type: str, repo: str) -> Response:
        r = self._get_repo(rec, type, repo, write=True)
        body = json_body(rec) or {}
        r.settings_updates.append(body)
        if "visibility" in body:
            r.private = body["visibility"] == "private"
        elif "private" in body:
            r.private = bool(body["private"])
        return JSONResponse({})

    def _summary(self, r: FakeRepo) -> dict[str, Any]:
        d = {
            "_id": object_id(),
            "id": r.repo_id,
            "author": r.author,
            "private": r.private,
            "gated": False,
            "disabled": False,
            "likes": r.likes,
            "downloads": r.downloads,
            "tags": r.meta_tags,
            "createdAt": iso(r.created),
            "lastModified": iso(r.commits[r.branches["main"]]["at"]),
            "sha": r.branches["main"],
        }
        if r.repo_type == "model":
            d["modelId"] = r.repo_id
        if r.repo_type == "space":
            d["sdk"] = r.sdk
        return d

    def _info(self, rec: RecordedRequest, type: str, repo: str, rev: str = "main") -> Response:
        r = self._get_repo(rec, type, repo)
        sha = r.resolve(rev)
        d = self._summary(r)
        d.update(sha=sha, siblings=[{"rfilename": p} for p in sorted(r.commits[sha]["files"])])
        if type == "model" and r.safetensors:
            d["safetensors"] = {"parameters": dict(r.safetensors), "total": sum(r.safetensors.values())}
        if type == "space":
            d["runtime"] = self._runtime_json(r)
        return JSONResponse(d)

    def _list_repos(self, rec: RecordedRequest, type: str) -> Response:
        user = self.user_for(rec)
        mine = {user["name"], *(o["name"] for o in user["orgs"])} if user else set()
        filters = [v for k, v in rec.query_list if k == "filter"]
        search, author = rec.query.get("search"), rec.query.get("author")
        out = []
        for r in list(self.repos.values()):
            if r.repo_type != type or (r.private and r.author not in mine):
                continue
            if any(f not in r.meta_tags for f in filters):
                continue
            if search and search.lower() not in r.repo_id.lower():
                continue
            if author and r.author != author:
                continue
            out.append(self._summary(r))
        if rec.query.get("sort") in ("downloads", "likes"):
            out.sort(key=lambda d: -d[rec.query["sort"]])
        if rec.query.get("limit"):
            out = out[: int(rec.query["limit"])]
        return JSONResponse(out)

    def _preupload(self, rec: RecordedRequest, type: str, repo: str, rev: str) -> Response:
        r = self._get_repo(rec, type, repo, write=True)
        files = r.files(rev) if rev in r.branches or rev in r.commits else {}
        body = json_body(rec) or {}
        return JSONResponse(
            {
                "files": [
                    {
                        "path": f["path"],
                        "uploadMode": "regular",
                        "shouldIgnore": False,
                        "oid": git_blob_sha1(files[f["path"]]) if f["path"] in files else None,
                    }
                    for f in body.get("files", [])
                ],
                "commitOid": r.branches.get(rev),
            }
        )

    def _commit(self, rec: RecordedRequest, type: str, repo: str, rev: str) -> Response:
        r = self._get_repo(rec, type, repo, write=True)
        items = [json.loads(line) for line in rec.body.splitlines() if line.strip()]
        header = next((i["value"] for i in items if i["key"] == "header"), {})
        create_pr = rec.query.get("create_pr") in ("1", "true", "True")
        with self.lock:
            base = r.resolve(rev)
            if rev not in r.branches and not create_pr:
                raise HTTPError(400, f"Cannot commit to {rev}: not a branch", {"X-Error-Code": "RevisionNotFound"})
            if header.get("parentCommit") and header["parentCommit"] != base:
                raise HTTPError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(r.commits[base]["files"])
            for it in items:
                k, v = it["key"], it["value"]
                if k == "file":
                    files[v["path"]] = (
                        base64.b64decode(v["content"]) if v.get("encoding") == "base64" else v["content"].encode()
                    )
                elif k == "deletedFile":
                    if v["path"] not in files:
                        raise HTTPError(404, "A file with this name doesn't exist", {"X-Error-Code": "EntryNotFound"})
                    del files[v["path"]]
                elif k == "deletedFolder":
                    prefix = v["path"].rstrip("/") + "/"
                    files = {p: c for p, c in files.items() if not p.startswith(prefix)}
                elif k == "lfsFile":
                    raise HTTPError(400, "LFS files are not supported by the fake Hub")
            sha = r.commit(base, files, header.get("summary", ""))
            out = {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self._repo_url(r)}/commit/{sha}",
                "hookOutput": "",
            }
            if create_pr:
                d = self._new_discussion(r, rec, header.get("summary", "PR"), header.get("description", ""), True)
                r.branches[f"refs/pr/{d['num']}"] = sha
                out["pullRequestUrl"] = f"{self._repo_url(r)}/discussions/{d['num']}"
            else:
                r.branches[rev] = sha
        return JSONResponse(out)

    def _tree(self, rec: RecordedRequest, type: str, repo: str, rev: str, path: str | None = None) -> Response:
        r = self._get_repo(rec, type, repo)
        files = r.files(rev)
        prefix = (path.strip("/") + "/") if path else ""
        recursive = rec.query.get("recursive", "").lower() in ("1", "true")
        entries: dict[str, dict] = {}
        for p, content in sorted(files.items()):
            if not p.startswith(prefix):
                continue
            rest = p[len(prefix) :].split("/")
            for i in range(len(rest) - 1 if recursive else min(1, len(rest) - 1)):
                folder = prefix + "/".join(rest[: i + 1])
                entries.setdefault(
                    folder, {"type": "directory", "oid": git_blob_sha1(folder.encode()), "size": 0, "path": folder}
                )
            if recursive or len(rest) == 1:
                entries[p] = {"type": "file", "oid": git_blob_sha1(content), "size": len(content), "path": p}
        if path and not entries:
            raise HTTPError(404, f"Entry not found: {path}", {"X-Error-Code": "EntryNotFound"})
        return JSONResponse(list(entries.values()))

    def _resolve(self, rec: RecordedRequest, repo: str, rev: str, path: str, type: str = "model") -> Response:
        r = self._get_repo(rec, type, repo)
        sha = r.resolve(rev)
        files = r.commits[sha]["files"]
        if path not in files:
            raise HTTPError(404, "Entry not found", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha})
        data = files[path]
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"ETag": f'"{git_blob_sha1(data)}"', "X-Repo-Commit": sha, "Accept-Ranges": "bytes"},
        )
