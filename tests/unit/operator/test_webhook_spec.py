"""Tenant spec.webhook: parsed, rendered into the runtime's env (URL in the settings Secret,
signing key straight from the user's Secret), and refused with a reason when the URL is bad."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from mozaiks_operator import constants as c
from mozaiks_operator.errors import InvalidSpec
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.reconcile import check_webhook
from mozaiks_operator.specs.credentials import build_settings_secret, runtime_settings
from mozaiks_operator.specs.deployment import config_hash, runtime_env
from mozaiks_runtime.config import Settings as RuntimeSettings

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]
WEBHOOK: dict[str, Any] = {
    "url": "https://backend.example/hooks/mozaiks",
    "secretRef": {"name": "hooks", "key": "signing-key"},
}


def test_webhook_env(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(webhook=WEBHOOK)
    env = {e["name"]: e for e in runtime_env(tenant)}
    assert env["MOZAIKS_WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "hooks",
        "key": "signing-key",
    }
    assert env["MOZAIKS_WEBHOOK_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "acme-runtime-settings",
        "key": "MOZAIKS_WEBHOOK_URL",
    }
    data = build_settings_secret(tenant)["data"]
    assert base64.b64decode(data["MOZAIKS_WEBHOOK_URL"]).decode() == WEBHOOK["url"]
    assert tenant.spec.secret_refs()["webhook.secretRef"].name == "hooks"  # checked before apply


def test_no_webhook_no_env(make_tenant: MakeTenant) -> None:
    tenant = make_tenant()
    names = {e["name"] for e in runtime_env(tenant)}
    assert not {"MOZAIKS_WEBHOOK_URL", "MOZAIKS_WEBHOOK_SECRET"} & names
    assert "webhook.secretRef" not in tenant.spec.secret_refs()
    check_webhook(tenant)


def test_the_rendered_settings_are_what_the_runtime_accepts(make_tenant: MakeTenant) -> None:
    values = runtime_settings(make_tenant(webhook=WEBHOOK))
    settings = RuntimeSettings.load(
        **{k.removeprefix("MOZAIKS_").lower(): v for k, v in values.items()},
        jwt_secret="k",
        webhook_secret="from-the-secret",
    )
    assert settings.webhook_url == WEBHOOK["url"]


def test_changing_the_webhook_rolls_the_pods(make_tenant: MakeTenant) -> None:
    before = config_hash(make_tenant(webhook=WEBHOOK), database_uri=None)
    moved = {**WEBHOOK, "url": "https://elsewhere.example/h"}
    assert config_hash(make_tenant(webhook=moved), database_uri=None) != before
    assert config_hash(make_tenant(), database_uri=None) != before


@pytest.mark.parametrize(
    "url", ["ftp://backend.example/h", "https:///no-host", "backend.example/h", "http://h:99999/"]
)
def test_a_bad_url_is_an_invalid_spec(make_tenant: MakeTenant, url: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        check_webhook(make_tenant(webhook={**WEBHOOK, "url": url}))
    assert info.value.reason == c.REASON_INVALID_WEBHOOK
    assert "spec.webhook.url" in info.value.message and url in info.value.message
