"""Entitlements: may the caller run a workflow, by the `access` rules it declares? Pure.

A rule tests one claim of the caller's verified token: `contains` (the claim is a list holding
the value, or a space-separated string such as `scope` holding the word) or `equals` (the claim
is exactly the value; `true` never equals `1`). A claim name is looked up as a whole first, then
as a dotted path into nested objects (`realm_access.roles`). A workflow without rules is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mozaiks_runtime.auth.identity import Identity
from mozaiks_runtime.workflows.model import AccessRules, ClaimRule

NOT_ENTITLED = "NOT_ENTITLED"  # the stable reason code (eligible, errors, close reasons)
_MISSING = object()


def claim_value(claims: Mapping[str, Any], name: str) -> Any:
    """The claim's value, or a private sentinel when the token does not carry it."""
    if name in claims:
        return claims[name]
    node: Any = claims
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _same(a: Any, b: Any) -> bool:
    # JSON true is not 1: compare booleans only with booleans.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def rule_holds(rule: ClaimRule, claims: Mapping[str, Any]) -> bool:
    value = claim_value(claims, rule.claim)
    if value is _MISSING:
        return False
    if rule.equals is not None:
        return _same(value, rule.equals)
    wanted = rule.contains
    if isinstance(wanted, str):  # the common case: a role or scope; a string equals strings only
        if isinstance(value, list):
            return wanted in value
        return isinstance(value, str) and wanted in value.split()
    return isinstance(value, list) and any(_same(item, wanted) for item in value)


def allows(access: AccessRules | None, claims: Mapping[str, Any]) -> bool:
    """Every `allOf` rule holds and, when there are `anyOf` rules, at least one of them."""
    if access is None:
        return True
    for rule in access.all_of:
        if not rule_holds(rule, claims):
            return False
    return not access.any_of or any(rule_holds(rule, claims) for rule in access.any_of)


def entitled(identity: Identity, access: AccessRules | None) -> bool:
    """Whether this caller may run a workflow with these rules (dev auth checks nothing)."""
    return identity.dev or allows(access, identity.claims)
