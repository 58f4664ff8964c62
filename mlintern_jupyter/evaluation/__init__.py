"""Evaluating the agent: graders over a session's event log (the harness is scripts/eval_agent.py)."""
