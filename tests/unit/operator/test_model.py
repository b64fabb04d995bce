"""Parsing, claims, connection strings and the operator's settings."""

from __future__ import annotations

import pytest
from tests.unit.operator.conftest import tenant_body

from mozaiks_operator.config import Settings, SettingsError
from mozaiks_operator.database import database_port, runtime_uri
from mozaiks_operator.errors import InvalidSpec
from mozaiks_operator.model.tenant import Claim, Tenant, first_claim
from mozaiks_operator.reconcile import check_claims

pytestmark = pytest.mark.unit


def test_defaults_fill_a_minimal_spec() -> None:
    tenant = Tenant.from_body(tenant_body("shop-1"))
    spec = tenant.spec
    assert spec.deletion_policy == "Retain" and not spec.paused
    assert spec.database_name == "mozaiks_shop_1" and spec.database_user == "mozaiks_shop_1"
    assert spec.runtime.replicas == 1 and spec.llm.model == "demo"
    assert list(spec.secret_refs()) == ["auth.secretRef"]


def test_first_claim_is_the_oldest() -> None:
    a = Claim(created="2026-01-02T00:00:00Z", namespace="x", name="a")
    b = Claim(created="2026-01-01T00:00:00Z", namespace="y", name="b")
    assert first_claim([a, b]) == b
    assert first_claim([]) is None


def test_duplicate_app_id_is_refused_to_the_younger() -> None:
    tenant = Tenant.from_body(tenant_body("acme"))
    mine = Claim(created="2026-02-01T00:00:00Z", namespace="team-a", name="acme")
    older = Claim(created="2026-01-01T00:00:00Z", namespace="team-b", name="acme")
    with pytest.raises(InvalidSpec) as info:
        check_claims(tenant, mine, {("app", "acme"): [older, mine]})
    assert info.value.reason == "DuplicateAppId"
    assert "team-b/acme" in info.value.message
    check_claims(tenant, older, {("app", "acme"): [older, mine]})  # the older one is fine
    with pytest.raises(InvalidSpec) as info:
        check_claims(tenant, mine, {("db", "mozaiks_acme"): [older]})
    assert info.value.reason == "DuplicateDatabase"


def test_runtime_uri_swaps_credentials_and_database() -> None:
    uri = runtime_uri(
        "mongodb://admin:s3cret@db-0:27018,db-1/?authSource=admin&tls=true",
        database="mozaiks_a",
        username="mozaiks_a",
        password="p@ss/word",
    )
    assert uri == (
        "mongodb://mozaiks_a:p%40ss%2Fword@db-0:27018,db-1/mozaiks_a?tls=true&authSource=mozaiks_a"
    )
    assert "s3cret" not in uri


def test_database_port() -> None:
    assert database_port("mongodb://a:b@h:27018/x") == 27018
    assert database_port("mongodb://h/x") == 27017
    assert database_port("mongodb://[::1]:1234/") == 1234


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOZAIKS_OPERATOR_WATCH_NAMESPACES", "a, b,")
    monkeypatch.setenv("MOZAIKS_OPERATOR_DRIFT_SECONDS", "5")
    monkeypatch.setenv("MOZAIKS_OPERATOR_ADMIN_MONGO_URI", "mongodb://x")
    settings = Settings.load()
    assert settings.watch_namespaces == ["a", "b"]
    assert settings.drift_seconds == 5
    assert settings.admin_mongo_uri is not None
    assert "mongodb://x" not in repr(settings)


def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOZAIKS_OPERATOR_DRIFT_SECONDS", "-1")
    with pytest.raises(SettingsError, match="MOZAIKS_OPERATOR_DRIFT_SECONDS"):
        Settings.load()
