"""The engine: definitions and expressions, binding, the plan, and the runner.

Depends on ``adf_core.data`` and ``adf_core.observe`` only; the plugin layer above hands it
what it needs (a name resolver, executor factories) through :mod:`adf_core.engine.seams`.
"""
