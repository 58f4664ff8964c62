"""Training data from sessions: tags (`agent/tags.py`) select them, `build` writes chat rows for TRL's SFTTrainer."""
