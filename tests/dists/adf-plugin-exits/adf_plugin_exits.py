"""A plugin that ends the interpreter on import, as a script-turned-module might."""

import sys

sys.exit(3)
