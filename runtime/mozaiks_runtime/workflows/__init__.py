"""Workflow definitions: schema, validation, the hot-reloading registry."""
