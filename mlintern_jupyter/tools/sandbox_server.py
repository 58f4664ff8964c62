"""The sandbox's small HTTP server: runs inside the GPU Space that `sandbox_create` starts (stdlib only).

    python sandbox_server.py [--host 0.0.0.0] [--port 7860] [--root /data/workspace]

Every request needs `Authorization: Bearer $SANDBOX_TOKEN` (a random secret set on the Space). Endpoints:
`GET /health`, `POST /exec {"command", "timeout"}` (bash in its own process group, killed on timeout, output
capped), `POST /read {"path"}`, `POST /write {"path", "content"}` (atomic; paths confined to the root).
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Variables the commands never see (the server's own bearer token, and any credential a Space was given):
# commands run what the model wrote. The one exception: HF_TOKEN when the Space was created with
# SANDBOX_SHARE_HF=1, which sandbox_create sets only when a person approved that (or opted in).
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH|COOKIE|DSN", re.IGNORECASE)
SHARED_WHEN_ALLOWED = "HF_TOKEN"
OUTPUT_CAP = 100_000
MAX_BODY = 20 << 20
MAX_TIMEOUT = 3_600


def _confined(root: Path, path: str) -> Path:
    target = (root / path).resolve()
    if not target.is_relative_to(root.resolve()):
        raise PermissionError(f"{path!r} is outside the sandbox root")
    return target


def run_command(command: str, root: Path, timeout: float) -> dict[str, Any]:
    proc = subprocess.Popen(["bash", "-c", command], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, env=clean_environment(os.environ))
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    text = out.decode("utf-8", "replace")
    if len(text) > OUTPUT_CAP:
        text = text[: OUTPUT_CAP // 2] + f"\n[... {len(text) - OUTPUT_CAP} characters cut ...]\n" + text[-OUTPUT_CAP // 2:]
    return {"exit_code": None if timed_out else proc.returncode, "timed_out": timed_out, "output": text}


def clean_environment(environ: Any) -> dict[str, str]:
    share = environ.get("SANDBOX_SHARE_HF") == "1"
    return {k: v for k, v in environ.items() if not SECRET_NAME.search(k) or (share and k == SHARED_WHEN_ALLOWED)}


def _drop_secrets_from_process(token: str) -> None:
    """Re-exec without secret variables (token passed on stdin): a command could otherwise read them from
    /proc/<server pid>/environ, which keeps the environment the process started with."""
    if set(clean_environment(os.environ)) == set(os.environ):
        return  # nothing to drop (also true after the re-exec, even with a shared HF_TOKEN)
    read_end, write_end = os.pipe()
    os.write(write_end, token.encode())
    os.close(write_end)
    os.dup2(read_end, 0)
    env = clean_environment(os.environ)
    env["MLINTERN_SANDBOX_STDIN"] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


def make_handler(root: Path, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the Space log is for the job
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorised(self) -> bool:
            given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if token and hmac.compare_digest(given, token):
                return True
            self._send(401, {"error": "missing or wrong bearer token"})
            return False

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path == "/health":
                self._send(200, {"ok": True, "root": str(root)})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            if not self._authorised():
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"error": "request too large"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/exec":
                    timeout = min(float(body.get("timeout") or 120), MAX_TIMEOUT)
                    self._send(200, run_command(str(body["command"]), root, timeout))
                elif self.path == "/read":
                    target = _confined(root, str(body["path"]))
                    data = target.read_bytes()[:OUTPUT_CAP]
                    if b"\x00" in data[:8192]:
                        self._send(200, {"binary": True, "size": target.stat().st_size})
                    else:
                        self._send(200, {"content": data.decode("utf-8", "replace"), "size": target.stat().st_size})
                elif self.path == "/write":
                    target = _confined(root, str(body["path"]))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    fd, tmp = tempfile.mkstemp(dir=target.parent)
                    with os.fdopen(fd, "w", encoding="utf-8") as handle:
                        handle.write(str(body["content"]))
                    os.replace(tmp, target)
                    self._send(200, {"ok": True, "bytes": len(str(body["content"]).encode())})
                else:
                    self._send(404, {"error": "not found"})
            except PermissionError as exc:
                self._send(403, {"error": str(exc)})
            except FileNotFoundError as exc:
                self._send(404, {"error": f"no such file: {exc.filename}"})
            except (KeyError, ValueError) as exc:
                self._send(400, {"error": f"bad request: {exc}"})

    return Handler


def serve(host: str, port: int, root: Path, token: str) -> ThreadingHTTPServer:
    root.mkdir(parents=True, exist_ok=True)
    return ThreadingHTTPServer((host, port), make_handler(root, token))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "7860")))
    parser.add_argument("--root", default=os.environ.get("SANDBOX_ROOT", "/tmp/workspace"))
    args = parser.parse_args(argv)
    token = sys.stdin.read().strip() if os.environ.get("MLINTERN_SANDBOX_STDIN") else os.environ.get(
        "SANDBOX_TOKEN", "")
    if token:
        _drop_secrets_from_process(token)
    if not token:
        raise SystemExit("SANDBOX_TOKEN is not set: refusing to serve without authentication")
    server = serve(args.host, args.port, Path(args.root), token)
    print(f"sandbox server on {args.host}:{server.server_address[1]}, root {args.root}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
