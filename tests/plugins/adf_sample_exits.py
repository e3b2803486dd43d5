"""A sample plugin that calls sys.exit() on import."""

import sys

sys.exit("adf_sample_exits: refusing to be imported")
