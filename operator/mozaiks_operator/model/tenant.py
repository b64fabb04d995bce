"""The Tenant spec as typed models. The CRD's OpenAPI schema is the admission-time contract;
these models read an admitted body and fill the same defaults, so code never sees a missing key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from mozaiks_runtime.workflows.model import MCP_ENV_PATTERN


class _Spec(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class SecretKeyRef(_Spec):
    """A key of a Secret in the Tenant's namespace."""

    name: str
    key: str


def _default_resources() -> dict[str, Any]:
    return {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}


class Autoscaling(_Spec):
    enabled: bool = False
    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(3, ge=1)
    # The CRD spells it like the HPA does (CPU in capitals), which to_camel would not.
    target_cpu_utilization_percentage: int = Field(
        80, ge=1, le=100, alias="targetCPUUtilizationPercentage"
    )
    # What loads a runtime: CPU, or open sockets / executing runs per pod (the CRD requires
    # targetPerPod for those two, see specs/scaling.py).
    metric: Literal["cpu", "sockets", "runs"] = "cpu"
    target_per_pod: int | None = Field(None, ge=1)


class RuntimeSpec(_Spec):
    image: str | None = None
    replicas: int = Field(1, ge=0)
    resources: dict[str, Any] = Field(default_factory=_default_resources)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)


class LLMSpec(_Spec):
    base_url: str | None = None
    model: str = "demo"
    api_key_secret_ref: SecretKeyRef | None = None


class AuthSpec(_Spec):
    issuer: str | None = None
    audience: str | None = None
    jwks_url: str | None = None
    secret_ref: SecretKeyRef | None = None  # HS256 shared secret
    public_key_secret_ref: SecretKeyRef | None = None  # PEM
    allow_query_token: bool = True


class IngressSpec(_Spec):
    host: str
    class_name: str | None = None
    tls_secret_name: str | None = None


class DatabaseSpec(_Spec):
    name: str | None = None
    uri_secret_ref: SecretKeyRef | None = None


class QuotaSpec(_Spec):
    tenant_monthly_tokens: int | None = None
    user_daily_tokens: int | None = None
    messages_per_minute: int | None = None
    new_chats_per_minute: int | None = None


class WebhookSpec(_Spec):
    """Where the runtime POSTs signed completion webhooks, and the Secret key that signs them."""

    url: str
    secret_ref: SecretKeyRef


class McpEnvVar(_Spec):
    """A MOZAIKS_MCP_* variable of the runtime, which workflows' MCP servers read their URL
    (`url_env`) or auth header (`auth.value_env`) from: a plain value or a Secret key."""

    name: str = Field(pattern=MCP_ENV_PATTERN)
    value: str | None = None
    secret_ref: SecretKeyRef | None = None


class MonitoringSpec(_Spec):
    """Who may scrape the runtime's metrics port (a LabelSelector over namespaces)."""

    namespace_selector: dict[str, Any] | None = None


class BrokerSpec(_Spec):
    """The session broker's signing key (a Secret key) and the lifetime of the tokens minted."""

    secret_ref: SecretKeyRef
    token_ttl_seconds: int = Field(900, ge=30, le=86_400)


class TracingSpec(_Spec):
    """OpenTelemetry traces of the tenant's runtime (docs/runtime.md, "Tracing")."""

    otlp_endpoint: str | None = None  # the collector's OTLP/HTTP base URL; None: off
    capture_content: bool = False  # message text, tool arguments and results on spans


RETENTION_PATTERN = r"^[1-9][0-9]{0,3}d$"  # days, as the CRD admits them (1d to 9999d)


class RetentionSpec(_Spec):
    """How long data is kept: `chats` idle longer than this (e.g. "90d") are deleted by the
    runtime's retention sweeper; unset keeps them."""

    chats: str | None = Field(None, pattern=RETENTION_PATTERN)

    @property
    def chats_days(self) -> int | None:
        return int(self.chats.removesuffix("d")) if self.chats else None


class TenantSpec(_Spec):
    app_id: str
    paused: bool = False
    deletion_policy: Literal["Retain", "Delete"] = "Retain"
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)
    llm: LLMSpec = Field(default_factory=LLMSpec)
    auth: AuthSpec = Field(default_factory=AuthSpec)
    ingress: IngressSpec | None = None
    database: DatabaseSpec = Field(default_factory=DatabaseSpec)
    quotas: QuotaSpec = Field(default_factory=QuotaSpec)
    webhook: WebhookSpec | None = None
    mcp_env: list[McpEnvVar] = Field(default_factory=list)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    broker: BrokerSpec | None = None
    tracing: TracingSpec = Field(default_factory=TracingSpec)
    retention: RetentionSpec = Field(default_factory=RetentionSpec)

    @property
    def database_name(self) -> str:
        """The tenant's database: explicit, else one per app id (the runtime's own default)."""
        return self.database.name or f"mozaiks_{self.app_id.replace('-', '_')}"

    @property
    def database_user(self) -> str:
        return f"mozaiks_{self.app_id.replace('-', '_')}"

    def secret_refs(self) -> dict[str, SecretKeyRef]:
        """Every user-owned Secret key the runtime needs, by spec path; all must exist first."""
        refs = {
            "llm.apiKeySecretRef": self.llm.api_key_secret_ref,
            "auth.secretRef": self.auth.secret_ref,
            "auth.publicKeySecretRef": self.auth.public_key_secret_ref,
            "database.uriSecretRef": self.database.uri_secret_ref,
            "webhook.secretRef": self.webhook.secret_ref if self.webhook else None,
            "broker.secretRef": self.broker.secret_ref if self.broker else None,
        }
        refs.update({f"mcpEnv[{i}].secretRef": v.secret_ref for i, v in enumerate(self.mcp_env)})
        return {path: r for path, r in refs.items() if r is not None}


class Tenant(BaseModel):
    """What reconcile needs from a Tenant body: identity, generation and the parsed spec."""

    model_config = ConfigDict(frozen=True)

    name: str
    namespace: str
    uid: str
    generation: int
    labels: dict[str, str]
    annotations: dict[str, str]
    spec: TenantSpec

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Tenant:
        meta = body["metadata"]
        return cls(
            name=meta["name"],
            namespace=meta["namespace"],
            uid=meta["uid"],
            generation=int(meta.get("generation", 1)),
            labels=dict(meta.get("labels") or {}),
            annotations=dict(meta.get("annotations") or {}),
            spec=TenantSpec.model_validate(body.get("spec") or {}),
        )


class Claim(BaseModel):
    """A Tenant's claim on a cluster-wide unique value (its app id, its database name)."""

    model_config = ConfigDict(frozen=True)

    created: str  # metadata.creationTimestamp (RFC 3339 sorts as text)
    namespace: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def first_claim(claims: Iterable[Claim]) -> Claim | None:
    """The claim that wins: the oldest Tenant, then by namespace/name (a stable tie-break)."""
    return min(claims, key=lambda x: (x.created, x.namespace, x.name), default=None)
