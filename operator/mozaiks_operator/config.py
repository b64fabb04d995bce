"""The one Settings object of the operator process, read from MOZAIKS_OPERATOR_* variables.

`Settings.load()` validates and fails fast with a message naming the variable; no other module of
the operator reads `os.environ`.
"""

from __future__ import annotations

import socket
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SettingsError(Exception):
    """The environment does not describe an operator that can start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOZAIKS_OPERATOR_", extra="ignore", frozen=True)

    # Namespaces to watch, comma-separated; empty means all namespaces (cluster-wide).
    watch_namespaces: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The operator's own namespace (the chart sets it from the downward API): the Lease lives here.
    namespace: str = "default"

    # The admin connection tenants' databases and users are created through. In the chart it
    # comes from a Secret (secretKeyRef), so it never appears in a manifest.
    admin_mongo_uri: SecretStr | None = None
    # How runtimes reach the database, if not the admin URI's hosts (e.g. a cluster-internal
    # service name when the operator reaches MongoDB differently). Credentials are replaced.
    runtime_mongo_uri: str | None = None
    mongo_timeout_seconds: float = Field(5.0, gt=0)

    # Runtime image when a Tenant does not name one.
    default_runtime_image: str = "ghcr.io/mozaiks/runtime:0.1.0"
    # Drift repair: every tenant is re-applied at least this often.
    drift_seconds: float = Field(60.0, gt=0)
    # The namespace of the ingress controller: the only one allowed to reach runtimes.
    ingress_namespace: str = "ingress-nginx"

    # Leader election through a coordination.k8s.io Lease, so two replicas never act at once.
    leader_election: bool = True
    lease_name: str = "mozaiks-operator"
    lease_duration_seconds: float = Field(15.0, gt=1)
    lease_renew_seconds: float = Field(5.0, gt=0)
    identity: str = Field(default_factory=socket.gethostname)

    # kopf's liveness endpoint, e.g. http://0.0.0.0:8081/healthz (None: off).
    liveness_url: str | None = None
    log_level: str = "INFO"

    # Prometheus /metrics of the operator on this port (None: off), on all interfaces by default.
    metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str = "0.0.0.0"  # scraped from the pod network
    # The namespace Prometheus scrapes from: tenants' NetworkPolicies admit it to the runtimes'
    # metrics port (and to nothing else). A Tenant's spec.monitoring overrides it; empty: none.
    monitoring_namespace: str = ""
    # Where KEDA's prometheus scaler queries the runtimes' gauges. Tenants that scale on sockets
    # or runs get a KEDA ScaledObject when KEDA's CRD is installed and this is set; otherwise an
    # HPA on a Pods metric (served by a metrics adapter such as prometheus-adapter).
    keda_prometheus_url: str | None = None
    # Tracing: one OpenTelemetry span per reconcile pass, over OTLP/HTTP to this base URL (e.g.
    # http://collector:4318); off when unset. The SDK reads the standard OTEL_* variables.
    otel_exporter_otlp_endpoint: str | None = Field(None, pattern=r"^https?://[^/\s]+")
    otel_service_name: str = "mozaiks-operator"

    @field_validator("watch_namespaces", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [n.strip() for n in value.split(",") if n.strip()]
        return value

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read the environment (plus overrides) or raise SettingsError naming the variable."""
        try:
            return cls(**overrides)  # pydantic-settings fills in the rest from the environment
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                loc = "_".join(str(p) for p in err["loc"]).upper()
                lines.append(f"MOZAIKS_OPERATOR_{loc}: {err['msg']}" if loc else err["msg"])
            raise SettingsError("invalid operator settings:\n  " + "\n  ".join(lines)) from None
