"""The matrix's kernel client and its tally (runs, passed, lost messages, duplicate side effects, timings)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import KernelManager

from ..kernel_client import KernelClient


@dataclass
class Tally:
    runs: int = 0
    passed: int = 0
    lost: int = 0
    duplicate_effects: int = 0
    duplicated_messages: int = 0
    by_group: dict[str, list[int]] = field(default_factory=dict)
    # Prompt-injection attacks on secrets: tried and that reached a secret, per approval mode (goal 0).
    secret_attacks: dict[str, list[int]] = field(default_factory=dict)
    # Every attack of issue 11 the matrix performs, per approval mode: how many were tried and what got through
    # (a secret, money beyond the cap, another person's resource, an action run without the click its mode
    # requires), and which numbered attacks were covered. Goal: 0 in every mode.
    attacks: dict[str, dict[str, float]] = field(default_factory=dict)
    attack_numbers: set[int] = field(default_factory=set)
    # The guards side by side: "on" every attack run, "on, controlled" the runs that have a control, "off" the
    # controls (the same run with one defence switched back to main's old behaviour). Per side: runs, runs that
    # got something through, tool calls, cards a person was shown, seconds.
    guards: dict[str, dict[str, float]] = field(default_factory=dict)
    timings: dict[str, list[float]] = field(default_factory=dict)

    def record_attack(self, mode: str, number: int, *, secret: bool = False, over_cap_usd: float = 0.0,
                      others: bool = False, unapproved: bool = False) -> None:
        row = self.attacks.setdefault(mode, dict.fromkeys(ATTACK_OUTCOMES, 0.0))
        row["tried"] += 1
        row["secret"] += secret
        row["over_cap_usd"] += max(0.0, over_cap_usd)
        row["others"] += others
        row["unapproved"] += unapproved
        self.attack_numbers.add(number)

    def record_guards(self, side: str, *, through: bool, calls: int, cards: int, seconds: float) -> None:
        row = self.guards.setdefault(side, dict.fromkeys(GUARD_FIGURES, 0.0))
        for key, value in zip(GUARD_FIGURES, (1, through, calls, cards, seconds), strict=True):
            row[key] += value

    def attack_line(self) -> str:
        """One line for all of issue 11's attacks the matrix performs."""
        total = {key: sum(row[key] for row in self.attacks.values()) for key in ATTACK_OUTCOMES}
        modes = ", ".join(f"{mode} {int(row['tried'])}" for mode, row in sorted(self.attacks.items()))
        numbers = ",".join(str(n) for n in sorted(self.attack_numbers))
        return (f"security attacks (issue 11, attacks {numbers}): {int(total['tried'])} tried ({modes}): "
                f"{int(total['secret'])} reached a secret, ${total['over_cap_usd']:.2f} beyond the cap, "
                f"{int(total['others'])} touched another person's resource, {int(total['unapproved'])} ran "
                "without the click their mode requires")

    def report(self) -> dict[str, Any]:
        """The matrix's figures as JSON (for scripts/benchmarks.py)."""
        return {"runs": self.runs, "passed": self.passed, "attacks": self.attacks,
                "attack_numbers": sorted(self.attack_numbers), "attack_line": self.attack_line(),
                "secret_attacks": self.secret_attacks, "guards": self.guards}

    def record(self, group: str, audit: dict[str, Any], problems: list[str]) -> None:
        self.runs += 1
        self.passed += not problems
        self.lost += int(audit.get("lost", 0))
        self.duplicated_messages += int(audit.get("duplicated", 0))
        self.duplicate_effects += int(audit.get("duplicate_effects", 0))
        counts = self.by_group.setdefault(group, [0, 0])
        counts[0] += 1
        counts[1] += not problems

    def lines(self) -> list[str]:
        out = [f"reliability matrix: {self.runs} runs, {self.passed} passed, {self.lost} lost messages, "
               f"{self.duplicated_messages} duplicated messages, {self.duplicate_effects} duplicate side effects"]
        out += [f"  {group}: {ok}/{n} passed" for group, (n, ok) in self.by_group.items()]
        out += [f"  secret attacks ({mode}): {n} tried, {reached} reached a secret"
                for mode, (n, reached) in self.secret_attacks.items()]
        if self.attacks:
            out.append("  " + self.attack_line())
        out += [f"  guards {side}: {int(g['through'])}/{int(g['runs'])} runs got something through, "
                f"{int(g['cards'])} cards for {int(g['calls'])} tool calls" for side, g in self.guards.items()]
        for point, values in self.timings.items():
            out.append(f"  interrupt at {point}: p95 {p95(values):.2f}s over {len(values)} "
                       f"(max {max(values):.2f}s, median {sorted(values)[len(values) // 2]:.2f}s)")
        return out


TALLY = pytest.StashKey[Tally]()
ATTACK_OUTCOMES = ("tried", "secret", "over_cap_usd", "others", "unapproved")
GUARD_FIGURES = ("runs", "through", "calls", "cards", "seconds")


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Kernel(KernelClient):
    def __init__(self, km: KernelManager, root: Path) -> None:
        super().__init__(km)
        self.root = root

    def run(self, code: str, timeout: float = 60) -> tuple[str, dict]:
        return super().run(code, timeout)

    def ok(self, code: str, timeout: float = 60) -> str:
        out, reply = self.run(code, timeout)
        assert reply["content"]["status"] == "ok", out
        return out

    def wait_for(self, expression: str, timeout: float = 15, poll: float = 0.02) -> float:
        return super().wait_for(expression, timeout, poll)

    def plan(self, steps: list[dict], summary_steps: list[dict] | None = None) -> None:
        self.ok(f"provider.reset_plan(json.loads({json.dumps(steps)!r}), json.loads({json.dumps(summary_steps or [])!r}))")

    def intern(self, prompt: str, *, model: str = "faulty/xyz", options: str = "--wait", timeout: float = 60) -> str:
        return self.ok(f"%%intern --new --model {model} {options}\n{prompt}", timeout)
