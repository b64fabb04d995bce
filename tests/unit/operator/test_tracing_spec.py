"""Tenant spec.tracing: the runtime's OTLP endpoint (and content capture) rendered into the
settings it reads; nothing without it; the operator's own tracing setting is checked."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from mozaiks_operator.config import Settings as OperatorSettings
from mozaiks_operator.config import SettingsError
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.credentials import build_settings_secret, runtime_settings
from mozaiks_operator.specs.deployment import config_hash, runtime_env
from mozaiks_runtime.config import Settings as RuntimeSettings

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]
ENDPOINT = "http://otel-collector.monitoring:4318"


def test_tracing_env_reaches_the_runtime(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(tracing={"otlpEndpoint": ENDPOINT})
    values = runtime_settings(tenant)
    assert values["MOZAIKS_OTEL_EXPORTER_OTLP_ENDPOINT"] == ENDPOINT
    assert "MOZAIKS_OTEL_CAPTURE_CONTENT" not in values  # off unless asked for
    env = {e["name"]: e for e in runtime_env(tenant)}
    ref = env["MOZAIKS_OTEL_EXPORTER_OTLP_ENDPOINT"]["valueFrom"]["secretKeyRef"]
    assert ref["key"] == "MOZAIKS_OTEL_EXPORTER_OTLP_ENDPOINT"
    data = build_settings_secret(tenant)["data"]
    assert base64.b64decode(data["MOZAIKS_OTEL_EXPORTER_OTLP_ENDPOINT"]).decode() == ENDPOINT
    settings = RuntimeSettings.load(
        **{k.removeprefix("MOZAIKS_").lower(): v for k, v in values.items()}, jwt_secret="k"
    )
    assert settings.otel_exporter_otlp_endpoint == ENDPOINT
    assert settings.otel_capture_content is False


def test_capture_content_is_explicit(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(tracing={"otlpEndpoint": ENDPOINT, "captureContent": True})
    assert runtime_settings(tenant)["MOZAIKS_OTEL_CAPTURE_CONTENT"] == "true"


def test_no_tracing_no_env_and_changes_roll_the_pods(make_tenant: MakeTenant) -> None:
    plain = make_tenant()
    names = {e["name"] for e in runtime_env(plain)}
    assert not any(n.startswith("MOZAIKS_OTEL_") for n in names)
    traced = make_tenant(tracing={"otlpEndpoint": ENDPOINT})
    assert config_hash(traced, database_uri=None) != config_hash(plain, database_uri=None)


def test_operator_endpoint_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OperatorSettings.load().otel_exporter_otlp_endpoint is None
    monkeypatch.setenv("MOZAIKS_OPERATOR_OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")
    with pytest.raises(SettingsError, match="MOZAIKS_OPERATOR_OTEL_EXPORTER_OTLP_ENDPOINT"):
        OperatorSettings.load()
    monkeypatch.setenv("MOZAIKS_OPERATOR_OTEL_EXPORTER_OTLP_ENDPOINT", ENDPOINT)
    assert OperatorSettings.load().otel_exporter_otlp_endpoint == ENDPOINT
