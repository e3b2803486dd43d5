"""A plugin whose import fails, as when a dependency is missing."""

raise ImportError("adf_plugin_broken: the 'frobnicate' library is not installed")
