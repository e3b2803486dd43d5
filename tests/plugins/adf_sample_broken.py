"""A sample plugin that fails to import."""

raise ImportError("adf_sample_broken needs a module that is not installed")
