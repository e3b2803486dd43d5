"""Commit together (``commit_group``): re-exported from :mod:`adf_core.engine.commit`."""

from adf_core.engine.commit import commit_group

__all__ = ["commit_group"]
