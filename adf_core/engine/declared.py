"""What a component declared about itself (``adf_core.component(...)``), as the engine reads it.

The plugin layer's ``component()`` attaches its metadata under :data:`ATTRIBUTE`; the engine
reads the few declarations it acts on (``routes``) through :func:`declared`, without
importing the plugin layer.
"""

from __future__ import annotations

import functools
from typing import Any

ATTRIBUTE = "__adf_component__"


def declared(fn: Any, name: str, default: Any = None) -> Any:
    """The declaration ``name`` of component ``fn`` (through partials), or ``default``."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    meta = getattr(fn, ATTRIBUTE, None)
    return default if meta is None else getattr(meta, name, default)
