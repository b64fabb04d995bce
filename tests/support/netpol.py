"""Kubernetes NetworkPolicy ingress semantics, evaluated on the objects (kwok enforces none).

`admits(policies, pod, namespace, source, port)`: may a connection from `source` (its namespace's
labels and its pod labels) reach `pod` in `namespace` on TCP `port`? As the API documents it:
a pod no Ingress policy selects takes everything; a selected pod takes what at least one rule of
one selecting policy allows. A rule allows a peer by namespaceSelector and/or podSelector (a
podSelector alone means the policy's own namespace) and a port by number or by the name of one
of the pod's container ports (endPort ranges included). ipBlock peers are not modelled: they
never match here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Source:
    namespace: str
    namespace_labels: Mapping[str, str]
    pod_labels: Mapping[str, str]


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector against labels; an empty selector selects everything."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _peer(peer: Mapping[str, Any], policy_ns: str, source: Source) -> bool:
    if "ipBlock" in peer:
        return False
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_sel is None and source.namespace != policy_ns:
        return False  # a podSelector alone: pods of the policy's own namespace
    return selects(ns_sel, source.namespace_labels) and selects(pod_sel, source.pod_labels)


def _port(entry: Mapping[str, Any], port: int, pod: Mapping[str, Any]) -> bool:
    if entry.get("protocol", "TCP") != "TCP":
        return False
    wanted = entry.get("port")
    if wanted is None:
        return True  # every port of the protocol
    if isinstance(wanted, str):
        named = {
            p.get("name"): p["containerPort"]
            for c in pod["spec"]["containers"]
            for p in c.get("ports") or []
        }
        return named.get(wanted) == port
    return int(wanted) <= port <= int(entry.get("endPort", wanted))


def _ingress(policy: Mapping[str, Any]) -> bool:
    spec = policy["spec"]
    return "Ingress" in spec.get("policyTypes", ["Ingress"])


def admits(
    policies: Iterable[Mapping[str, Any]],
    pod: Mapping[str, Any],
    source: Source,
    port: int,
) -> bool:
    namespace = pod["metadata"]["namespace"]
    labels = pod["metadata"].get("labels") or {}
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == namespace
        and _ingress(p)
        and selects(p["spec"].get("podSelector") or {}, labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from") or []
            ports = rule.get("ports") or []
            if peers and not any(_peer(p, namespace, source) for p in peers):
                continue
            if ports and not any(_port(e, port, pod) for e in ports):
                continue
            return True
    return False
