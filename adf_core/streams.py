"""Stream helpers for component authors: re-exported from :mod:`adf_core.engine.streams`."""

from adf_core.engine.streams import (
    abatched,
    acollect,
    aunbatched,
    batched,
    collect,
    unbatched,
)

__all__ = ["abatched", "acollect", "aunbatched", "batched", "collect", "unbatched"]
