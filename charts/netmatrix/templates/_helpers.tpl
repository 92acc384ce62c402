{{/*
Chart name, truncated to 63 characters (a DNS label).
*/}}
{{- define "netmatrix.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: "<release>-<chart>", or the release name when it
already contains the chart name. Truncated to 50 characters so that suffixes
such as "-coordinator" and "-agent-pod-b" keep names within 63.
*/}}
{{- define "netmatrix.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "netmatrix.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Namespace of every namespaced resource.
*/}}
{{- define "netmatrix.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels shared by everything of this release.
*/}}
{{- define "netmatrix.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netmatrix.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "netmatrix.labels" -}}
helm.sh/chart: {{ include "netmatrix.chart" . }}
{{ include "netmatrix.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: netmatrix
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels of the coordinator.
*/}}
{{- define "netmatrix.coordinator.selectorLabels" -}}
{{ include "netmatrix.selectorLabels" . }}
app.kubernetes.io/component: coordinator
{{- end }}

{{/*
Selector labels of one agent variant; call with (dict "root" $ "variant" "host").
Variants are "host", "pod-a" and "pod-b": every DaemonSet selects only its own pods.
*/}}
{{- define "netmatrix.agent.selectorLabels" -}}
{{ include "netmatrix.selectorLabels" .root }}
app.kubernetes.io/component: agent
netmatrix.dev/variant: {{ .variant }}
{{- end }}

{{/*
Name of the coordinator (Deployment, Service).
*/}}
{{- define "netmatrix.coordinator.fullname" -}}
{{- printf "%s-coordinator" (include "netmatrix.fullname" .) }}
{{- end }}

{{/*
Names of the ServiceAccounts.
*/}}
{{- define "netmatrix.coordinator.serviceAccountName" -}}
{{- if .Values.coordinator.serviceAccount.create }}
{{- default (include "netmatrix.coordinator.fullname" .) .Values.coordinator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.coordinator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "netmatrix.agent.serviceAccountName" -}}
{{- if .Values.agents.serviceAccount.create }}
{{- default (printf "%s-agent" (include "netmatrix.fullname" .)) .Values.agents.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.agents.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: registry/repository, then @digest or :tag.
*/}}
{{- define "netmatrix.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The Secret holding the shared token, and its key.
*/}}
{{- define "netmatrix.tokenSecretName" -}}
{{- default (printf "%s-token" (include "netmatrix.fullname" .)) .Values.token.existingSecret }}
{{- end }}

{{/*
The base64 token for the Secret this chart owns: the one already in the
cluster when there is one (so upgrades keep it and connected agents keep
working), else a new random one. `helm template` and `--dry-run` cannot look
up, so they show a fresh value.
*/}}
{{- define "netmatrix.tokenData" -}}
{{- $secret := lookup "v1" "Secret" (include "netmatrix.namespace" .) (include "netmatrix.tokenSecretName" .) }}
{{- $data := dig "data" dict ($secret | default dict) }}
{{- if hasKey $data .Values.token.key }}
{{- index $data .Values.token.key }}
{{- else }}
{{- randAlphaNum 48 | b64enc }}
{{- end }}
{{- end }}

{{/*
The token as an environment variable from the Secret.
*/}}
{{- define "netmatrix.tokenEnv" -}}
- name: NETMATRIX_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "netmatrix.tokenSecretName" . }}
      key: {{ .Values.token.key }}
{{- end }}

{{/*
Where agents and the test hook dial the coordinator.
*/}}
{{- define "netmatrix.coordinatorAddress" -}}
{{- if .Values.agents.coordinatorAddress }}
{{- .Values.agents.coordinatorAddress }}
{{- else }}
{{- printf "%s.%s.svc:%d" (include "netmatrix.coordinator.fullname" .) (include "netmatrix.namespace" .) (int .Values.coordinator.service.grpcPort) }}
{{- end }}
{{- end }}

{{/*
The environment every agent shares; call with (dict "root" $ "mode" "host" "metrics" .Values.agents.host.metrics).
*/}}
{{- define "netmatrix.agent.env" -}}
{{- $root := .root -}}
- name: NETMATRIX_COORDINATOR
  value: {{ include "netmatrix.coordinatorAddress" $root | quote }}
{{ include "netmatrix.tokenEnv" $root }}
- name: NETMATRIX_NODE
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: NETMATRIX_MODE
  value: {{ .mode | quote }}
- name: NETMATRIX_PORT_RANGE
  value: {{ $root.Values.agents.portRange | quote }}
- name: NETMATRIX_METRICS
  value: {{ ternary (printf "0.0.0.0:%d" (int .metrics.port)) "off" .metrics.enabled | quote }}
{{- end }}
