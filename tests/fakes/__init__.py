"""Loopback fakes of the services mlintern_jupyter talks to (HF Hub, GitHub, a web search page, Slack).

Each is a real HTTP server on 127.0.0.1 (ephemeral port) in a background thread; use as a context manager
or through the pytest fixtures in ``tests.fakes.fixtures``.
"""

from ._server import DropConnection, Failure, HTTPError, RecordedRequest, RequestLog
from .github import FakeGitHub
from .hub import DEFAULT_ORG, DEFAULT_TOKEN, DEFAULT_USER, FakeHub
from .hub_jobs import HARDWARE, JobScript
from .search import FakeSearch
from .slack import FakeSlack

__all__ = [
    "DEFAULT_ORG",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "HARDWARE",
    "DropConnection",
    "Failure",
    "FakeGitHub",
    "FakeHub",
    "FakeSearch",
    "FakeSlack",
    "HTTPError",
    "JobScript",
    "RecordedRequest",
    "RequestLog",
]
