"""Tenant spec.broker: parsed, rendered into the runtime's env (the signing key straight from the
user's Secret, the token lifetime in the settings Secret), accepted by the runtime's Settings; and
a Workflow's access rules pass or fail the operator's check as they do the runtime's."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.model.workflow import check_definition, definition_json
from mozaiks_operator.specs.credentials import build_settings_secret, runtime_settings
from mozaiks_operator.specs.deployment import config_hash, runtime_env
from mozaiks_runtime.config import Settings as RuntimeSettings

pytestmark = pytest.mark.unit
MakeTenant = Callable[..., Tenant]
BROKER: dict[str, Any] = {"secretRef": {"name": "broker", "key": "jwt-secret"}}


def test_broker_env(make_tenant: MakeTenant) -> None:
    tenant = make_tenant(broker={**BROKER, "tokenTtlSeconds": 300})
    env = {e["name"]: e for e in runtime_env(tenant)}
    assert env["MOZAIKS_BROKER_JWT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "broker",
        "key": "jwt-secret",
    }
    data = build_settings_secret(tenant)["data"]
    assert base64.b64decode(data["MOZAIKS_BROKER_TOKEN_TTL_SECONDS"]).decode() == "300"
    assert tenant.spec.secret_refs()["broker.secretRef"].name == "broker"  # checked before apply


def test_default_lifetime_and_no_broker_no_env(make_tenant: MakeTenant) -> None:
    assert runtime_settings(make_tenant(broker=BROKER))["MOZAIKS_BROKER_TOKEN_TTL_SECONDS"] == "900"
    tenant = make_tenant()
    names = {e["name"] for e in runtime_env(tenant)} | set(runtime_settings(tenant))
    assert not {"MOZAIKS_BROKER_JWT_SECRET", "MOZAIKS_BROKER_TOKEN_TTL_SECONDS"} & names
    assert "broker.secretRef" not in tenant.spec.secret_refs()


def test_the_rendered_settings_are_what_the_runtime_accepts(make_tenant: MakeTenant) -> None:
    values = runtime_settings(make_tenant(broker={**BROKER, "tokenTtlSeconds": 120}))
    settings = RuntimeSettings.load(
        **{k.removeprefix("MOZAIKS_").lower(): v for k, v in values.items()},
        jwt_secret="k",
        broker_jwt_secret="a-broker-secret-of-32-characters-at-least",
    )
    assert settings.broker_token_ttl_seconds == 120


def test_changing_the_broker_rolls_the_pods(make_tenant: MakeTenant) -> None:
    before = config_hash(make_tenant(broker=BROKER), database_uri=None)
    moved = {"secretRef": {"name": "broker-2", "key": "jwt-secret"}}
    assert config_hash(make_tenant(broker=moved), database_uri=None) != before
    assert config_hash(make_tenant(), database_uri=None) != before


def test_a_lifetime_out_of_bounds_is_refused(make_tenant: MakeTenant) -> None:
    with pytest.raises(ValidationError):
        make_tenant(broker={**BROKER, "tokenTtlSeconds": 5})


DEFINITION = {"name": "gated", "agents": [{"name": "A", "system_message": "hi"}]}


def test_workflow_access_rules_are_checked_and_shipped() -> None:
    good = check_definition(
        {**DEFINITION, "access": {"anyOf": [{"claim": "roles", "contains": "pro"}]}},
        source="Workflow ns/gated",
    )
    assert good.valid and good.definition is not None
    assert '"anyOf"' in definition_json(good.definition)  # the runtime gets the rules as written
    bad = check_definition(
        {**DEFINITION, "access": {"allOf": [{"claim": "plan"}]}}, source="Workflow ns/gated"
    )
    assert not bad.valid
    assert any("$.access.allOf[0]: set exactly one of" in e for e in bad.errors)
