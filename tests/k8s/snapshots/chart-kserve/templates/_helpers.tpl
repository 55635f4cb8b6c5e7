{{- define "dockml.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dockml.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "dockml.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dockml.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dockml.labels" -}}
{{ include "dockml.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "dockml.image" -}}
{{- .Values.image.repository }}{{ with .Values.image.tag }}:{{ . }}{{ end }}
{{- end }}

{{- define "dockml.check" -}}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.replicas)) }}
{{- fail "autoscaling.maxReplicas must be at least replicas" }}
{{- end }}
{{- if le (int .Values.shutdown.graceSeconds) (int .Values.shutdown.drainSeconds) }}
{{- fail "shutdown.graceSeconds must exceed shutdown.drainSeconds" }}
{{- end }}
{{- end }}

{{- /* The pod, shared by the Deployment and the InferenceService's predictor. */ -}}
{{- define "dockml.pod" -}}
{{- $port := ternary (int .Values.port) "http" .Values.kserve.enabled -}}
automountServiceAccountToken: false
enableServiceLinks: false
terminationGracePeriodSeconds: {{ add .Values.shutdown.graceSeconds 5 }}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: {{ ternary "kserve-container" "dockml" .Values.kserve.enabled }}
    image: {{ include "dockml.image" . | quote }}
    ports:
      - containerPort: {{ .Values.port }}
        protocol: TCP
        {{- if not .Values.kserve.enabled }}
        name: http
        {{- end }}
    env:
      {{- if .Values.kserve.enabled }}
      - name: PROTOCOL
        value: v2
      {{- end }}
      - name: DOCKML_PORT
        value: {{ .Values.port | quote }}
      - name: DOCKML_SHUTDOWN_DRAIN_S
        value: {{ .Values.shutdown.drainSeconds | quote }}
      - name: DOCKML_SHUTDOWN_GRACE_S
        value: {{ .Values.shutdown.graceSeconds | quote }}
      {{- with .Values.workers }}
      - name: DOCKML_WORKERS
        value: {{ . | quote }}
      {{- end }}
      {{- with .Values.apiKeySecret.name }}
      - name: DOCKML_API_KEY
        valueFrom:
          secretKeyRef:
            name: {{ . }}
            key: {{ $.Values.apiKeySecret.key }}
      {{- end }}
    resources:
      {{- toYaml .Values.resources | nindent 6 }}
    startupProbe:
      httpGet:
        path: /health/live
        port: {{ $port }}
      periodSeconds: 2
      timeoutSeconds: 2
      failureThreshold: 60
    livenessProbe:
      httpGet:
        path: /health/live
        port: {{ $port }}
      periodSeconds: 10
      timeoutSeconds: 2
      failureThreshold: 3
    readinessProbe:
      httpGet:
        path: /health/ready
        port: {{ $port }}
      periodSeconds: 5
      timeoutSeconds: 2
      failureThreshold: 2
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      capabilities:
        drop:
          - ALL
    volumeMounts:
      - name: tmp
        mountPath: /tmp
volumes:
  - name: tmp
    emptyDir:
      medium: Memory
      sizeLimit: {{ .Values.tmpSizeLimit | quote }}
{{- end }}
