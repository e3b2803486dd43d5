"""async-data-flow: an asyncio data-flow engine and a plugin-based ETL runner.

The package is organised in layers, arrows pointing one way: ``cli`` -> ``plugins`` ->
``engine`` -> ``data``, with ``observe`` beside them. This module is the facade above them
all: exports are resolved lazily (PEP 562) so that ``adf --help`` never pays for asyncio,
structlog or the engine, and handing out ``DataFlow`` first wires the plugin registry into
the engine (so that ``DataFlow.parse("file | stdout")`` finds the built-in components).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "DataFlow": "adf_core.engine.flow",
    "FlowResult": "adf_core.engine.result",
    "RecordCounts": "adf_core.engine.result",
    "step": "adf_core.engine.steps",
    "Step": "adf_core.engine.steps",
    "component": "adf_core.plugins.metadata",
    "hookimpl": "adf_core.plugins.hookspecs",
    "current_run": "adf_core.engine.run_info",
    "RunInfo": "adf_core.engine.run_info",
    "collect": "adf_core.engine.streams",
    "commit_group": "adf_core.engine.commit",
    "current_component": "adf_core.engine.run_info",
    "batched": "adf_core.engine.streams",
    "unbatched": "adf_core.engine.streams",
    "FlowError": "adf_core.errors",
    "FlowDefinitionError": "adf_core.errors",
    "ExpressionSyntaxError": "adf_core.errors",
    "MissingInputError": "adf_core.errors",
    "ComponentError": "adf_core.errors",
    "RunAborted": "adf_core.errors",
    "BadRecordError": "adf_core.errors",
    "TooManyBadRecords": "adf_core.errors",
    "DataWarningError": "adf_core.errors",
    "warn": "adf_core.engine.reporting",
    "validate": "adf_core.plugins.validation",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from adf_core.engine.commit import commit_group as commit_group
    from adf_core.engine.flow import DataFlow as DataFlow
    from adf_core.engine.reporting import warn as warn
    from adf_core.engine.result import FlowResult as FlowResult
    from adf_core.engine.result import RecordCounts as RecordCounts
    from adf_core.engine.run_info import RunInfo as RunInfo
    from adf_core.engine.run_info import current_component as current_component
    from adf_core.engine.run_info import current_run as current_run
    from adf_core.engine.steps import Step as Step
    from adf_core.engine.steps import step as step
    from adf_core.engine.streams import batched as batched
    from adf_core.engine.streams import collect as collect
    from adf_core.engine.streams import unbatched as unbatched
    from adf_core.errors import BadRecordError as BadRecordError
    from adf_core.errors import ComponentError as ComponentError
    from adf_core.errors import DataWarningError as DataWarningError
    from adf_core.errors import ExpressionSyntaxError as ExpressionSyntaxError
    from adf_core.errors import FlowDefinitionError as FlowDefinitionError
    from adf_core.errors import FlowError as FlowError
    from adf_core.errors import MissingInputError as MissingInputError
    from adf_core.errors import RunAborted as RunAborted
    from adf_core.errors import TooManyBadRecords as TooManyBadRecords
    from adf_core.plugins.hookspecs import hookimpl as hookimpl
    from adf_core.plugins.metadata import component as component
    from adf_core.plugins.validation import validate as validate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adf_core' has no attribute {name!r}")
    if name in ("DataFlow", "validate"):
        import_module("adf_core.plugins")  # installs the registry as the engine's resolver
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*_EXPORTS, "__version__"])
