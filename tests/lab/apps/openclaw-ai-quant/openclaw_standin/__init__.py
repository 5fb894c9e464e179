"""Shared code of the openclaw-ai-quant stand-in: env parsing, DB schemas, config, market simulation, indicators."""
