"""Thin kopf handlers: parse, call reconcile, map errors. Each module has `register()`."""
