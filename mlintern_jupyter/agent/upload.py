"""Trace upload: the redacted Claude Code JSONL of a session to the user's private HF dataset.

The trace lands at ``sessions/YYYY-MM-DD/<session_id>.jsonl`` of ``{hf_user}/ml-intern-sessions`` (template
configurable), overwritten on every upload, so uploading twice is harmless. Uploads run on one background
thread per uploader: `schedule()` (called at the end of every turn) debounces, failures stay pending and retry
with backoff, and nothing here ever blocks the kernel. ml-intern uploaded after every turn, in the foreground.

Mode ``private`` (default) refuses to write into a repo that turns out to be public; only ``public`` (a choice
the person made with ``%intern traces public``) may. ``off`` uploads nothing by itself; an explicit
``upload_now()`` (``%intern upload``) still uploads, privately. The HF token goes to ``HfApi`` and nowhere else.
Uploads at the end of a turn start only after this machine's yes to a card naming the private dataset, asked
once (upload_consent.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from . import events as ev
from .redact import RedactionError
from .trace import write_trace
from .trace_repo import TraceUploadError, TraceUploadRefused, commit_trace
from .upload_consent import CONSENT_CALL, TraceConsent, consent_action, consent_reason, read_json_object

TraceMode = Literal["private", "public", "off"]
MODES: tuple[str, ...] = ("private", "public", "off")
DEFAULT_REPO_TEMPLATE = "{hf_user}/ml-intern-sessions"
# A turn's last events and a follow-up prompt often come seconds apart: upload once for both.
DEFAULT_DEBOUNCE_S = 5.0
# A session that keeps ending turns still uploads at least this often.
MAX_DEBOUNCE_S = 60.0
DEFAULT_BACKOFF_S: tuple[float, ...] = (5.0, 15.0, 60.0, 300.0, 900.0)
STATE_FILE = "upload_state.json"


class TraceUploader:
    """Uploads one session's trace. `api` is an `HfApi` (its endpoint and token decide where it goes);
    without one, an `HfApi(endpoint=endpoint, token=token or the HF token from env / token file)` is built."""

    def __init__(
        self,
        session: Any,
        *,
        mode: TraceMode = "private",
        api: Any = None,
        endpoint: str | None = None,
        token: str | None = None,
        repo_template: str | None = None,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        max_debounce_s: float = MAX_DEBOUNCE_S,
        backoff_s: Sequence[float] = DEFAULT_BACKOFF_S,
        on_turn_end: bool = True,
        consent: TraceConsent | None = None,
    ) -> None:
        self.session = session
        # This machine's answer to the first-upload card; automatic uploads wait for a yes.
        self.consent = consent or TraceConsent.for_session(session)
        self._asked_consent = False
        self.mode: TraceMode = _check_mode(mode)
        self._api = api
        self._endpoint = endpoint
        self._token = token
        self.repo_template = repo_template or os.environ.get("MLINTERN_TRACES_REPO") or DEFAULT_REPO_TEMPLATE
        self.debounce_s = debounce_s
        self.max_debounce_s = max_debounce_s
        self.backoff_s = tuple(backoff_s) or DEFAULT_BACKOFF_S
        self.state_path = Path(session.dir) / STATE_FILE
        self.trace_path = Path(session.dir) / "trace.jsonl"
        self._cond = threading.Condition()
        # Held for the whole of an upload, so the worker and upload_now never upload at once.
        self._upload_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._due: float | None = None
        self._first_scheduled: float | None = None
        self.generation = 0  # bumped by schedule(); an upload clears `pending` only if none came in meanwhile
        self.failures = 0
        self.pending = bool(self._load_state().get("pending"))
        self.last_error: str | None = None
        self.last_uri: str | None = None
        self.uploads = 0
        self._hf_user: str | None = None
        # Why the last upload was refused for good (public repo, no token); cleared by set_mode().
        self.refused: str | None = None
        self._unsubscribe = session.subscribe(self._on_event) if on_turn_end else None

    # ---- public API -------------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        self.mode = _check_mode(mode)
        self.refused = None  # a new choice deserves a new try
        if self.mode == "off":
            with self._cond:
                self._due = None
                self._cond.notify_all()

    def schedule(self, delay: float | None = None) -> None:
        """Upload in the background after `delay` (default: the debounce) unless more calls push it back."""
        if self.mode == "off" or self._closed:
            return
        if self.refused is not None or not self._has_token():
            # Retrying a refusal (public repo, no token) every turn would only repeat the same warning.
            self.pending = True
            return
        answer = self.consent.answer(self.repo_template)
        if answer is not True:
            self.pending = True
            if answer is None:
                self._ask_consent()
            return
        now = time.monotonic()
        with self._cond:
            self.generation += 1
            self.pending = True
            self.failures = 0
            self._first_scheduled = self._first_scheduled or now
            due = now + (self.debounce_s if delay is None else delay)
            # Trailing debounce, but never later than max_debounce_s after the first unsent schedule.
            self._due = min(due, self._first_scheduled + self.max_debounce_s)
            self._ensure_thread()
            self._cond.notify_all()
        self._save_state()

    def upload_now(self) -> str:
        """Upload in the caller's thread and return where the trace went: ``hf://datasets/<repo>/<path>``.
        Raises TraceUploadError (or RedactionError) with a message that is safe to show."""
        with self._cond:
            generation = self.generation
        return self._upload(generation, mode="private" if self.mode == "off" else self.mode)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is pending or the uploader gave up for now; True if all was uploaded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.pending and self._due is not None and time.monotonic() < deadline:
                self._cond.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            return not self.pending

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def repo_id(self) -> str:
        return self.repo_template.format(hf_user=self._user())

    def path_in_repo(self) -> str:
        started = next((e for e in self.session.events if isinstance(e, ev.SessionStarted)), None)
        stamp = (started.ts if started is not None and started.ts else ev.now_iso())[:10]
        return f"sessions/{stamp}/{self.session.id}.jsonl"

    # ---- background worker --------------------------------------------------------------------------

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.ApprovalResolved) and event.call_id == CONSENT_CALL:
            self._consent_answered(event)
        elif isinstance(event, ev.TurnEnded | ev.SessionEnded):
            self.schedule()

    # ---- the first upload of a machine asks once ---------------------------------------------------

    def _ask_consent(self) -> None:
        """Ask once per session, off the caller's thread (naming the dataset needs the Hub's whoami)."""
        if self._asked_consent or self._closed:
            return
        self._asked_consent = True

        def ask() -> None:
            try:
                repo_id = self.repo_id
                self.session.request_approval(CONSENT_CALL, "trace_upload", consent_action(repo_id, self.path_in_repo()),
                                              0.0, consent_reason(repo_id))
            except Exception as exc:  # noqa: BLE001 - told as a notice; nothing is uploaded without the answer
                self._record_failure(exc)

        threading.Thread(target=ask, name=f"mlintern-upload-consent-{self.session.id}", daemon=True).start()

    def _consent_answered(self, event: ev.ApprovalResolved) -> None:
        """A person's yes or no is kept for this machine; an expired or superseded card asks again next session."""
        record = self.session.approvals.records.get(event.nonce)
        repo_id = record.spec.target if record is not None else ""
        if event.decision == "approved":
            self.consent.record(self.repo_template, True, repo_id)
            self.schedule(0.0)
        elif event.decision == "denied" and event.by == "person":
            self.consent.record(self.repo_template, False, repo_id)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._worker, name=f"mlintern-upload-{self.session.id}",
                                            daemon=True)
            self._thread.start()

    def _worker(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (self._due is None or time.monotonic() < self._due):
                    self._cond.wait(None if self._due is None else max(0.0, self._due - time.monotonic()))
                if self._closed:
                    return
                generation = self.generation
                mode = self.mode
            if mode == "off":
                with self._cond:
                    self._due = None
                continue
            try:
                self._upload(generation, mode=mode)
            except TraceUploadRefused:
                with self._cond:
                    self._due = None  # permanent: wait for the next schedule() or upload_now()
                    self._cond.notify_all()
            except Exception:  # noqa: BLE001 - the failure is recorded by _upload; retry with backoff
                with self._cond:
                    if self.generation == generation:
                        if self.failures > len(self.backoff_s):
                            self._due = None  # gave up for now; still pending, the next turn retries
                        else:
                            self._due = time.monotonic() + self.backoff_s[min(self.failures, len(self.backoff_s)) - 1]
                    self._cond.notify_all()

    # ---- one upload -------------------------------------------------------------------------------

    def _upload(self, generation: int, *, mode: str) -> str:
        with self._upload_lock:
            try:
                uri = self._upload_once(mode)
            except BaseException as exc:
                self._record_failure(exc)
                raise
            with self._cond:
                self.uploads += 1
                self.last_uri, self.last_error, self.refused = uri, None, None
                if self.generation == generation:
                    self.pending, self.failures = False, 0
                    self._due, self._first_scheduled = None, None
                # Saved before waiters wake, so whoever flush()ed sees the file agree.
                self._save_state()
                self._cond.notify_all()
            return uri

    def _upload_once(self, mode: str) -> str:
        events = list(self.session.events)
        model = getattr(getattr(self.session, "model", None), "name", None)
        # Redacted and written atomically first: a redaction failure raises here and nothing is uploaded.
        write_trace(events, self.trace_path, self.session.redactor, session_id=self.session.id, model=model)
        repo_id = self.repo_id
        commit_trace(self._client(), repo_id, self.trace_path, self.path_in_repo(), self.session.id,
                     public=mode == "public")
        return f"hf://datasets/{repo_id}/{self.path_in_repo()}"

    def _has_token(self) -> bool:
        if self._api is not None or self._token:
            return True
        from huggingface_hub import get_token

        return bool(get_token())

    def _client(self) -> Any:
        if self._api is None:
            from huggingface_hub import HfApi, get_token

            token = self._token or get_token()
            if not token:
                raise TraceUploadRefused("no Hugging Face token: set HF_TOKEN or run `hf auth login` to upload traces")
            self._api = HfApi(endpoint=self._endpoint, token=token)
        return self._api

    def _user(self) -> str:
        if self._hf_user is None:
            if "{hf_user}" not in self.repo_template:
                return ""
            self._hf_user = str(self._client().whoami()["name"])
        return self._hf_user

    def _record_failure(self, exc: BaseException) -> None:
        message = self._safe_message(exc)
        with self._cond:
            self.failures += 1
            first = self.failures == 1 or isinstance(exc, TraceUploadRefused | RedactionError)
            self.last_error = message
            if isinstance(exc, TraceUploadRefused):
                self.refused = message
            self._save_state()
        if first:
            # Told once per failure streak; the retries are silent.
            # A notice that cannot be written must not hide the failure itself.
            with contextlib.suppress(Exception):
                self.session.emit(ev.Notice(message=f"trace upload failed: {message}", level="warning"))

    def _safe_message(self, exc: BaseException) -> str:
        if isinstance(exc, RedactionError):
            return "the redactor failed, so nothing was uploaded"
        text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, TraceUploadError) else str(exc)
        try:
            return self.session.redactor.redact(text[:500])
        except Exception:  # noqa: BLE001 - fail closed: say only what kind of error it was
            return type(exc).__name__

    # ---- state file: lets a resumed session see an upload still pending --------------------------

    def _load_state(self) -> dict[str, Any]:
        return read_json_object(self.state_path)

    def _save_state(self) -> None:
        # Snapshot and write under one lock: two writers (kernel thread, worker) must not interleave.
        with self._state_lock:
            state = {"pending": self.pending, "last_uri": self.last_uri, "last_error": self.last_error,
                     "uploads": self.uploads, "ts": ev.now_iso()}
            tmp = self.state_path.with_suffix(".tmp")
            try:
                tmp.write_text(json.dumps(state))
                os.replace(tmp, self.state_path)
            except OSError:
                pass  # the state file is a convenience; the upload itself already succeeded or failed


