"""Observability beside every layer: engine events, the trace file, secret redaction."""
