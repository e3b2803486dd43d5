"""The hooks a plugin implements. Project name ``adf``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("adf")
hookimpl = pluggy.HookimplMarker("adf")


@hookspec
def adf_sources() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return source components: name -> callable."""


@hookspec
def adf_transforms() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return transform components: name -> callable."""


@hookspec
def adf_destinations() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return destination components: name -> callable."""


@hookspec
def adf_executors() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return executor factories: name -> factory (see ``adf_core.engine.executors``)."""
