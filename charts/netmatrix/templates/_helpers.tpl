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
{{- $labels := list }}
{{- range $k, $v := $root.Values.agents.labels }}
{{- $labels = append $labels (printf "%s=%s" $k $v) }}
{{- end }}
{{- if $root.Values.agents.topologyLabels }}
{{- $labels = concat $labels (list "topology.kubernetes.io/zone=$(NETMATRIX_TOPOLOGY_ZONE)" "topology.kubernetes.io/region=$(NETMATRIX_TOPOLOGY_REGION)") }}
- name: NETMATRIX_TOPOLOGY_ZONE
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['topology.kubernetes.io/zone']
- name: NETMATRIX_TOPOLOGY_REGION
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['topology.kubernetes.io/region']
{{- end }}
{{- if $labels }}
- name: NETMATRIX_NODE_LABELS
  value: {{ join "," $labels | quote }}
{{- end }}
{{- if ne (include "netmatrix.tls.mode" $root) "off" }}
{{ include "netmatrix.tls.clientEnv" $root }}
{{- end }}
{{- end }}

{{/*
Where the coordinator's certificate comes from: "off" (tls.enabled false),
"generate" (Helm's genCA/genSignedCert, kept across upgrades with lookup),
"existingSecret" or "certManager". Two sources at once, or a source missing
what it needs, fails the render with the fix.
*/}}
{{- define "netmatrix.tls.mode" -}}
{{- $tls := .Values.tls }}
{{- if not $tls.enabled }}
{{- print "off" }}
{{- else if and $tls.existingSecret $tls.certManager.enabled }}
{{- fail "tls.existingSecret and tls.certManager.enabled are two sources of the coordinator's certificate: set one of them" }}
{{- else if $tls.existingSecret }}
{{- if and $tls.clientAuth.enabled (not $tls.clientAuth.existingSecret) }}
{{- fail "tls.clientAuth.enabled with tls.existingSecret needs tls.clientAuth.existingSecret: the Secret with the agents' client certificate (tls.crt, tls.key), signed by the CA in ca.crt" }}
{{- end }}
{{- print "existingSecret" }}
{{- else if $tls.certManager.enabled }}
{{- if not $tls.certManager.issuerRef.name }}
{{- fail "tls.certManager.enabled needs tls.certManager.issuerRef.name: the Issuer or ClusterIssuer that signs the coordinator's certificate" }}
{{- end }}
{{- print "certManager" }}
{{- else }}
{{- print "generate" }}
{{- end }}
{{- end }}

{{/*
The Secrets of TLS: the coordinator's certificate (tls.crt, tls.key, ca.crt),
the agents' client certificate under mTLS, and the generated CA (its key
signs new certificates on upgrade; nothing mounts it).
*/}}
{{- define "netmatrix.tls.secretName" -}}
{{- default (printf "%s-tls" (include "netmatrix.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{- define "netmatrix.tls.clientSecretName" -}}
{{- default (printf "%s-tls-client" (include "netmatrix.fullname" .)) .Values.tls.clientAuth.existingSecret }}
{{- end }}

{{- define "netmatrix.tls.caSecretName" -}}
{{- printf "%s-ca" (include "netmatrix.fullname" .) }}
{{- end }}

{{/*
The name agents and the helm test verify the coordinator's certificate
against (NETMATRIX_TLS_SERVER_NAME), however they dial it.
*/}}
{{- define "netmatrix.tls.serverName" -}}
{{- printf "%s.%s.svc" (include "netmatrix.coordinator.fullname" .) (include "netmatrix.namespace" .) }}
{{- end }}

{{/*
The coordinator certificate's DNS names and IP addresses, as JSON lists: the
Service's names, localhost and 127.0.0.1 (port-forwards), and the extra ones.
*/}}
{{- define "netmatrix.tls.dnsNames" -}}
{{- $svc := include "netmatrix.coordinator.fullname" . }}
{{- $ns := include "netmatrix.namespace" . }}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.tls.clusterDomain) "localhost" }}
{{- concat $names .Values.tls.extraDnsNames | uniq | toJson }}
{{- end }}

{{- define "netmatrix.tls.ipAddresses" -}}
{{- concat (list "127.0.0.1") .Values.tls.extraIpAddresses | uniq | toJson }}
{{- end }}

{{/*
Where TLS files are mounted in every pod.
*/}}
{{- define "netmatrix.tls.dir" -}}
/etc/netmatrix-tls
{{- end }}

{{/*
The TLS volume of a client pod (agents, helm test): the CA from the
coordinator's Secret (only ca.crt: never its key) and, under mTLS, the client
certificate.
*/}}
{{- define "netmatrix.tls.clientVolume" -}}
- name: tls
  projected:
    sources:
      - secret:
          name: {{ include "netmatrix.tls.secretName" . }}
          items:
            - key: ca.crt
              path: ca.crt
      {{- if .Values.tls.clientAuth.enabled }}
      - secret:
          name: {{ include "netmatrix.tls.clientSecretName" . }}
          items:
            - key: tls.crt
              path: tls.crt
            - key: tls.key
              path: tls.key
      {{- end }}
{{- end }}

{{/*
The TLS environment of a client (agents, helm test): verify the coordinator,
and under mTLS present the client certificate.
*/}}
{{- define "netmatrix.tls.clientEnv" -}}
- name: NETMATRIX_CA
  value: {{ printf "%s/ca.crt" (include "netmatrix.tls.dir" .) | quote }}
- name: NETMATRIX_TLS_SERVER_NAME
  value: {{ include "netmatrix.tls.serverName" . | quote }}
{{- if .Values.tls.clientAuth.enabled }}
- name: NETMATRIX_TLS_CERT
  value: {{ printf "%s/tls.crt" (include "netmatrix.tls.dir" .) | quote }}
- name: NETMATRIX_TLS_KEY
  value: {{ printf "%s/tls.key" (include "netmatrix.tls.dir" .) | quote }}
{{- end }}
{{- end }}

{{/*
The TLS volume mount, the same in every pod.
*/}}
{{- define "netmatrix.tls.mount" -}}
- name: tls
  mountPath: {{ include "netmatrix.tls.dir" . }}
  readOnly: true
{{- end }}

{{/*
The host agent's pod and container security contexts: agents.host's, and
with agents.host.rawPing root (uid and gid 0, runAsNonRoot false) plus
NET_RAW, for nodes whose net.ipv4.ping_group_range refuses the agent's group
ICMP echo sockets (a hostNetwork pod cannot set that sysctl).
*/}}
{{- define "netmatrix.agent.host.podSecurityContext" -}}
{{- $ctx := deepCopy (.Values.agents.host.podSecurityContext | default dict) }}
{{- if .Values.agents.host.rawPing }}
{{- $_ := set $ctx "runAsUser" 0 }}
{{- $_ = set $ctx "runAsGroup" 0 }}
{{- $_ = set $ctx "runAsNonRoot" false }}
{{- end }}
{{- with $ctx }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{- define "netmatrix.agent.host.securityContext" -}}
{{- $ctx := deepCopy (.Values.agents.host.securityContext | default dict) }}
{{- if .Values.agents.host.rawPing }}
{{- $caps := deepCopy (get $ctx "capabilities" | default dict) }}
{{- $_ := set $caps "add" (append (get $caps "add" | default list) "NET_RAW" | uniq) }}
{{- $_ = set $ctx "capabilities" $caps }}
{{- end }}
{{- with $ctx }}
{{- toYaml . }}
{{- end }}
{{- end }}
