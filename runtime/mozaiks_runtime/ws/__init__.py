"""The WebSocket edge: one socket per chat, messages, dispatch."""
