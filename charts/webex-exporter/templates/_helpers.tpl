{{/*
The chart's name.
*/}}
{{- define "webex-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name: the release's, with the chart's name unless it
already contains it. At most 63 characters (DNS names).
*/}}
{{- define "webex-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "webex-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "webex-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/*
Labels of every resource.
*/}}
{{- define "webex-exporter.labels" -}}
helm.sh/chart: {{ include "webex-exporter.chart" . }}
{{ include "webex-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "webex-exporter.name" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "webex-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webex-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "webex-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "webex-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "webex-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The Secret holding the credentials (token, or OAuth client secret and
refresh token) and the webhook secret: the user's, else the chart's.
*/}}
{{- define "webex-exporter.credentialsSecret" -}}
{{- if .Values.webex.oauth.enabled }}
{{- .Values.webex.oauth.existingSecret | default (include "webex-exporter.fullname" .) }}
{{- else }}
{{- .Values.webex.token.existingSecret | default (include "webex-exporter.fullname" .) }}
{{- end }}
{{- end }}

{{- define "webex-exporter.webhookSecret" -}}
{{- .Values.webhook.secret.existingSecret | default (printf "%s-webhook" (include "webex-exporter.fullname" .)) }}
{{- end }}

{{- define "webex-exporter.claimName" -}}
{{- .Values.state.persistence.existingClaim | default (include "webex-exporter.fullname" .) }}
{{- end }}
