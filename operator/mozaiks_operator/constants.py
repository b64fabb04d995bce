"""Every name the operator puts into the cluster: API group, kinds, labels, reasons, finalizer."""

from __future__ import annotations

from typing import Final

GROUP: Final = "mozaiks.ai"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
TENANT_KIND: Final = "Tenant"
TENANT_PLURAL: Final = "tenants"
WORKFLOW_KIND: Final = "Workflow"
WORKFLOW_PLURAL: Final = "workflows"

# Server-side apply field manager: every field we set is owned under this name.
FIELD_MANAGER: Final = "mozaiks-operator"
FINALIZER: Final = f"{GROUP}/finalizer"
# kopf keeps its progress and diff-base annotations under our group, not kopf.zalando.org.
KOPF_PREFIX: Final = GROUP

# Labels on every child. `tenant` selects a tenant's children; `managed-by` marks ours.
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "mozaiks-operator"
LABEL_NAME: Final = "app.kubernetes.io/name"
RUNTIME_NAME: Final = "mozaiks-runtime"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_TENANT: Final = f"{GROUP}/tenant"
LABEL_APP_ID: Final = f"{GROUP}/app-id"

# Pod-template annotation: a hash of the settings the pods read at start. It changes when the
# settings change (so pods roll) and not when workflows change (the runtime hot-reloads those).
ANNOTATION_CONFIG_HASH: Final = f"{GROUP}/config-hash"
# Parent metadata keys that are framework bookkeeping and never copied onto children.
BOOKKEEPING_PREFIXES: Final = (f"{GROUP}/", "kopf.zalando.org/", "kubectl.kubernetes.io/")

# The runtime container.
RUNTIME_PORT: Final = 8080
RUNTIME_PORT_NAME: Final = "http"
# /metrics on a port of its own (MOZAIKS_METRICS_PORT), so a NetworkPolicy can admit Prometheus
# to the metrics and nothing else; the HTTP port then answers /metrics with 404.
METRICS_PORT: Final = 9090
METRICS_PORT_NAME: Final = "metrics"
SERVICE_PORT: Final = 80
WORKFLOWS_MOUNT: Final = "/etc/mozaiks/workflows"
LIVENESS_PATH: Final = "/api/health"
READINESS_PATH: Final = "/api/ready"
RUNTIME_COMMAND: Final = ("mozaiks", "runtime", "--host", "0.0.0.0", "--port", str(RUNTIME_PORT))
RUNTIME_UID: Final = 10001
# The runtime's load gauges (runtime/mozaiks_runtime/metrics.py), what autoscaling scales on.
LOAD_GAUGES: Final = {"sockets": "mozaiks_ws_open", "runs": "mozaiks_runs_active"}

# A ConfigMap holds at most 1 MiB of data (keys and values); we refuse to exceed it.
CONFIGMAP_LIMIT_BYTES: Final = 1024 * 1024

# Tenant condition types.
COND_READY: Final = "Ready"
COND_PROGRESSING: Final = "Progressing"
COND_DEGRADED: Final = "Degraded"
# Workflow condition types.
COND_VALID: Final = "Valid"
COND_SERVED: Final = "Served"

# Condition reasons (also used as Event reasons).
REASON_AVAILABLE: Final = "RuntimeAvailable"
REASON_ROLLING_OUT: Final = "RollingOut"
REASON_RECONCILED: Final = "Reconciled"
REASON_PAUSED: Final = "Paused"
REASON_SECRET_MISSING: Final = "SecretMissing"  # noqa: S105  # a reason, not a secret
REASON_DUPLICATE_APP_ID: Final = "DuplicateAppId"
REASON_DUPLICATE_DATABASE: Final = "DuplicateDatabase"
REASON_INVALID_WEBHOOK: Final = "InvalidWebhook"
REASON_DATABASE_NOT_CONFIGURED: Final = "DatabaseNotConfigured"
REASON_DATABASE_UNREACHABLE: Final = "DatabaseUnreachable"
REASON_WORKFLOWS_TOO_LARGE: Final = "WorkflowsTooLarge"
REASON_CHILD_CONFLICT: Final = "ChildConflict"
REASON_APPLY_FAILED: Final = "ApplyFailed"
REASON_DATABASE_DROPPED: Final = "DatabaseDropped"
REASON_DATABASE_RETAINED: Final = "DatabaseRetained"
REASON_SCHEMA_VALID: Final = "SchemaValid"
REASON_SCHEMA_INVALID: Final = "SchemaInvalid"
REASON_TENANT_NOT_FOUND: Final = "TenantNotFound"
REASON_SERVED: Final = "Served"
REASON_DUPLICATE_WORKFLOW: Final = "DuplicateWorkflowName"
