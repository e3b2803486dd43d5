"""What ``adf run`` and ``adf graph`` are asked to run: expression, options, settings, params.

Options come, later ones winning, from the pipeline file's ``[components.ALIAS]`` tables,
from ``ADF_<ALIAS>_<KEY>`` environment variables and from ``-o ALIAS.KEY=VALUE``. Mistakes
here are usage errors (exit 2).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from adf_core.engine.flow import FLOW_SETTINGS, STEP_SETTINGS

FILE_KEYS = ("name", "pipeline", "params", "components", "settings")
RESERVED_ENV = frozenset(
    {"ADF_STRICT_PLUGINS", "ADF_DISABLE_PLUGINS", "ADF_LOAD_PLUGINS", "ADF_REQUIRE_SERVICES"}
)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class FlowSpec:
    """Everything needed to build a ``DataFlow`` and call it."""

    expression: str
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    from_env: dict[tuple[str, str], str] = field(default_factory=dict)  # (alias, key) -> var

    def env_note(self, message: str) -> str:
        """Name the environment variables behind the options an error message mentions."""
        names = [var for (alias, key), var in self.from_env.items()
                 if (repr(alias) in message and f"option {key!r}" in message)
                 or f"option {alias}.{key}:" in message]
        return f" (set by the environment: {', '.join(names)})" if names else ""


def tier_expression(sources: str | None, transforms: Iterable[str], dests: str | None) -> str:
    """``--source a,b --transform t --dest c`` as the expression ``a, b | t | c``."""
    stages = [s for s in (sources, *transforms, dests) if s]
    return " | ".join(", ".join(m.strip() for m in stage.split(",")) for stage in stages)


def split_assignment(text: str, flag: str, shape: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise click.UsageError(f"{flag} {_shown(text)}: expected {shape}")
    return key.strip(), value


def _shown(text: str) -> str:
    """An assignment as errors may show it: the key only, never the value (it may be a
    secret, and a malformed one is not recognisable as such)."""
    key, sep, _ = text.partition("=")
    return repr(f"{key}=..." if sep else "...")


def param_assignment(text: str) -> tuple[str, Any]:
    """``-p key=text`` is a string; ``-p key:=JSON`` is a typed value (``count:=3``)."""
    import json

    key, value = split_assignment(text, "-p", "KEY=VALUE or KEY:=JSON, e.g. -p day=2026-11-24")
    if not key.endswith(":"):
        return key, value
    try:
        return key[:-1], json.loads(value)
    except ValueError as exc:
        raise click.UsageError(
            f"-p {_shown(text)}: the value after ':=' must be JSON ({type(exc).__name__})"
        ) from None


def option_assignments(values: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``-o alias.key=value`` pairs as ``{alias: {key: value}}``."""
    options: dict[str, dict[str, Any]] = {}
    for text in values:
        target, value = split_assignment(text, "-o", "ALIAS.KEY=VALUE, e.g. -o source.url=...")
        alias, dot, key = target.partition(".")
        if not dot or not alias or not key:
            raise click.UsageError(
                f"-o {_shown(text)}: expected ALIAS.KEY=VALUE, e.g. source.url=...")
        options.setdefault(alias, {})[key] = value
    return options


def interpolate(value: Any, where: str, environ: Mapping[str, str]) -> Any:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) in every string of a TOML value."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match[1], match[2]
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            raise click.UsageError(f"{where}: environment variable {name} is not set")

        return _VARIABLE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: interpolate(v, f"{where}.{k}", environ) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{where}[{i}]", environ) for i, v in enumerate(value)]
    return value


