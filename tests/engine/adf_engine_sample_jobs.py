"""An importable module for ``module:attr`` references in expression tests."""

from __future__ import annotations


def load_orders(day: str = "today") -> dict:
    return {"orders": [{"id": 1, "day": day}, {"id": 2, "day": day}]}


async def count_orders(orders: list) -> dict:
    return {"count": len(orders)}


class Jobs:
    @staticmethod
    def report(count: int) -> str:
        return f"{count} orders"


not_callable = 42
