"""The exceptions a flow raises: one base class, one subclass per kind of mistake."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar


class FlowError(Exception):
    """Base class of every error the engine raises."""


class FlowDefinitionError(FlowError, ValueError):
    """The definition or expression is malformed; raised before anything runs."""


class ExpressionSyntaxError(FlowDefinitionError):
    """A pipe expression does not parse; the message shows the column with a caret."""

    def __init__(self, message: str, expression: str, column: int) -> None:
        self.expression = expression
        self.column = column  # 1-based
        self.reason = message
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{message} at column {column}\n  {expression}\n  {pointer}")


class MissingInputError(FlowError, LookupError):
    """A required parameter was found in no option, reserved name or context key.

    The advice names what the reader can type: ``step(..., options=...)`` and params for
    Python, ``-o ALIAS.KEY=VALUE`` and ``-p KEY=VALUE`` under the ``adf`` command (which sets
    ``ADVICE`` to ``"cli"``); it is chosen when the message is shown.
    """

    def __init__(
        self, component: str, parameter: str, available: Iterable[str], position: str = ""
    ) -> None:
        self.component = component
        self.parameter = parameter
        self.available = sorted(available)
        self.position = position
        super().__init__(self.message("python"))

    def message(self, audience: str) -> str:
        """The message for ``"python"`` (library users) or ``"cli"`` (the ``adf`` command)."""
        where = f" ({self.position})" if self.position else ""
        keys = ", ".join(self.available) if self.available else "none"
        name = self.parameter
        if audience == "cli":
            advice = f"Set it with {cli_advice(self.component, name)}, or have an earlier " \
                "stage return it."
        else:
            advice = (f"Pass it in the params (flow.run({{{name!r}: ...}})), bind it as an "
                      f"option (step(fn, options={{{name!r}: ...}})), or have an earlier stage "
                      "return it.")
        return (f"component {self.component!r}{where} needs {name!r}, which is in no option, "
                f"reserved name or context key; available keys: {keys}. {advice}")

    def __str__(self) -> str:
        return self.message(ADVICE.get())

    def __reduce__(self) -> tuple[type[MissingInputError], tuple[str, str, list[str], str]]:
        return type(self), (self.component, self.parameter, self.available, self.position)


#: who reads error messages in this context: ``"python"`` (default) or ``"cli"``
ADVICE: ContextVar[str] = ContextVar("adf_error_advice", default="python")


def cli_advice(component: str, name: str) -> str:
    """How an ``adf`` user sets a parameter a component needs (in a runtime error and in
    what validation reports before the run)."""
    return f"-o {component}.{name}=VALUE (this component) or -p {name}=VALUE (the whole flow)"


class RunAborted(FlowError):
    """A component gave up because another part of the run failed or was cancelled.

    The engine reports the original failure; errors caused by a ``RunAborted`` are its
    consequences and are not reported as failures of their own.
    """


class ComponentError(FlowError):
    """A component raised; the original exception is ``__cause__``.

    When several components failed at once, ``errors`` lists every failure (this one first).
    """

    def __init__(
        self, component: str, stage: int, attempts: int, cause: BaseException, position: str = ""
    ) -> None:
        self.component = component
        self.stage = stage
        self.attempts = attempts
        self.position = position or f"stage {stage}"
        self.cause = cause
        self.errors: list[ComponentError] = [self]
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        text = str(cause) or type(cause).__name__
        super().__init__(
            f"component {component!r} ({self.position}) failed{tries}: "
            f"{type(cause).__name__}: {text}"
        )
        self.__cause__ = cause

    def with_siblings(self, others: Sequence[ComponentError]) -> ComponentError:
        """Attach the other simultaneous failures, so that none is lost."""
        self.errors = [self, *others]
        if others:
            names = ", ".join(repr(e.component) for e in others)
            self.args = (f"{self.args[0]} (and {len(others)} more failed: {names})",)
        return self


class BadRecordError(FlowError, ValueError):
    """A record a component could not read or write, under ``on_error = "fail"``.

    Raised by ``adf_core.rejects.reject`` when it is handed a message rather than an
    exception; ``component``, ``input`` and ``position`` say where the record was.
    """

    def __init__(self, message: str, *, component: str | None = None, input: str | None = None,
                 position: Mapping[str, object] | None = None) -> None:
        self.component = component
        self.input = input
        self.position = dict(position or {})
        super().__init__(message)


class RunPolicyError(FlowError):
    """Raised by a run's own policies (an error budget, a warning under strict): a retry
    would meet it again, so none is made."""


class TooManyBadRecords(RunPolicyError):
    """A component rejected more records than its ``max_errors`` allows: the run fails and
    nothing is committed."""

    def __init__(self, component: str, rejected: int, limit: float, read: int | None = None,
                 first: str | None = None) -> None:
        self.component = component
        self.rejected = rejected
        self.limit = limit
        self.read = read
        if isinstance(limit, float) and limit < 1:
            bound = f"max_errors={limit:g} ({limit * 100:g}% of the {read} records it read)"
        else:
            bound = f"max_errors={limit:g}"
        example = f"; the first: {first}" if first else ""
        super().__init__(
            f"{component!r} rejected {rejected} bad record{'s' if rejected != 1 else ''}, more "
            f"than {bound}: the run fails and nothing is committed{example}")


class DataWarningError(RunPolicyError):
    """A data warning (``adf_core.warn``) under ``strict``: the run fails instead."""