def load_pipeline(path: Path, environ: Mapping[str, str]) -> FlowSpec:
    """Read a pipeline file: ``name``, ``pipeline``, ``[params]``, ``[components.*]``,
    ``[settings]``."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise click.UsageError(f"cannot read pipeline file {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise click.UsageError(f"{path}: invalid TOML: {exc}") from None
    for key in data:
        if key not in FILE_KEYS:
            from adf_core.text import did_you_mean

            raise click.UsageError(
                f"{path}: unknown key {key!r}{did_you_mean(key, FILE_KEYS)} "
                f"(expected {', '.join(FILE_KEYS)})"
            )
    data = interpolate(data, str(path), environ)
    pipeline = data.get("pipeline")
    if not isinstance(pipeline, str) or not pipeline.strip():
        raise click.UsageError(f"{path}: 'pipeline' must be a pipe expression string")
    spec = FlowSpec(pipeline, params=dict(_table(data, "params", path)))
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise click.UsageError(f"{path}: 'name' must be a non-empty string (the pipeline's "
                                   "name, the key of its saved state)")
        spec.defaults["name"] = name
    for alias, options in _table(data, "components", path).items():
        if not isinstance(options, dict):
            raise click.UsageError(f"{path}: [components.{alias}] must be a table of options")
        spec.options[alias] = dict(options)
    for key, value in _table(data, "settings", path).items():
        if isinstance(value, dict):
            spec.settings[key] = _checked_settings(value, STEP_SETTINGS, f"settings.{key}")
        else:
            spec.defaults.update(_checked_settings({key: value}, FLOW_SETTINGS, "settings"))
    return spec


def _table(data: Mapping[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise click.UsageError(f"{path}: {key!r} must be a table ([{key}])")
    return value


def _checked_settings(
    values: Mapping[str, Any], allowed: tuple[str, ...], where: str
) -> dict[str, Any]:
    from adf_core.text import did_you_mean

    for key in values:
        if key not in allowed:
            raise click.UsageError(
                f"[{where}] unknown setting {key!r}{did_you_mean(key, allowed)} "
                f"(settings: {', '.join(allowed)})"
            )
    return dict(values)


def aliases(expression: str) -> list[str]:
    """The aliases an expression names, in order (the expression must parse)."""
    from adf_core.engine.expression import Ref, parse_expression

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Ref):
            # module:attr takes the alias ``attr`` (as DataFlow.parse names it)
            attr = node.name.rpartition(":")[2].rpartition(".")[2]
            found.append(node.alias or (attr if ":" in node.name else node.name))
        else:
            for member in node.members:
                walk(member)

    walk(parse_expression(expression))
    return found


def env_options(
    names: Iterable[str], environ: Mapping[str, str], origins: dict[tuple[str, str], str]
) -> dict[str, dict[str, str]]:
    """``ADF_<ALIAS>_<KEY>=value`` for the aliases of the flow, as ``{alias: {key: value}}``.

    ``origins`` receives ``(alias, key) -> variable name``, for error messages.
    """
    options: dict[str, dict[str, str]] = {}
    prefixes = {f"ADF_{re.sub(r'[^A-Za-z0-9]', '_', a).upper()}_": a for a in names}
    for variable, value in environ.items():
        if variable in RESERVED_ENV or not variable.startswith("ADF_"):
            continue
        matches = [p for p in prefixes if variable.startswith(p) and len(variable) > len(p)]
        if not matches:
            continue
        # ADF_TARGET_DB_URL is target_db.url, not target.db_url: the longest alias wins.
        prefix = max(matches, key=len)
        alias = prefixes[prefix]
        key = variable[len(prefix):].lower()
        options.setdefault(alias, {})[key] = value
        origins[(alias, key)] = variable
    return options


def merge_options(*layers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for alias, values in layer.items():
            merged.setdefault(alias, {}).update(values)
    return merged


def make_spec(
    expression: str | None,
    *,
    sources: str | None,
    transforms: tuple[str, ...],
    dests: str | None,
    pipeline_file: Path | None,
    options: Iterable[str],
    params: Iterable[str],
    defaults: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> FlowSpec:
    """Combine the file, the environment and the command line into one ``FlowSpec``."""
    from adf_core.errors import FlowDefinitionError

    env = os.environ if environ is None else environ
    tiers = bool(sources or transforms or dests)
    given = [name for name, on in (("EXPR", expression), ("--source/--transform/--dest", tiers),
                                   ("-f", pipeline_file)) if on]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} are exclusive: give one flow")
    if pipeline_file is not None:
        spec = load_pipeline(pipeline_file, env)
    elif tiers:
        spec = FlowSpec(tier_expression(sources, transforms, dests))
    elif expression:
        spec = FlowSpec(expression)
    else:
        raise click.UsageError("no flow: give EXPR, --source/--transform/--dest, or -f FILE")
    try:
        names = aliases(spec.expression)
    except FlowDefinitionError as exc:
        raise click.UsageError(str(exc)) from None
    command_line = option_assignments(options)
    from_env = env_options(names, env, spec.from_env)
    for alias, values in command_line.items():
        for key in values:
            spec.from_env.pop((alias, key), None)
    spec.options = merge_options(spec.options, from_env, command_line)
    for text in params:
        spec.params.update([param_assignment(text)])
    spec.defaults.update({k: v for k, v in defaults.items() if v is not None})
    return spec
