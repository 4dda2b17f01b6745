"""Pipelines written from scratch with the SDK, as a data scientist writes them: rendered by the
SDK itself, so the engine is tested on JSON we did not write by hand."""
