"""Test doubles of external services (the fake OpenAI-compatible LLM server)."""
