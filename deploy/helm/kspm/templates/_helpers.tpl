{{/* The name of every object: the release name, suffixed with -kspm unless it says kspm already. */}}
{{- define "kspm.fullname" -}}
{{- if contains "kspm" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kspm" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kspm.labels" -}}
app.kubernetes.io/name: kspm
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kspm.selector" -}}
app.kubernetes.io/name: kspm
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The image: by digest when one is pinned, else by tag (default: the appVersion). */}}
{{- define "kspm.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}
