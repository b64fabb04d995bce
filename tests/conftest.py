"""Suite-wide fixtures: the real-component harness (see tests/harness/plugin.py).

Subfolders add their own conftest.py; this one only registers the harness plugin and the
fake OpenAI-compatible server (`fake_llm`, tests/support/fake_llm.py)."""

pytest_plugins = ["tests.harness.plugin", "tests.support.fake_llm"]
