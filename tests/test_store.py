"""The append-only log: fsync'd lines, a torn tail detected and reported, never raised."""

import json
import os

from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.agent.store import EventStore, read_events


def test_append_and_read_back(tmp_path) -> None:
    store = EventStore(tmp_path / "events.jsonl")
    for seq in range(1, 4):
        store.append(ev.Notice(message=f"n{seq}", seq=seq).to_dict())
    store.append(ev.AssistantDelta(text="streamed only").to_dict())
    store.close()
    result = read_events(tmp_path / "events.jsonl")
    assert [e.message for e in result.events] == ["n1", "n2", "n3"]  # type: ignore[union-attr]
    assert result.torn_tail is None and result.bad_lines == []


def test_torn_tail_is_reported_and_cut_before_appending(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    good = json.dumps(ev.Notice(message="ok", seq=1).to_dict())
    path.write_text(good + "\n" + '{"kind": "notice", "mess')
    result = read_events(path)
    assert len(result.events) == 1 and result.torn_tail == '{"kind": "notice", "mess'
    store = EventStore(path)
    assert store.torn_tail == '{"kind": "notice", "mess'
    store.append(ev.Notice(message="after", seq=2).to_dict())
    store.close()
    again = read_events(path)
    assert [e.message for e in again.events] == ["ok", "after"]  # type: ignore[union-attr]
    assert again.torn_tail is None
    assert (tmp_path / "events.torn").read_text() == '{"kind": "notice", "mess'


def test_corrupt_middle_line_is_skipped_not_raised(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(ev.Notice(message="a").to_dict()), "garbage", json.dumps(ev.Notice(message="b").to_dict())]
    path.write_text("\n".join(lines) + "\n")
    result = read_events(path)
    assert [e.message for e in result.events] == ["a", "b"]  # type: ignore[union-attr]
    assert result.bad_lines and result.bad_lines[0][0] == 2


def test_missing_file_is_empty(tmp_path) -> None:
    assert read_events(tmp_path / "none.jsonl").events == []


def test_writes_are_fsynced(tmp_path, monkeypatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    store = EventStore(tmp_path / "events.jsonl")
    store.append(ev.Notice(message="x").to_dict())
    assert synced, "a durable event must be fsync'd before append returns"
    store.close()


def test_failed_redaction_writes_nothing(tmp_path) -> None:
    def broken(data):
        raise RuntimeError("redactor failed")

    store = EventStore(tmp_path / "events.jsonl", redact=broken)
    try:
        store.prepare(ev.Notice(message="secret"))
    except RuntimeError:
        pass
    store.close()
    assert (tmp_path / "events.jsonl").read_text() == ""
