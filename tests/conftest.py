"""Suite-wide fixtures: the real-component harness (see tests/harness/plugin.py).

Subfolders add their own conftest.py; this one only registers the harness plugin."""

pytest_plugins = ["tests.harness.plugin"]
