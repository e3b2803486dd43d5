"""Datasets of records for component authors: re-exported from :mod:`adf_core.data.records`."""

from adf_core.data.encoding import csv_value, dumps, json_default
from adf_core.data.records import *  # noqa: F403
from adf_core.data.records import __all__ as _all

__all__ = [*_all, "csv_value", "dumps", "json_default"]
