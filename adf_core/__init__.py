"""async-data-flow: an asyncio data-flow engine and a plugin-based ETL runner.

Exports are resolved lazily (PEP 562) so that ``adf --help`` never pays for asyncio,
structlog or the engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "DataFlow": "adf_core.flow",
    "FlowResult": "adf_core.result",
    "step": "adf_core.steps",
    "Step": "adf_core.steps",
    "component": "adf_core.metadata",
    "hookimpl": "adf_core.hookspecs",
    "current_run": "adf_core.run_info",
    "RunInfo": "adf_core.run_info",
    "collect": "adf_core.streams",
    "commit_group": "adf_core.commit",
    "current_component": "adf_core.run_info",
    "batched": "adf_core.streams",
    "unbatched": "adf_core.streams",
    "FlowError": "adf_core.errors",
    "FlowDefinitionError": "adf_core.errors",
    "ExpressionSyntaxError": "adf_core.errors",
    "MissingInputError": "adf_core.errors",
    "ComponentError": "adf_core.errors",
    "RunAborted": "adf_core.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from adf_core.commit import commit_group as commit_group
    from adf_core.errors import ComponentError as ComponentError
    from adf_core.errors import ExpressionSyntaxError as ExpressionSyntaxError
    from adf_core.errors import FlowDefinitionError as FlowDefinitionError
    from adf_core.errors import FlowError as FlowError
    from adf_core.errors import MissingInputError as MissingInputError
    from adf_core.errors import RunAborted as RunAborted
    from adf_core.flow import DataFlow as DataFlow
    from adf_core.hookspecs import hookimpl as hookimpl
    from adf_core.metadata import component as component
    from adf_core.result import FlowResult as FlowResult
    from adf_core.run_info import RunInfo as RunInfo
    from adf_core.run_info import current_component as current_component
    from adf_core.run_info import current_run as current_run
    from adf_core.steps import Step as Step
    from adf_core.steps import step as step
    from adf_core.streams import batched as batched
    from adf_core.streams import collect as collect
    from adf_core.streams import unbatched as unbatched


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adf_core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
