"""``python -m adf_core.cli`` is ``adf``."""

from adf_core.cli import main

main()
