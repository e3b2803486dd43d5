"""Arrow tests: collected only with pyarrow installed; the helpers module is importable."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("pyarrow") is None:  # the dict path is the suite's other tests
    collect_ignore_glob = ["test_*.py"]
else:
    sys.path.insert(0, str(Path(__file__).parent))

    @pytest.fixture
    def inputs(tmp_path: Path) -> dict[str, Path]:
        from arrow_helpers import write_inputs

        return write_inputs(tmp_path)
