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
{{ include "mozaiks.selectorLabels" . }}
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
