"""What the CLI tells its ``Redactor`` beyond option names and URLs: the options each
component of the flow declares secret (``component(secrets=["dsn"])``), wherever their
values come from (``-o``, the environment, a pipeline file, or ``-p`` params)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adf_core.cli.spec import FlowSpec
    from adf_core.engine.flow import DataFlow
    from adf_core.observe.secrets import Redactor
    from adf_core.plugins.registry import Registry


def learn_declared_by_name(redactor: Redactor, spec: FlowSpec, registry: Registry) -> None:
    """Before the flow is built (its errors may quote options): the registered components
    named in the expression, by alias."""
    from adf_core.engine.expression import Ref, parse_expression
    from adf_core.errors import FlowDefinitionError
    from adf_core.plugins.metadata import declared_secrets

    try:
        tree = parse_expression(spec.expression)
    except FlowDefinitionError:
        return  # build_flow reports it
    declared: dict[str, set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, Ref):
            if ":" not in node.name:
                names = declared.setdefault(node.alias or node.name, set())
                for entry in registry.lookup(node.name):
                    names |= declared_secrets(entry.fn)
            return
        for member in node.members:
            walk(member)

    walk(tree)
    _learn(redactor, spec, declared)


def learn_declared(redactor: Redactor, spec: FlowSpec, flow: DataFlow) -> None:
    """Once the flow is built: every component, registered or imported (``module:attr``)."""
    from adf_core.plugins.metadata import declared_secrets

    _learn(redactor, spec, {c.alias: set(declared_secrets(c.fn)) for c in flow.components})
    for component in flow.components:
        names = declared_secrets(component.fn)
        # The options as given, and as the component receives them (converted: a JSON
        # string becomes a dict whose repr an error message may quote).
        converted = {name: value for name, value in component.binding.constants.items()
                     if name in component.options}
        for values in (dict(component.options), converted):
            redactor.learn({component.alias: values}, {component.alias: names})


def _learn(redactor: Redactor, spec: FlowSpec, declared: dict[str, set[str]]) -> None:
    redactor.learn(spec.options, declared)
    for names in declared.values():
        for name in names & spec.params.keys():
            redactor.add_all(spec.params[name])