def uploader_for(session: Any, **kwargs: Any) -> TraceUploader:
    """The session's uploader, kept in `session.services.trace_uploader`; created on first use, in the trace
    mode the session's log records (private unless the person chose otherwise)."""
    uploader = session.services.trace_uploader
    if not isinstance(uploader, TraceUploader):
        uploader = TraceUploader(session, mode=session.state.trace_mode, **kwargs)
        session.services.trace_uploader = uploader
    return uploader


def set_traces(session: Any, mode: str | None) -> str:
    """`%intern traces [private|public|off]`: change (recorded as an event) or show the mode."""
    if mode is not None and mode not in MODES:
        return f"Unknown trace mode {mode!r}: use private, public or off."
    uploader = uploader_for(session)
    if mode is not None and mode != session.state.trace_mode:
        session.set_trace_mode(mode)
    if mode in ("private", "public"):
        uploader.consent.record(uploader.repo_template, True)  # choosing where traces go is this machine's yes
    uploader.set_mode(session.state.trace_mode)
    where = {"private": "to your private dataset", "public": "to a PUBLIC dataset",
             "off": "nowhere (%intern upload still uploads privately)"}[uploader.mode]
    return f"Traces: {uploader.mode}: uploaded at the end of each turn {where}."


def upload_session(session: Any) -> str:
    """`%intern upload`: upload now; returns a line for the person (never the token)."""
    uploader = uploader_for(session)
    try:
        return f"Uploaded the trace to {uploader.upload_now()}"
    except RedactionError:
        return "Not uploaded: the redactor failed, so nothing left this machine."
    except Exception as exc:  # noqa: BLE001 - shown to the person, already redacted
        return f"Not uploaded: {uploader.last_error or type(exc).__name__}"


def _check_mode(mode: str) -> TraceMode:
    if mode not in MODES:
        raise ValueError(f"trace mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode  # type: ignore[return-value]
