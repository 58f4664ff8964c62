"""Branches, tags and discussions / pull requests of FakeHub repos (mixed in through ``hub_repos.ReposMixin``;
routes are registered there, see its docstring).

* ``GET /api/{t}/{repo}/refs`` -> ``{"branches", "converts", "tags", "pullRequests"}`` (``name``, ``ref``,
  ``targetCommit``)
* ``POST /api/{t}/{repo}/branch/{name}`` (``{"startingPoint"}``; 409 if it exists), ``DELETE`` (404 if missing)
* ``POST /api/{t}/{repo}/tag/{rev}`` (``{"tag", "message"}``; 409 if it exists), ``DELETE /api/{t}/{repo}/tag/{tag}``
* ``GET /api/{t}/{repo}/discussions?p=&type=&status=`` -> ``{"discussions", "count", "start"}``;
  ``POST`` (``{"title", "description", "pullRequest"}``) -> ``{"num", ...}``; a PR gets ``refs/pr/{num}``.
* ``GET /api/{t}/{repo}/discussions/{num}`` -> details with ``events`` (one comment) and, for PRs, ``changes.base``.
  Pull requests opened through the API start as ``"draft"`` (as on the Hub); discussions as ``"open"``.
* ``POST /api/{t}/{repo}/discussions/{num}/comment`` (``{"comment"}``) -> ``{"newMessage": event}``;
  ``.../status`` (``{"status": "open"|"closed", "comment"?}``) -> ``{"newStatus": event}``;
  ``.../merge`` (``{"comment"?}``, write access; a draft or closed PR is refused with 400) -> 200, the PR becomes
  ``"merged"`` and ``main`` points at ``refs/pr/{num}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from ._hubutil import iso, object_id
from ._server import HTTPError, RecordedRequest, json_body

if TYPE_CHECKING:
    from .hub_repos import FakeRepo


class RefsMixin:
    def _refs(self, rec: RecordedRequest, type: str, repo: str) -> Response:
        r = self._get_repo(rec, type, repo)

        def refs(d, kind):
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": s} for n, s in d.items()]

        out = {
            "branches": refs({n: s for n, s in r.branches.items() if not n.startswith("refs/pr/")}, "heads"),
            "converts": [],
            "tags": refs(r.tags, "tags"),
            "pullRequests": [
                {"name": n.split("/")[-1], "ref": n, "targetCommit": s}
                for n, s in r.branches.items()
                if n.startswith("refs/pr/")
            ],
        }
        return JSONResponse(out)

    def _branch(self, rec: RecordedRequest, type: str, repo: str, name: str) -> Response:
        r = self._get_repo(rec, type, repo, write=True)
        with self.lock:
            if rec.method == "DELETE":
                if name not in r.branches:
                    raise HTTPError(404, f"Branch {name} not found", {"X-Error-Code": "RevisionNotFound"})
                if name == "main":
                    raise HTTPError(403, "Cannot delete the default branch")
                del r.branches[name]
                return Response(status_code=200)
            if name in r.branches:
                raise HTTPError(409, f"Reference already exists: refs/heads/{name}")
            start = (json_body(rec) or {}).get("startingPoint") or "main"
            r.branches[name] = r.resolve(start)
        return JSONResponse({})

    def _create_tag(self, rec: RecordedRequest, type: str, repo: str, rev: str) -> Response:
        r = self._get_repo(rec, type, repo, write=True)
        tag = (json_body(rec) or {})["tag"]
        with self.lock:
            if tag in r.tags:
                raise HTTPError(409, f"Tag {tag} already exists")
            r.tags[tag] = r.resolve(rev)
        return JSONResponse({})

    def _delete_tag(self, rec: RecordedRequest, type: str, repo: str, tag: str) -> Response:
        r = self._get_repo(rec, type, repo, write=True)
        if r.tags.pop(tag, None) is None:
            raise HTTPError(404, f"Tag {tag} not found", {"X-Error-Code": "RevisionNotFound"})
        return Response(status_code=200)

    def _new_discussion(self, r: FakeRepo, rec: RecordedRequest, title: str, description: str, is_pr: bool) -> dict:
        user = self.require_user(rec)
        d = {
            "num": len(r.discussions) + 1,
            "title": title,
            "status": "draft" if is_pr else "open",
            "isPullRequest": is_pr,
            "createdAt": iso(),
            "author": {"name": user["name"], "type": "user"},
            "repo": {"name": r.repo_id, "type": r.repo_type},
            "numComments": 1,
            "pinned": False,
            "events": [
                {
                    "id": object_id(),
                    "type": "comment",
                    "createdAt": iso(),
                    "author": {"name": user["name"]},
                    "data": {
                        "edited": False,
                        "hidden": False,
                        "numEdits": 0,
                        "latest": {"raw": description or "", "html": description or "", "updatedAt": iso()},
                    },
                }
            ],
        }
        if is_pr:
            d["changes"] = {"base": "refs/heads/main"}
            d["filesWithConflicts"] = []
            r.branches.setdefault(f"refs/pr/{d['num']}", r.branches["main"])
        r.discussions.append(d)
        return d

    def _discussions(self, rec: RecordedRequest, type: str, repo: str) -> Response:
        if rec.method == "POST":
            r = self._get_repo(rec, type, repo)
            body = json_body(rec) or {}
            with self.lock:
                d = self._new_discussion(
                    r, rec, body.get("title", ""), body.get("description") or "", bool(body.get("pullRequest"))
                )
            return JSONResponse({k: v for k, v in d.items() if k != "events"})
        r = self._get_repo(rec, type, repo)
        ds = r.discussions
        if rec.query.get("type") in ("discussion", "pull_request"):
            ds = [d for d in ds if d["isPullRequest"] == (rec.query["type"] == "pull_request")]
        if rec.query.get("status") in ("open", "closed"):
            ds = [d for d in ds if d["status"] == rec.query["status"]]
        page = int(rec.query.get("p", 0))
        chunk = ds[page * 50 : (page + 1) * 50]
        return JSONResponse(
            {
                "discussions": [{k: v for k, v in d.items() if k != "events"} for d in chunk],
                "count": len(ds),
                "start": page * 50,
                "numClosedDiscussions": 0,
            }
        )

    def _discussion(self, rec: RecordedRequest, type: str, repo: str, num: str) -> Response:
        r = self._get_repo(rec, type, repo)
        for d in r.discussions:
            if d["num"] == int(num):
                return JSONResponse(d)
        raise HTTPError(404, "Discussion not found")

    def _find_discussion(self, r: FakeRepo, num: str) -> dict:
        for d in r.discussions:
            if d["num"] == int(num):
                return d
        raise HTTPError(404, "Discussion not found")

    def _event(self, rec: RecordedRequest, kind: str, data: dict) -> dict:
        user = self.require_user(rec)
        return {"id": object_id(), "type": kind, "createdAt": iso(), "author": {"name": user["name"]}, "data": data}

    def _discussion_change(self, rec: RecordedRequest, type: str, repo: str, num: str, action: str) -> Response:
        body = json_body(rec) or {}
        with self.lock:
            r = self._get_repo(rec, type, repo, write=action != "comment")
            d = self._find_discussion(r, num)
            if action == "comment":
                if not str(body.get("comment") or "").strip():
                    raise HTTPError(400, "comment must not be empty")
                event = self._event(rec, "comment", {"edited": False, "hidden": False, "numEdits": 0, "latest": {
                    "raw": body["comment"], "html": body["comment"], "updatedAt": iso()}})
                d["events"].append(event)
                d["numComments"] += 1
                return JSONResponse({"newMessage": event})
            if action == "status":
                if body.get("status") not in ("open", "closed"):
                    raise HTTPError(400, "status must be open or closed")
                d["status"] = body["status"]
                event = self._event(rec, "status-change", {"status": body["status"]})
                d["events"].append(event)
                return JSONResponse({"newStatus": event})
            if not d["isPullRequest"] or d["status"] != "open":
                raise HTTPError(400, f"This pull request is {d['status']} and cannot be merged; publish it first")
            r.branches["main"] = r.branches[f"refs/pr/{d['num']}"]
            d["status"] = "merged"
            d["changes"]["mergeCommitId"] = r.branches["main"]
            d["events"].append(self._event(rec, "status-change", {"status": "merged"}))
            return Response(status_code=200)
