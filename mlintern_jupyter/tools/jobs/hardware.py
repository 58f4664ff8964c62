"""Job hardware and prices: the Hub's live list when reachable, else this table (USD per hour, huggingface.co/pricing).

The budget's cost estimator reads `price_per_hour`; it must know a worst case before any launch, offline too.
"""

from __future__ import annotations

from typing import Any

PRICES_PER_HOUR: dict[str, float] = {
    "cpu-basic": 0.01, "cpu-upgrade": 0.03, "cpu-performance": 0.40, "cpu-xl": 1.00,
    "t4-small": 0.40, "t4-medium": 0.60, "l4x1": 0.80, "l4x4": 3.80,
    "l40sx1": 1.80, "l40sx4": 8.30, "l40sx8": 23.50,
    "a10g-small": 1.00, "a10g-large": 1.50, "a10g-largex2": 3.00, "a10g-largex4": 5.00,
    "a100-large": 2.50, "a100x4": 10.00, "a100x8": 20.00,
    "h100": 4.50, "h100x8": 36.00, "h200": 5.00, "h200x2": 10.00, "h200x4": 20.00, "h200x8": 40.00,
    "inf2x6": 6.00, "rtx-pro-6000x8": 32.00,
}  # fmt: skip


def hardware_rows(live: list[Any] | None) -> list[dict[str, Any]]:
    """Rows {name, pretty_name, cpu, ram, accelerator, price_per_hour} from JobHardwareInfo objects or the table."""
    if not live:
        return [{"name": name, "price_per_hour": price, "source": "built-in table"}
                for name, price in PRICES_PER_HOUR.items()]
    rows = []
    for info in live:
        unit = (getattr(info, "unit_label", "") or "minute").lower()
        cost = float(getattr(info, "unit_cost_usd", 0.0) or 0.0)
        per_hour = cost * 60 if unit.startswith("minute") else cost * 3600 if unit.startswith("second") else cost
        accelerator = getattr(info, "accelerator", None)
        rows.append({
            "name": info.name, "pretty_name": getattr(info, "pretty_name", ""), "cpu": getattr(info, "cpu", ""),
            "ram": getattr(info, "ram", ""),
            "accelerator": (f"{accelerator.quantity}x {accelerator.model} ({accelerator.vram})"
                            if accelerator is not None else None),
            "price_per_hour": round(per_hour, 4),
        })
    return rows


def price_per_hour(flavor: str, rows: list[dict[str, Any]] | None = None) -> float | None:
    for row in rows or ():
        if row["name"] == flavor:
            return float(row["price_per_hour"])
    return PRICES_PER_HOUR.get(flavor)
