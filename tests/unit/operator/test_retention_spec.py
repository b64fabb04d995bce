"""Tenant spec.retention: parsed, rendered into the runtime's settings, and what the runtime
accepts; absent, nothing is rendered (chats are kept)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from mozaiks_operator.model.tenant import RetentionSpec, Tenant
from mozaiks_operator.specs.credentials import build_settings_secret, runtime_settings
from mozaiks_operator.specs.deployment import runtime_env
from mozaiks_runtime.config import Settings as RuntimeSettings

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]


def test_retention_reaches_the_runtime(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(retention={"chats": "90d"})
    assert tenant.spec.retention.chats_days == 90
    values = runtime_settings(tenant)
    assert values["MOZAIKS_RETENTION_CHATS_DAYS"] == "90"
    env = {e["name"]: e for e in runtime_env(tenant)}
    ref = env["MOZAIKS_RETENTION_CHATS_DAYS"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "acme-runtime-settings", "key": "MOZAIKS_RETENTION_CHATS_DAYS"}
    data = build_settings_secret(tenant)["data"]
    assert base64.b64decode(data["MOZAIKS_RETENTION_CHATS_DAYS"]).decode() == "90"
    settings = RuntimeSettings.load(
        **{k.removeprefix("MOZAIKS_").lower(): v for k, v in values.items()}, jwt_secret="k"
    )
    assert settings.retention_chats_days == 90


def test_no_retention_keeps_chats(make_tenant: MakeTenant) -> None:
    tenant = make_tenant()
    assert tenant.spec.retention.chats_days is None
    assert "MOZAIKS_RETENTION_CHATS_DAYS" not in runtime_settings(tenant)


@pytest.mark.parametrize("bad", ["90", "0d", "90 days", "-1d", "12345d", "9h"])
def test_bad_retention_is_refused_as_the_crd_does(bad: str) -> None:
    with pytest.raises(ValidationError):
        RetentionSpec(chats=bad)
