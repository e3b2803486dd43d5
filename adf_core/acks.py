"""Acknowledgement after commit, for plugin authors: re-exported from
:mod:`adf_core.engine.acks` (DESIGN 15).

A source that must acknowledge its input (a message broker) marks itself ``acknowledges``
and calls ``on_commit(callback)`` right after each ``yield``; the callback runs once every
destination that received those records has committed them. A destination that commits in
micro-batches reads its stream through ``micro_batches(...)`` when ``continuous()`` is true,
and calls ``committed()`` after each commit (``micro_batches_of(...)`` reads several named
inputs side by side). ``draining()`` says SIGTERM/SIGINT asked a
continuous run to stop consuming; ``finish()`` ends a source's stream and waits for its
acknowledgements before it closes its connection; ``commit_soon()`` asks destinations not to
wait for ``commit_interval``.
"""

from adf_core.engine.acks import (
    acknowledges,
    commit_soon,
    committed,
    continuous,
    draining,
    finish,
    micro_batches,
    micro_batches_of,
    on_commit,
    per_item,
)

__all__ = ["acknowledges", "commit_soon", "committed", "continuous", "draining", "finish",
           "micro_batches", "micro_batches_of", "on_commit", "per_item"]
