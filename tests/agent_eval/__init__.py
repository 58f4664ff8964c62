"""The agent evaluation harness (scripts/eval_agent.py): tasks, the world they run in, and the runner."""
