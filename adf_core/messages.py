"""Broker messages as records, for plugin authors: re-exported from
:mod:`adf_core.plugins.messages` (DESIGN 15)."""

from adf_core.plugins.messages import (
    Published,
    ReadWindow,
    decode,
    decode_messages,
    encode,
    items,
)

__all__ = ["Published", "ReadWindow", "decode", "decode_messages", "encode", "items"]
