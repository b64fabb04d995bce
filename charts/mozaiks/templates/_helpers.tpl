{{/* Names and labels shared by every template (rbac.yaml included). */}}

{{- define "mozaiks.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The operator's full name: <release>-operator, or <release> when it already ends so. */}}
{{- define "mozaiks.fullname" -}}
{{- if hasSuffix "operator" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mozaiks.serviceAccountName" -}}
{{- default (include "mozaiks.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "mozaiks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mozaiks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "mozaiks.labels" -}}
{{ include "mozaiks.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Labels without a component, for objects that are not the operator's own. */}}
{{- define "mozaiks.commonLabels" -}}
app.kubernetes.io/name: {{ include "mozaiks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mozaiks
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Image reference: repository@digest, else repository:tag (default: appVersion). */}}
{{- define "mozaiks.operatorImage" -}}
{{- $img := .Values.operator.image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* The operator's settings (MOZAIKS_OPERATOR_*, read by mozaiks_operator.config). */}}
{{- define "mozaiks.operatorEnv" -}}
- name: MOZAIKS_OPERATOR_WATCH_NAMESPACES
  value: {{ join "," .Values.watchNamespaces | quote }}
- name: MOZAIKS_OPERATOR_DEFAULT_RUNTIME_IMAGE
  value: {{ .Values.runtime.defaultImage | quote }}
- name: MOZAIKS_OPERATOR_ADMIN_MONGO_URI
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.adminSecret.name | quote }}
      key: {{ .Values.database.adminSecret.key | quote }}
{{- with .Values.database.runtimeUri }}
- name: MOZAIKS_OPERATOR_RUNTIME_MONGO_URI
  value: {{ . | quote }}
{{- end }}
- name: MOZAIKS_OPERATOR_INGRESS_NAMESPACE
  value: {{ .Values.runtime.ingressNamespace | quote }}
- name: MOZAIKS_OPERATOR_MONITORING_NAMESPACE
  value: {{ .Values.runtime.monitoringNamespace | quote }}
{{- with .Values.runtime.kedaPrometheusUrl }}
- name: MOZAIKS_OPERATOR_KEDA_PROMETHEUS_URL
  value: {{ . | quote }}
{{- end }}
- name: MOZAIKS_OPERATOR_METRICS_PORT
  value: {{ .Values.operator.metricsPort | quote }}
- name: MOZAIKS_OPERATOR_LEADER_ELECTION
  value: {{ .Values.operator.leaderElection | quote }}
- name: MOZAIKS_OPERATOR_LIVENESS_URL
  value: {{ printf "http://0.0.0.0:%d/healthz" (int .Values.operator.healthPort) | quote }}
- name: MOZAIKS_OPERATOR_LOG_LEVEL
  value: {{ .Values.operator.logLevel | quote }}
- name: MOZAIKS_OPERATOR_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
{{- range $k, $v := .Values.operator.extraEnv }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}
