# A stand-in for the kernel side of the `mlintern` comm, run in a notebook cell by the browser tests.
# It speaks the panel protocol ({v, id, command} in; events, event and reply out; hello -> events,
# approve/deny -> approval_resolved, prompt -> user_prompt, sessions -> a reply with one session) so the panel
# can be tested in a real browser independently of the real kernel bridge. VERSION is the protocol version it
# claims (a test sets another one to see the panel refuse it).
import json

HISTORY = json.loads(__HISTORY_JSON__)
VERSION = __VERSION__
RECEIVED = []


def _event(kind, **fields):
    seq = HISTORY[-1]["seq"] + 1 if HISTORY else 1
    event = {"kind": kind, "session_id": "ui-test", "seq": seq, "ts": "2025-01-01T00:00:00.000Z", **fields}
    HISTORY.append(event)
    return event


def _target(comm, open_msg):
    def send(message):
        comm.send({**message, "v": VERSION})

    def on_msg(msg):
        data = msg["content"]["data"]
        RECEIVED.append(data)
        command = data.get("command") or {}
        kind = command.get("type")
        reply = {"type": "reply", "id": data.get("id"), "command": kind, "ok": True, "message": "", "data": None}
        if kind == "hello":
            send({"type": "events", "events": HISTORY, "session_id": "ui-test"})
            return
        if kind in ("approve", "deny"):
            call_id = next(e["call_id"] for e in HISTORY if e.get("nonce") == command["nonce"])
            send({"type": "event", "event": _event(
                "approval_resolved", call_id=call_id, decision="approved" if kind == "approve" else "denied",
                by="person", feedback=command.get("feedback", ""), nonce=command["nonce"])})
        elif kind == "prompt":
            send({"type": "event", "event": _event("user_prompt", text=command["text"], cell_id=command.get("cell_id"))})
        elif kind == "sessions":
            reply["data"] = {"sessions": [{
                "session_id": "ui-test", "first_prompt": "<b>not bold</b>", "model": "demo",
                "cost_usd": 0.0, "state": "idle", "updated": "2025-01-01T00:00:00Z"}]}
        elif kind == "cell_ack":
            send({"type": "event", "event": _event("cell_placed", call_id=command["call_id"], by="panel",
                                                   how=command["result"])})
        else:
            reply["message"] = "received " + json.dumps(command)
        send(reply)

    comm.on_msg(on_msg)
    on_msg(open_msg)


get_ipython().kernel.comm_manager.register_target("mlintern", _target)
print("fake mlintern target registered")
