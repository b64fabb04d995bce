"""The test harness: real components (kube-apiserver and friends, FerretDB, helm) built from Go
modules by `hack/build-bins` and run by `hack/cluster` / `hack/ferretdb`, exposed as pytest
fixtures by `tests.harness.plugin` (registered in `tests/conftest.py`)."""
