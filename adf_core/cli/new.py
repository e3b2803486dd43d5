"""``adf new plugin NAME``: write a ready plugin distribution from a template.

The template (``adf_core/cli/plugin_template``) is a working plugin: a source, a transform and
a destination with docstrings and annotations, its entry point, tests on adf's test kit
(``adf_core.testing``) and a README. It installs with pip and passes its own tests as written.
"""

from __future__ import annotations

import keyword
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click

from adf_core import __version__

_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
_PREFIXES = ("adf-plugin-", "adf_plugin_")
#: Names of the built-in components: a plugin using one would clash with it.
BUILTIN_NAMES = frozenset({"db", "file", "http", "notify", "stdout", "merge", "split", "filter",
                           "compare"})
#: Template file -> path in the new distribution ("package" is the import package).
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "gitignore.tmpl": ".gitignore",
    "package/__init__.py.tmpl": "{module}/__init__.py",
    "package/components.py.tmpl": "{module}/components.py",
    "tests/test_components.py.tmpl": "tests/test_components.py",
    "tests/test_flows.py.tmpl": "tests/test_flows.py",
}


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from the plugin name ``weather`` or ``my-api``."""

    name: str  # the component name (source and destination) and entry-point name: my_api
    dist: str  # the distribution: adf-plugin-my-api
    module: str  # the import package: adf_plugin_my_api

    @property
    def transform(self) -> str:
        return f"{self.name}_select"

    def substitutions(self) -> dict[str, str]:
        words = self.name.split("_")
        major, minor = __version__.split(".")[:2]
        return {
            "name": self.name,
            "ident": self.name,
            "dist": self.dist,
            "module": self.module,
            "transform": self.transform,
            "title": " ".join(w.capitalize() for w in words),
            "Class": "".join(w.capitalize() for w in words),
            "adf_version": f"{major}.{minor}",
        }


def plugin_names(raw: str) -> PluginNames:
    """Validate a plugin name and derive the others; ``ValueError`` says what is wrong."""
    name = raw.strip()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    if not _NAME.fullmatch(name):
        hint = ""
        lowered = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        if lowered and _NAME.fullmatch(lowered):
            hint = f" (did you mean {lowered!r}?)"
        raise ValueError(
            f"{raw!r} is not a valid plugin name{hint}: use lower-case letters, digits, and "
            f"'-' or '_' between them, starting with a letter (e.g. 'weather', 'my-api')")
    if len(name) > 40:
        raise ValueError(f"{raw!r} is too long for a plugin name: at most 40 characters")
    ident = name.replace("-", "_")
    if keyword.iskeyword(ident):
        raise ValueError(f"{raw!r} is a Python keyword: choose another plugin name")
    if ident in BUILTIN_NAMES:
        raise ValueError(f"{raw!r} would clash with the built-in component {ident!r}: "
                         f"choose another plugin name (e.g. 'my-{name}')")
    dist_part = ident.replace("_", "-")
    return PluginNames(ident, f"adf-plugin-{dist_part}", f"adf_plugin_{ident}")


def render_files(names: PluginNames) -> dict[str, str]:
    """Relative path -> content of every file of the new distribution."""
    template = resources.files("adf_core.cli") / "plugin_template"
    values = names.substitutions()
    rendered = {}
    for source, target in FILES.items():
        text = (template / source).read_text(encoding="utf-8")
        rendered[target.format(module=names.module)] = string.Template(text).substitute(values)
    return rendered


def write_plugin(names: PluginNames, directory: Path) -> list[Path]:
    """Write the distribution into ``directory`` (missing or empty); the files written."""
    if directory.exists():
        if not directory.is_dir():
            raise FileExistsError(f"{directory} exists and is not a directory")
        if any(directory.iterdir()):
            raise FileExistsError(
                f"{directory} is not empty: nothing was written. Choose a new --dir, or "
                f"remove it first")
    written = []
    for relative, content in render_files(names).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


@click.group()
def new() -> None:
    """Create a new project from a template: adf new plugin NAME."""


@new.command("plugin")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="Where to write it (default: ./adf-plugin-NAME); must be new or empty.")
def new_plugin(name: str, directory: Path | None) -> None:
    """Write a ready plugin distribution: a source, a transform and a destination, its
    entry point, tests on adf's test kit and a README.

    \b
    adf new plugin weather          # ./adf-plugin-weather, components weather, weather_select
    cd adf-plugin-weather && pip install -e '.[test]' && pytest
    """
    try:
        names = plugin_names(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'NAME'") from None
    target = directory if directory is not None else Path(names.dist)
    try:
        written = write_plugin(names, target)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Created {names.dist} in {target}:")
    for path in written:
        click.echo(f"  {path.relative_to(target)}")
    click.echo(
        f"\nComponents: {names.name} (source, destination), {names.transform} (transform)."
        f"\nNext:\n  cd {target}\n  pip install -e '.[test]'\n  pytest\n"
        f"  adf describe {names.name}")
