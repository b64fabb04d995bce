"""The runtime's settings Secret and the tenant's database credentials Secret.

Generated values (the database password) are made by the apply layer and passed in; the
builders only shape them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from mozaiks_operator import constants as c
from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.meta import child_metadata
from mozaiks_operator.specs.names import database_secret_name, settings_secret_name


@dataclass(frozen=True)
class DatabaseCredentials:
    """A tenant's own database user; `uri` is what the runtime connects with."""

    database: str
    username: str
    password: str
    uri: str


def runtime_settings(tenant: Tenant) -> dict[str, str]:
    """Non-secret runtime settings (MOZAIKS_* names the runtime's Settings read); unset = omitted.

    Secret values (LLM key, JWT key, Mongo URI, webhook signing key) are not here: the Deployment
    takes them straight from the Secrets that hold them.
    """
    spec = tenant.spec
    values: dict[str, str | int | bool | None] = {
        "MOZAIKS_APP_ID": spec.app_id,
        "MOZAIKS_MONGO_DATABASE": spec.database_name,
        "MOZAIKS_JWT_ISSUER": spec.auth.issuer,
        "MOZAIKS_JWT_AUDIENCE": spec.auth.audience,
        "MOZAIKS_JWT_JWKS_URL": spec.auth.jwks_url,
        "MOZAIKS_ALLOW_QUERY_TOKEN": spec.auth.allow_query_token,
        "MOZAIKS_LLM_BASE_URL": spec.llm.base_url,
        "MOZAIKS_LLM_MODEL": spec.llm.model,
        "MOZAIKS_BUDGET_TENANT_MONTHLY_TOKENS": spec.quotas.tenant_monthly_tokens,
        "MOZAIKS_BUDGET_USER_DAILY_TOKENS": spec.quotas.user_daily_tokens,
        "MOZAIKS_RATE_LIMIT_MESSAGES_PER_MINUTE": spec.quotas.messages_per_minute,
        "MOZAIKS_RATE_LIMIT_NEW_CHATS_PER_MINUTE": spec.quotas.new_chats_per_minute,
        "MOZAIKS_PUBLIC_URL": public_url(tenant),
        "MOZAIKS_WEBHOOK_URL": spec.webhook.url if spec.webhook else None,
        "MOZAIKS_BROKER_TOKEN_TTL_SECONDS": spec.broker.token_ttl_seconds if spec.broker else None,
        "MOZAIKS_OTEL_EXPORTER_OTLP_ENDPOINT": spec.tracing.otlp_endpoint,
        "MOZAIKS_OTEL_CAPTURE_CONTENT": spec.tracing.capture_content or None,
        "MOZAIKS_RETENTION_CHATS_DAYS": spec.retention.chats_days,
    }
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def public_url(tenant: Tenant) -> str | None:
    ingress = tenant.spec.ingress
    if ingress is None:
        return None
    scheme = "https" if ingress.tls_secret_name else "http"
    return f"{scheme}://{ingress.host}"


def _secret(tenant: Tenant, name: str, data: dict[str, str]) -> dict[str, Any]:
    # `data` (base64) rather than `stringData`: stringData is write-only, so server-side apply
    # would see a difference on every pass.
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": child_metadata(tenant, name=name, component="settings"),
        "type": "Opaque",
        "data": encoded,
    }


def build_settings_secret(tenant: Tenant) -> dict[str, Any]:
    return _secret(tenant, settings_secret_name(tenant), runtime_settings(tenant))


def build_database_secret(tenant: Tenant, creds: DatabaseCredentials) -> dict[str, Any]:
    data = {
        "database": creds.database,
        "username": creds.username,
        "password": creds.password,
        "uri": creds.uri,
    }
    secret = _secret(tenant, database_secret_name(tenant), data)
    secret["metadata"]["labels"][c.LABEL_COMPONENT] = "database"
    return secret
