"""Spaces part of FakeHub (used for the GPU sandbox; mixed in through ``hub_repos.ReposMixin``).

Create the Space with ``POST /api/repos/create`` (``type: "space"``, ``sdk``, ``hardware``, ``secrets``,
``sleepTimeSeconds`` are recorded), then:

* ``POST /api/spaces/{repo}/hardware`` ``{"flavor", "sleepTimeSeconds"}`` -> runtime JSON      spaces.hardware
* ``GET /api/spaces/{repo}/runtime`` -> ``{"stage", "hardware": {"current", "requested"}, "gcTimeout",
  "storage", "devMode", "domains", "sdk"}``; stage is BUILDING for ``FakeHub(space_start_delay=s)`` seconds
  after creation / a hardware change, then RUNNING (PAUSED after pause)                      spaces.runtime
* ``POST|DELETE|GET /api/spaces/{repo}/secrets`` (``{"key", "value", "description"}``)          spaces.secrets
* ``POST|DELETE|GET /api/spaces/{repo}/variables``                                            spaces.variables
* ``POST /api/spaces/{repo}/restart|pause``                                                   spaces.action

State: ``hub.repo(repo_id, "space").space`` = ``{"hardware", "requested", "since", "secrets": {key: value},
"variables", "sleep", "stage"}`` (secret values are kept so tests can check what was injected).
"""

from __future__ import annotations

import time

from starlette.responses import JSONResponse, Response

from ._hubutil import iso
from ._server import HTTPError, RecordedRequest, json_body

REPO = r"(?P<repo>[^/]+(?:/[^/]+)?)"


class SpacesMixin:
    def _setup_spaces_routes(self) -> None:
        a = self.add
        a("POST", rf"/api/spaces/{REPO}/hardware", self._space_hardware, "spaces.hardware")
        a("GET", rf"/api/spaces/{REPO}/runtime", self._space_runtime, "spaces.runtime")
        a("POST|DELETE|GET", rf"/api/spaces/{REPO}/secrets", self._space_secrets, "spaces.secrets")
        a("POST|DELETE|GET", rf"/api/spaces/{REPO}/variables", self._space_variables, "spaces.variables")
        a("POST", rf"/api/spaces/{REPO}/(?P<action>restart|pause)", self._space_action, "spaces.action")

    def _runtime_json(self, r) -> dict:
        s = r.space
        stage = s.get("stage") or ("RUNNING" if time.time() >= s["since"] + self.space_start_delay else "BUILDING")
        return {
            "stage": stage,
            "hardware": {"current": s["hardware"] if stage == "RUNNING" else None, "requested": s["requested"]},
            "gcTimeout": s.get("sleep"),
            "storage": None,
            "devMode": False,
            "resources": None,
            "domains": [{"domain": f"{r.repo_id.replace('/', '-')}.hf.space", "stage": "READY"}],
            "sdk": r.sdk,
        }

    def _space_hardware(self, rec: RecordedRequest, repo: str) -> Response:
        r = self._get_repo(rec, "space", repo, write=True)
        body = json_body(rec) or {}
        flavor = body.get("flavor")
        if flavor not in {h["name"] for h in self.hardware}:
            raise HTTPError(400, f"Invalid hardware flavor '{flavor}'")
        r.space.update(requested=flavor, hardware=flavor, since=time.time())
        if "sleepTimeSeconds" in body:
            r.space["sleep"] = body["sleepTimeSeconds"]
        return JSONResponse(self._runtime_json(r))

    def _space_runtime(self, rec: RecordedRequest, repo: str) -> Response:
        return JSONResponse(self._runtime_json(self._get_repo(rec, "space", repo)))

    def _space_kv(self, rec: RecordedRequest, repo: str, kind: str) -> Response:
        r = self._get_repo(rec, "space", repo, write=True)
        store = r.space[kind]
        if rec.method == "GET":
            return JSONResponse(
                {
                    k: {"key": k, "updatedAt": iso(), **({} if kind == "secrets" else {"value": v})}
                    for k, v in store.items()
                }
            )
        body = json_body(rec) or {}
        if rec.method == "DELETE":
            store.pop(body.get("key"), None)
        else:
            store[body["key"]] = body.get("value")
        return Response(status_code=200)

    def _space_secrets(self, rec: RecordedRequest, repo: str) -> Response:
        return self._space_kv(rec, repo, "secrets")

    def _space_variables(self, rec: RecordedRequest, repo: str) -> Response:
        return self._space_kv(rec, repo, "variables")

    def _space_action(self, rec: RecordedRequest, repo: str, action: str) -> Response:
        r = self._get_repo(rec, "space", repo, write=True)
        if action == "pause":
            r.space["stage"] = "PAUSED"
        else:
            r.space.update(stage=None, since=time.time())
        return JSONResponse(self._runtime_json(r))
