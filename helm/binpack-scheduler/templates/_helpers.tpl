{{/* The scheduler's name: its profile, its leader-election Lease, and the name of every object. */}}
{{- define "binpack.name" -}}
{{- required "schedulerName is required: the name pods set as spec.schedulerName" .Values.schedulerName -}}
{{- end -}}

{{/* The port kube-scheduler serves /healthz, /readyz and /metrics on (HTTPS; its --secure-port default). */}}
{{- define "binpack.port" -}}10259{{- end -}}

{{/* Where the ConfigMap is mounted and the file kube-scheduler reads with --config. */}}
{{- define "binpack.configDir" -}}/etc/kubernetes{{- end -}}
{{- define "binpack.configFile" -}}scheduler-config.yaml{{- end -}}

{{- define "binpack.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "binpack.labels" -}}
{{ include "binpack.selectorLabels" . }}
app.kubernetes.io/component: scheduler
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
