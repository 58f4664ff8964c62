# A stand-in for the kernel side of the `mlintern` comm, run in a notebook cell by the browser tests.
# It speaks the panel protocol (hello -> events, approval -> approval_resolved, prompt -> user_prompt)
# so the panel can be tested in a real browser before (and independently of) the real kernel bridge.
import json

HISTORY = json.loads(__HISTORY_JSON__)
RECEIVED = []


def _event(kind, **fields):
    seq = HISTORY[-1]["seq"] + 1 if HISTORY else 1
    event = {"kind": kind, "session_id": "ui-test", "seq": seq, "ts": "2025-01-01T00:00:00.000Z", **fields}
    HISTORY.append(event)
    return event


def _target(comm, open_msg):
    def on_msg(msg):
        data = msg["content"]["data"]
        RECEIVED.append(data)
        kind = data.get("type")
        if kind == "hello":
            comm.send({"type": "events", "events": HISTORY})
        elif kind == "approval":
            decision = "approved" if data["decision"] == "approve" else "denied"
            call_id = next(e["call_id"] for e in HISTORY if e.get("nonce") == data["nonce"])
            comm.send({"type": "event", "event": _event(
                "approval_resolved", call_id=call_id, decision=decision, by="person",
                feedback=data.get("feedback", ""), nonce=data["nonce"])})
        elif kind == "prompt":
            comm.send({"type": "event", "event": _event("user_prompt", text=data["text"], cell_id=data.get("cell_id"))})
        elif kind == "sessions":
            comm.send({"type": "sessions", "sessions": [{
                "session_id": "ui-test", "first_prompt": "<b>not bold</b>", "model": "demo",
                "cost_usd": 0.0, "state": "idle", "updated": "2025-01-01T00:00:00Z"}]})
        else:
            comm.send({"type": "event", "event": _event("notice", message="received " + json.dumps(data))})

    comm.on_msg(on_msg)
    on_msg(open_msg)


get_ipython().kernel.comm_manager.register_target("mlintern", _target)
print("fake mlintern target registered")
