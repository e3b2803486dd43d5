"""Score orders per region, then add the scores up: CPU-bound pure Python.

Plain functions (not generators), so every stage may leave this process.
"""

from __future__ import annotations


def orders(count: int = 20_000) -> list[dict[str, int]]:
    """Made-up orders."""
    return [{"id": i, "amount": i * 37 % 500} for i in range(count)]


def score(orders: list[dict[str, int]], region: str, rounds: int = 40) -> int:
    """A deliberately slow score of every order for one region."""
    seed = sum(map(ord, region))
    return sum((order["amount"] * k + seed) % 97 for order in orders for k in range(rounds))


def totals(upstream: dict[str, int]) -> list[dict[str, object]]:
    """One record per region of the previous stage, then the sum."""
    rows: list[dict[str, object]] = [{"region": k, "score": v} for k, v in upstream.items()]
    return [*rows, {"region": "all", "score": sum(upstream.values())}]
