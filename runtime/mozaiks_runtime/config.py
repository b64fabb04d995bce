"""The one Settings object of the runtime process, read from MOZAIKS_* variables at start-up.

Every variable is documented in `.env.example`. `Settings.load()` validates and fails fast with
a message that names the variable; no other module reads `os.environ`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mozaiks_runtime.workflows.model import MCP_ENV_PREFIX


class SettingsError(Exception):
    """The environment does not describe a runtime that can start."""


class ModelPrice(BaseSettings):
    """Price of a model in the currency of the deployment, per 1,000 tokens."""

    prompt: float = 0.0
    completion: float = 0.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOZAIKS_", extra="ignore", frozen=True)

    # Tenant
    app_id: str = Field("demo", pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

    # Storage: MongoDB when a URI is set, else the embedded SQLite file.
    mongo_uri: SecretStr | None = None
    mongo_database: str | None = None  # default: the URI's database, else mozaiks_<app_id>
    sqlite_path: Path = Path("var/mozaiks.sqlite3")

    # Workflows (in Kubernetes: the mounted ConfigMap)
    workflows_dir: Path = Path("workflows")
    workflows_poll_seconds: float = Field(2.0, gt=0)
    public_catalog: bool = True  # GET /api/workflows without a token (the widget needs it)

    # Identity. One key source at least, unless dev_auth is explicitly on.
    jwt_secret: SecretStr | None = None  # HS256 shared secret
    jwt_public_key: SecretStr | None = None  # PEM (RS256/ES256)
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(default_factory=list)  # default: by key
    jwt_leeway_seconds: int = Field(30, ge=0, le=300)
    jwt_jwks_cache_seconds: int = Field(300, ge=10)
    admin_scope: str = "mozaiks:admin"
    allow_query_token: bool = True  # ?access_token= on the WebSocket (what the widget sends)
    dev_auth: bool = False  # no token checks at all; never on by default

    # LLM: an OpenAI-compatible endpoint, or the built-in demo model when no base URL is set.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "demo"
    llm_timeout_seconds: float = Field(60.0, gt=0)

    # Waits
    input_timeout_seconds: float = Field(600.0, gt=0)
    ui_tool_timeout_seconds: float = Field(600.0, gt=0)
    run_timeout_seconds: float = Field(3600.0, gt=0)

    # Budgets and limits (None = unlimited)
    budget_tenant_monthly_tokens: int | None = Field(None, ge=0)
    budget_user_daily_tokens: int | None = Field(None, ge=0)
    rate_limit_messages_per_minute: int = Field(60, ge=1)
    rate_limit_new_chats_per_minute: int = Field(20, ge=1)
    price_table: dict[str, ModelPrice] = Field(default_factory=dict)  # JSON: {"gpt-4o": {...}}

    # HTTP: the largest request body read (an AG-UI run carries its thread's whole history).
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)

    # WebSocket
    max_frame_bytes: int = Field(64 * 1024, ge=1024)
    heartbeat_seconds: float = Field(25.0, gt=0)
    max_connections: int = Field(10_000, ge=1)
    # Frames buffered per socket; a socket that falls further behind catches up from the store.
    ws_queue_frames: int = Field(1024, ge=8)

    # Replicas
    replica_id: str = Field(default_factory=socket.gethostname)
    lease_ttl_seconds: float = Field(30.0, gt=1)
    # How often each replica looks for runs a dead process left (resumed once its lease expires)
    # and for stops other replicas left for the runs it executes.
    orphan_sweep_seconds: float = Field(5.0, gt=0)
    stop_poll_seconds: float = Field(1.0, gt=0)

    # Serving
    # On SIGTERM, how long open HTTP responses (AG-UI event streams follow runs for minutes) may
    # go on before they are cut and the shutdown (runs stopped for another replica to resume,
    # the journal flushed, spans exported) proceeds; keep it under the pod's grace period (30 s).
    shutdown_grace_seconds: float = Field(10.0, gt=0)
    dev_page: bool = False  # the dev page at / (on in `make run`)
    log_level: str = "INFO"
    public_url: str | None = None  # how clients reach us, for ws_url in responses
    # Host pages on other origins that may call the HTTP API (the widget's start and catalog
    # calls); empty = same origin only. Tokens travel in headers, so no credentials mode.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Completion webhooks (docs/webhooks.md): off unless a URL is set; the secret signs them.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_max_outbox: int = Field(10_000, ge=1)  # when full, the oldest delivery is dropped
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_max_attempts: int = Field(12, ge=1)  # then the delivery is dropped as dead
    webhook_retry_base_seconds: float = Field(2.0, gt=0)  # first retry; doubles each time
    webhook_retry_max_seconds: float = Field(600.0, gt=0)

    # MCP servers (docs/workflows.md): every MOZAIKS_MCP_* variable, by name (see `mcp_env`).
    _mcp_env: dict[str, SecretStr] = PrivateAttr(default_factory=dict)
    # Prometheus /metrics on a port of its own (None: on the HTTP port, as before). With a port
    # set, the HTTP port answers /metrics with 404, so a NetworkPolicy can admit scrapers to
    # this port alone (docs/operations.md).
    metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str = "0.0.0.0"  # scraped from the pod network
    # Session broker (docs/security.md): the app's backend signs service tokens with this secret
    # (HS256, `aud` and scope `mozaiks:broker`) to create sessions on behalf of its users; the
    # runtime answers with a user token bound to the chat, valid this long. Off when unset.
    broker_jwt_secret: SecretStr | None = None
    broker_token_ttl_seconds: int = Field(900, ge=30, le=86_400)
    broker_scope: str = Field("mozaiks:broker", min_length=1)

    # Tracing (docs/runtime.md, "Tracing"): OpenTelemetry spans over OTLP/HTTP when an endpoint
    # is set (the collector's base URL, e.g. http://collector:4318); off and free otherwise. The
    # SDK reads the standard OTEL_* variables (headers, sampler, batching) itself.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = Field(
        "mozaiks-runtime",
        validation_alias=AliasChoices(
            "MOZAIKS_OTEL_SERVICE_NAME", "OTEL_SERVICE_NAME", "otel_service_name"
        ),
    )
    otel_capture_content: bool = False  # message text, tool arguments and results on spans
    otel_metrics: bool = True  # the GenAI metrics too (off for a receiver of traces only)

    # Retention (Tenant spec.retention.chats): chats idle longer than this many days are
    # deleted by every replica's retention sweeper (chats/retention.py); unset keeps them.
    retention_chats_days: int | None = Field(None, ge=1, le=36500)
    retention_sweep_seconds: float = Field(600.0, gt=0)
    retention_batch_size: int = Field(100, ge=1, le=1000)  # chats per delete
    retention_max_batches: int = Field(50, ge=1)  # per sweep: a backlog goes over a few sweeps

    @field_validator("webhook_url", "otel_exporter_otlp_endpoint")
    @classmethod
    def _check_http_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError on a bad port
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host")
        return url

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        """Comma-separated environment values become lists."""
        if isinstance(data, dict):
            for name in ("jwt_algorithms", "cors_origins"):
                raw = data.get(name)
                if isinstance(raw, str):
                    data[name] = [item.strip() for item in raw.split(",") if item.strip()]
        return data

    @model_validator(mode="after")
    def _collect_mcp_env(self) -> Self:
        self._mcp_env = {
            k: SecretStr(v) for k, v in os.environ.items() if k.startswith(MCP_ENV_PREFIX)
        }
        return self

    @property
    def mcp_env(self) -> Mapping[str, SecretStr]:
        """The MOZAIKS_MCP_* variables: workflows take their MCP servers' URLs and auth headers
        from these by name; no other variable is ever readable to a workflow."""
        return self._mcp_env

    @model_validator(mode="after")
    def _check_identity(self) -> Self:
        sources = [self.jwt_secret, self.jwt_public_key, self.jwt_jwks_url]
        if not self.dev_auth and not any(sources):
            raise ValueError(
                "no JWT key source: set MOZAIKS_JWT_SECRET, MOZAIKS_JWT_PUBLIC_KEY or "
                "MOZAIKS_JWT_JWKS_URL (or MOZAIKS_DEV_AUTH=true for local development only)"
            )
        return self

    @model_validator(mode="after")
    def _check_webhook(self) -> Self:
        if self.webhook_url and not (
            self.webhook_secret and self.webhook_secret.get_secret_value()
        ):
            raise ValueError(
                "MOZAIKS_WEBHOOK_SECRET is required when MOZAIKS_WEBHOOK_URL is set "
                "(it signs every delivery)"
            )
        return self

    @model_validator(mode="after")
    def _check_broker(self) -> Self:
        broker = self.broker_jwt_secret.get_secret_value() if self.broker_jwt_secret else None
        if broker is not None and len(broker) < 32:
            raise ValueError("MOZAIKS_BROKER_JWT_SECRET must be at least 32 characters")
        if broker is not None and self.jwt_secret and broker == self.jwt_secret.get_secret_value():
            # One secret for both would let a user token's signer act as the broker.
            raise ValueError("MOZAIKS_BROKER_JWT_SECRET must differ from MOZAIKS_JWT_SECRET")
        if self.broker_scope == self.admin_scope:
            raise ValueError("MOZAIKS_BROKER_SCOPE must differ from MOZAIKS_ADMIN_SCOPE")
        return self

    @property
    def database_name(self) -> str:
        """The MongoDB database: explicit, else the URI's path, else one per tenant."""
        if self.mongo_database:
            return self.mongo_database
        if self.mongo_uri is not None:
            from pymongo.uri_parser import parse_uri

            parsed = parse_uri(self.mongo_uri.get_secret_value())
            if parsed.get("database"):
                return str(parsed["database"])
        return f"mozaiks_{self.app_id.replace('-', '_')}"

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read the environment (plus overrides) or raise SettingsError naming the variable."""
        try:
            return cls(**overrides)  # pydantic-settings fills in the rest from MOZAIKS_*
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                name = "_".join(str(part) for part in err["loc"]).upper()
                lines.append(f"MOZAIKS_{name}: {err['msg']}" if name else err["msg"])
            raise SettingsError("invalid runtime settings:\n  " + "\n  ".join(lines)) from None
