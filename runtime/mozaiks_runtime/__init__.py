"""Mozaiks runtime: serves AG2 chat workflows over HTTP and WebSocket to the ChatUI widget."""

__version__ = "0.1.0"
