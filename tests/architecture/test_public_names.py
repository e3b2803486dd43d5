"""``adf_core`` shows its public API and nothing it merely uses (issue 10: ``dir(adf_core)``
listed ``Any``, ``TYPE_CHECKING`` and ``import_module``)."""

from __future__ import annotations

import subprocess
import sys


def test_dir_lists_exactly_the_public_api() -> None:
    import adf_core

    public = [name for name in dir(adf_core) if not name.startswith("_")]
    assert public == sorted(adf_core.__all__)
    assert {"Any", "TYPE_CHECKING", "import_module", "annotations"}.isdisjoint(dir(adf_core))
    for name in adf_core.__all__:
        assert getattr(adf_core, name) is not None, name


def test_a_fresh_interpreter_sees_the_same_names() -> None:
    """Before anything was imported lazily (the names come from ``__dir__``, not from what
    happened to load)."""
    code = ("import adf_core; print(' '.join(n for n in dir(adf_core) if n[0] != '_')); "
            "print(' '.join(sorted(adf_core.__all__)))")
    shown, exported = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                     text=True, check=True).stdout.splitlines()
    assert shown == exported and "DataFlow" in shown.split()
