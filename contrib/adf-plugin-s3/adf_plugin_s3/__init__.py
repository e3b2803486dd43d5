"""adf-plugin-s3: an ``s3`` source and an ``s3`` destination for async-data-flow.

Registered through the entry point group ``adf`` (``s3 = "adf_plugin_s3"``). Importing this
module is cheap: boto3 is imported only when a component runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adf_core import component, hookimpl
from adf_plugin_s3.destination import S3Written, s3_destination
from adf_plugin_s3.formats import S3RecordError
from adf_plugin_s3.source import s3_source

__version__ = "0.1.0"
__all__ = ["S3RecordError", "S3Written", "adf_destinations", "adf_sources", "s3_destination",
           "s3_source"]


@hookimpl
def adf_sources() -> dict[str, Callable[..., Any]]:
    """The ``s3`` source: reads objects."""
    return {"s3": s3_source}


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    """The ``s3`` destination: writes objects."""
    return {"s3": s3_destination}


# Both stay in this process under a flow-wide executor that leaves it (DESIGN 11): the source
# streams, and the destination commits together with the other destinations of its stage.
for _component in (s3_source, s3_destination):
    component(in_process=True)(_component)
