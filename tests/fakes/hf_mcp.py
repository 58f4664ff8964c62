"""FakeHfMcp: a loopback stand-in for the Hugging Face MCP server (``https://huggingface.co/mcp``), a real fastmcp
server over streamable HTTP at ``{url}/mcp``, with tools named and annotated like the real one's: read-only
searches (``readOnlyHint: true``: ``hf_doc_search``, ``space_search``) and a tool that runs a Space
(``dynamic_space``, ``readOnlyHint: false``). ``fake.authorizations`` records the Authorization header of every
HTTP request, so a test sees exactly which credential reached the server.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class FakeHfMcp:
    def __init__(self) -> None:
        from fastmcp import FastMCP

        self.authorizations: list[str | None] = []
        mcp = FastMCP("hf-mcp-server")

        @mcp.tool(annotations={"title": "Hugging Face Documentation Search", "readOnlyHint": True,
                               "destructiveHint": False, "openWorldHint": True})
        def hf_doc_search(query: str, product: str | None = None) -> str:
            """Search Hugging Face documentation."""
            return f"docs about {query} in {product or 'all products'}"

        @mcp.tool(annotations={"title": "Space Search", "readOnlyHint": True, "openWorldHint": True})
        def space_search(query: str, limit: int = 5) -> str:
            """Find Spaces."""
            return f"{limit} spaces about {query}"

        @mcp.tool(annotations={"title": "Run a Space", "readOnlyHint": False, "openWorldHint": True})
        def dynamic_space(space_name: str, parameters: str = "{}") -> str:
            """Run a Gradio Space with parameters."""
            return f"ran {space_name}"

        inner = mcp.http_app(path="/mcp")

        async def app(scope, receive, send):  # record credentials, then hand over to fastmcp
            if scope["type"] == "http":
                headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
                self.authorizations.append(headers.get("authorization"))
            await inner(scope, receive, send)

        self.app = app
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeHfMcp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="critical", access_log=False, lifespan="on", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("FakeHfMcp failed to start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
