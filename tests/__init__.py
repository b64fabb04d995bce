"""The test suite (a package so that `tests.harness` is importable)."""
