"""Entitlement rules: what `contains`, `equals`, `anyOf` and `allOf` mean on real claim shapes,
and that malformed rules never validate."""

from __future__ import annotations

from typing import Any

import pytest

from mozaiks_runtime.auth.entitlements import allows, entitled
from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.workflows.model import AccessRules
from mozaiks_runtime.workflows.schema import WorkflowInvalid, validate_definition

pytestmark = pytest.mark.unit


def rules(**data: Any) -> AccessRules:
    return AccessRules.model_validate(data)


PRO = rules(anyOf=[{"claim": "roles", "contains": "pro"}])


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"roles": ["free", "pro"]}, True),
        ({"roles": "free pro"}, True),  # a space-separated string, like `scope`
        ({"roles": ["professional"]}, False),
        ({"roles": "professional"}, False),  # words, not substrings
        ({"roles": "pro-plus"}, False),
        ({"roles": []}, False),
        ({"roles": {"pro": True}}, False),  # an object holds no values for `contains`
        ({}, False),
        ({"role": "pro"}, False),
    ],
)
def test_contains(claims: dict[str, Any], expected: bool) -> None:
    assert allows(PRO, claims) is expected


def test_equals_is_exact_and_typed() -> None:
    gold = rules(allOf=[{"claim": "plan", "equals": "gold"}])
    assert allows(gold, {"plan": "gold"})
    assert not allows(gold, {"plan": "Gold"})
    assert not allows(gold, {"plan": ["gold"]})
    verified = rules(allOf=[{"claim": "email_verified", "equals": True}])
    assert allows(verified, {"email_verified": True})
    assert not allows(verified, {"email_verified": 1})  # JSON true is not 1
    assert not allows(verified, {"email_verified": "true"})
    tier = rules(allOf=[{"claim": "tier", "equals": 1}])
    assert allows(tier, {"tier": 1})
    assert not allows(tier, {"tier": True})
    groups = rules(anyOf=[{"claim": "groups", "contains": 7}])
    assert allows(groups, {"groups": [3, 7]})
    assert not allows(groups, {"groups": [True]})


def test_nested_claims_by_dotted_path_and_whole_names_first() -> None:
    keycloak = rules(anyOf=[{"claim": "realm_access.roles", "contains": "pro"}])
    assert allows(keycloak, {"realm_access": {"roles": ["pro"]}})
    assert not allows(keycloak, {"realm_access": {"roles": ["free"]}})
    assert not allows(keycloak, {"realm_access": ["pro"]})
    assert not allows(keycloak, {})
    assert allows(keycloak, {"realm_access.roles": ["pro"]})  # the whole name wins
    namespaced = rules(allOf=[{"claim": "https://acme.test/plan", "equals": "gold"}])
    assert allows(namespaced, {"https://acme.test/plan": "gold"})


def test_any_of_and_all_of_combine() -> None:
    both = rules(
        anyOf=[{"claim": "roles", "contains": "pro"}, {"claim": "roles", "contains": "staff"}],
        allOf=[{"claim": "email_verified", "equals": True}],
    )
    assert allows(both, {"roles": ["staff"], "email_verified": True})
    assert not allows(both, {"roles": ["staff"]})  # allOf fails
    assert not allows(both, {"roles": ["free"], "email_verified": True})  # no anyOf holds
    only_all = rules(
        allOf=[{"claim": "plan", "equals": "gold"}, {"claim": "scope", "contains": "chat"}]
    )
    assert allows(only_all, {"plan": "gold", "scope": "read chat"})
    assert not allows(only_all, {"plan": "gold", "scope": "read"})


def test_no_rules_is_open_and_dev_auth_checks_nothing() -> None:
    assert allows(None, {})
    anonymous = Identity(user_id="u", app_id="a")
    assert entitled(anonymous, None)
    assert not entitled(anonymous, PRO)
    assert entitled(Identity(user_id="u", app_id="a", claims={"roles": ["pro"]}), PRO)
    assert entitled(Identity(user_id="u", app_id="a", dev=True), PRO)


def workflow(access: object) -> dict[str, Any]:
    return {"name": "gated", "agents": [{"name": "A", "system_message": "hi"}], "access": access}


@pytest.mark.parametrize(
    ("access", "fragment"),
    [
        ({}, "$.access: give at least one rule"),
        ({"anyOf": []}, "$.access: give at least one rule"),
        ({"anyOf": [{"claim": "roles"}]}, "$.access.anyOf[0]: set exactly one of"),
        (
            {"allOf": [{"claim": "roles", "contains": "a", "equals": "b"}]},
            "$.access.allOf[0]: set exactly one of",
        ),
        ({"anyOf": [{"claim": "bad name", "equals": "x"}]}, "$.access.anyOf[0].claim"),
        ({"anyOf": [{"claim": "roles", "matches": "x"}]}, "$.access.anyOf[0].matches: unknown"),
        ({"any_of": [{"claim": "roles", "equals": "x"}]}, "$.access.any_of: unknown field"),
        ({"anyOf": [{"claim": "roles", "equals": ["x"]}]}, "$.access.anyOf[0].equals"),
        ({"anyOf": {"claim": "roles", "equals": "x"}}, "$.access.anyOf"),
        ("pro", "$.access"),
    ],
)
def test_malformed_rules_are_refused_with_their_path(access: object, fragment: str) -> None:
    with pytest.raises(WorkflowInvalid) as info:
        validate_definition(workflow(access), "gated.json")
    assert any(fragment in e for e in info.value.errors), info.value.errors


def test_well_formed_rules_validate() -> None:
    definition = validate_definition(
        workflow({"anyOf": [{"claim": "roles", "contains": "pro"}]}), "gated.json"
    )
    assert definition.access is not None
    assert definition.access.any_of[0].contains == "pro"
