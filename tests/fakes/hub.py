"""FakeHub: a loopback Hugging Face Hub for ``huggingface_hub`` 2.4's ``HfApi(endpoint=hub.url)``.

Use::

    with FakeHub() as hub:
        api = HfApi(endpoint=hub.url, token=hub.token)
        api.whoami()["name"]            # "fake-user"

Users and tokens: ``hub.token`` (default ``DEFAULT_TOKEN``) belongs to ``hub.user`` ("fake-user", member of
"fake-org"). ``hub.add_user(token, name, orgs=[...])`` adds more. An unknown bearer token gets 401 on every
``/api`` route (like the Hub); a missing token gets 401 where the Hub requires auth (whoami, jobs, writes,
private repos).

Feature areas (each in its own module, mixed into FakeHub):

* jobs, scheduled jobs, hardware: ``hub_jobs.py`` (job log scripts, ``hub.next_job(...)``)
* repos, commits, files, refs, discussions, Spaces runtime/hardware/secrets: ``hub_repos.py``
* dataset viewer, papers, arXiv HTML, collections: ``hub_content.py``
* docs index, docs pages (sidebar, ``.md``), the OpenAPI document: ``hub_docs.py``

Errors follow the Hub: JSON ``{"error": message}`` plus ``X-Error-Message`` (and ``X-Error-Code`` for
RepoNotFound / RevisionNotFound / EntryNotFound). ``hub.fail(route_or_glob, status, times=, body=, headers=,
retry_after=)`` injects failures; 429 carries ``RateLimit``/``RateLimit-Policy`` headers (``retry_after=`` adds
``Retry-After``); 402 carries the billing message.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ._hubutil import iso, object_id
from ._server import DEFAULT_ERROR_MESSAGES, FakeServer, HTTPError, RecordedRequest
from .hub_content import ContentMixin
from .hub_docs import DocsMixin
from .hub_jobs import JobsMixin
from .hub_repos import ReposMixin

DEFAULT_TOKEN = "hf_fake_0123456789abcdefghijklmnopqrstuv"
DEFAULT_USER = "fake-user"
DEFAULT_ORG = "fake-org"


class FakeHub(JobsMixin, ReposMixin, ContentMixin, DocsMixin, FakeServer):
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        user: str = DEFAULT_USER,
        orgs: tuple[str, ...] | list[str] = (DEFAULT_ORG,),
        log_line_delay: float = 0.02,
        space_start_delay: float = 0.0,
        seed: bool = True,
    ) -> None:
        self.token = token
        self.user = user
        self.users: dict[str, dict[str, Any]] = {}
        self.add_user(token, user, orgs=list(orgs))
        self._init_jobs(log_line_delay=log_line_delay)
        self._init_repos(space_start_delay=space_start_delay)
        self._init_content(seed=seed)
        super().__init__()

    # --- users / auth ----------------------------------------------------
    def add_user(
        self, token: str, name: str, *, orgs: list[str] | None = None, can_pay: bool = True, role: str = "write"
    ) -> dict[str, Any]:
        u = {
            "type": "user",
            "id": object_id(),
            "name": name,
            "fullname": name.replace("-", " ").title(),
            "email": f"{name}@example.com",
            "emailVerified": True,
            "canPay": can_pay,
            "isPro": False,
            "periodEnd": None,
            "avatarUrl": f"/avatars/{name}.svg",
            "orgs": [
                {
                    "type": "org",
                    "id": object_id(),
                    "name": o,
                    "fullname": o.replace("-", " ").title(),
                    "email": None,
                    "canPay": can_pay,
                    "periodEnd": None,
                    "avatarUrl": f"/avatars/{o}.svg",
                    "roleInOrg": "admin",
                    "isEnterprise": False,
                }
                for o in (orgs or [])
            ],
            "auth": {"type": "access_token", "accessToken": {"displayName": "fake", "role": role, "createdAt": iso()}},
        }
        self.users[token] = u
        return u

    def user_for(self, rec: RecordedRequest) -> dict[str, Any] | None:
        """User of the request's bearer token; None without one; 401 for an unknown token."""
        auth = rec.headers.get("authorization")
        if not auth:
            return None
        tok = auth.split(" ", 1)[1].strip() if " " in auth else auth
        u = self.users.get(tok)
        if u is None:
            raise HTTPError(401, "Invalid credentials in Authorization header")
        return u

    def before_request(self, rec: RecordedRequest) -> None:
        # Like the Hub: an unknown bearer token is refused on every route, even public ones.
        self.user_for(rec)

    def require_user(self, rec: RecordedRequest) -> dict[str, Any]:
        u = self.user_for(rec)
        if u is None:
            raise HTTPError(401, "Invalid credentials in Authorization header")
        return u

    def owner_for(self, rec: RecordedRequest, namespace: str) -> dict[str, str]:
        """JobOwner-like dict for a namespace the caller may act in; 403 otherwise."""
        u = self.require_user(rec)
        if namespace == u["name"]:
            return {"id": u["id"], "name": u["name"], "type": "user"}
        for o in u["orgs"]:
            if o["name"] == namespace:
                return {"id": o["id"], "name": o["name"], "type": "org"}
        raise HTTPError(403, f"You don't have the rights to act in namespace '{namespace}'")

    # --- errors ----------------------------------------------------------
    def error_response(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        msg = message or DEFAULT_ERROR_MESSAGES.get(status, "Error")
        h = {"X-Error-Message": msg}
        if status == 429:
            h["RateLimit"] = '"api";r=0;t=60'
            h["RateLimit-Policy"] = '"fixed window";"api";q=500;w=300'
        h.update(headers or {})
        return JSONResponse({"error": msg}, status_code=status, headers=h)

    def _setup_routes(self) -> None:
        self.add("GET", r"/api/whoami-v2", self._whoami, "whoami")
        self.add(
            "POST", r"/api/validate-yaml", lambda rec: JSONResponse({"errors": [], "warnings": []}), "validate_yaml"
        )
        self._setup_jobs_routes()
        self._setup_repos_routes()
        self._setup_content_routes()

    def _whoami(self, rec: RecordedRequest) -> Response:
        return JSONResponse(self.require_user(rec))
