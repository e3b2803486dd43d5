"""Data: datasets of records, value encodings, file formats, option conversion.

The bottom layer: it imports nothing else from ``adf_core`` but ``errors`` and ``text``.
"""
