"""A TaskGroup that leaves no phantom cancellation behind (Python 3.11's asyncio does)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

_NEEDS_UNCANCEL = sys.version_info < (3, 12)


class TaskGroup(asyncio.TaskGroup):
    """asyncio.TaskGroup, with the ``uncancel()`` that Python 3.11 forgets when a child
    fails while ``__aexit__`` is already waiting (fixed in 3.12). Without it the parent
    task keeps a phantom cancellation, and an outside cancel cannot be told from a failure.
    """

    async def __aexit__(self, et: Any, exc: Any, tb: Any) -> Any:
        requested_before = self._parent_cancel_requested  # type: ignore[attr-defined]
        try:
            return await super().__aexit__(et, exc, tb)
        finally:
            if (_NEEDS_UNCANCEL and not requested_before
                    and self._parent_cancel_requested):  # type: ignore[attr-defined]
                self._parent_task.uncancel()  # type: ignore[attr-defined]
