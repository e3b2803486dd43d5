"""Convert option strings (CLI ``-o``, environment, TOML) by the parameter's annotation."""

from __future__ import annotations

import enum
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

from adf_core.text import did_you_mean

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


class ConversionError(ValueError):
    """A string does not fit the annotation; the message says what would."""


def convert_option(value: Any, annotation: Any, where: str = "option") -> Any:
    """Return ``value`` converted to ``annotation`` when it is a string; other values pass."""
    if not isinstance(value, str):
        return value
    try:
        return _convert(value, annotation)
    except ConversionError as exc:
        raise ConversionError(f"{where}: {exc}") from None


def _convert(value: str, annotation: Any) -> Any:
    if annotation in (inspect.Parameter.empty, Any, str, object) or isinstance(annotation, str):
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if type(None) in args and value.strip().lower() in ("none", "null", ""):
            return None
        if str in options:
            return value
        errors = []
        for option in options:
            try:
                return _convert(value, option)
            except ConversionError as exc:
                errors.append(str(exc))
        raise ConversionError("; ".join(errors))
    if origin is typing.Literal:
        return _choice(value, args)
    if annotation is bool:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConversionError(f"{value!r} is not a boolean (use true/false, yes/no, 1/0)")
    if annotation in (int, float):
        try:
            return annotation(value.strip())
        except ValueError:
            raise ConversionError(f"{value!r} is not a valid {annotation.__name__}") from None
    if annotation is Path or (inspect.isclass(annotation) and issubclass(annotation, Path)):
        return Path(value).expanduser()
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        container = origin or annotation
        items = _split_list(value)
        item_type = args[0] if args and args[0] is not Ellipsis else str
        converted = [_convert(i, item_type) if isinstance(i, str) else i for i in items]
        return container(converted)
    if origin is dict or annotation is dict:
        return _parse_mapping(value)
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        for member in annotation:
            if value in (member.name, str(member.value)):
                return member
        lowered = value.strip().lower()
        found = [m for m in annotation
                 if lowered in (m.name.lower(), str(m.value).lower())]
        if len(found) == 1:
            return found[0]
        names = [m.name for m in annotation]
        raise ConversionError(f"{value!r} is not one of {', '.join(names)}"
                              f"{did_you_mean(value, names)}")
    if callable(annotation):
        try:
            return annotation(value)
        except (TypeError, ValueError) as exc:
            name = getattr(annotation, "__name__", repr(annotation))
            raise ConversionError(f"{value!r} is not a valid {name}: {exc}") from None
    return value


def _choice(value: str, choices: tuple[Any, ...]) -> Any:
    """A ``Literal`` value: exact, else the one choice that differs only in case."""
    for choice in choices:
        if str(choice) == value:
            return choice
    lowered = value.strip().lower()
    found = [c for c in choices if str(c).lower() == lowered]
    if len(found) == 1:
        return found[0]
    shown = [str(c) for c in choices]
    raise ConversionError(f"{value!r} is not one of {', '.join(map(repr, choices))}"
                          f"{did_you_mean(lowered, shown)}")


def choices_of(annotation: Any) -> tuple[Any, ...] | None:
    """The values a ``Literal`` (or an enum, or either or None) annotation allows, else None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return typing.get_args(annotation)
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return tuple(annotation)
    if origin in (typing.Union, types.UnionType):
        found: list[Any] = []
        for member in typing.get_args(annotation):
            if member is type(None):
                found.append(None)
                continue
            inner = choices_of(member)
            if inner is None:
                return None
            found.extend(inner)
        return tuple(found)
    return None


def check_choice(value: Any, annotation: Any, where: str = "option") -> None:
    """A value that did not come as a string (TOML, Python) must still be one of a
    ``Literal``'s choices; raise ConversionError naming them otherwise."""
    choices = choices_of(annotation)
    if choices is None or value in choices:
        return
    shown = [repr(c) for c in choices if c is not None]
    hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) else ""
    raise ConversionError(f"{where}: {value!r} is not one of {', '.join(shown)}{hint}")


def _json_of(value: str, kind: type, name: str) -> Any:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConversionError(f"{value!r} is not a JSON {name}: {exc.msg}") from None
    if not isinstance(parsed, kind):
        raise ConversionError(f"{value!r} is not a JSON {name}")
    return parsed


def _split_list(value: str) -> list[Any]:
    text = value.strip()
    if text.startswith("["):
        return list(_json_of(text, list, "list"))
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_mapping(value: str) -> dict[str, Any]:
    text = value.strip()
    if text.startswith("{"):
        return dict(_json_of(text, dict, "object"))
    result: dict[str, Any] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, item = part.partition("=")
        if not sep:
            raise ConversionError(f"{value!r} is not a mapping (use k=v,k2=v2 or JSON)")
        result[key.strip()] = item.strip()
    return result
