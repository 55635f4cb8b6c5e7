"""The same objects as manifests.py, as a Helm chart: fixed templates, and a values file that
holds the K8sSpec. Rendered with the values as written, the chart gives what render_manifests
gives (plus Helm's release labels); tests/k8s checks that with Helm's own engine."""

from __future__ import annotations

from typing import Any

from dockml.constants import APP_USER_ID, KILL_MARGIN_S
from dockml.k8s.manifests import SERVICE_PORT
from dockml.k8s.spec import K8sSpec
from dockml.k8s.yamltext import dump

CHART_VERSION = "0.1.0"


def values(spec: K8sSpec) -> list[tuple[str, str, Any]]:
    """(comment, key, value) for each top-level key of values.yaml."""
    return [
        ("The image built by `dockml build`.", "image", {"repository": spec.image_repository, "tag": spec.image_tag}),
        ("Pods to run; with autoscaling, the fewest.", "replicas", spec.replicas),
        (
            (
                "A HorizontalPodAutoscaler on CPU use, as a share of the CPU request. Scale by pods: each pod\n"
                "already runs one dockml worker per CPU of its limit."
            ),
            "autoscaling",
            {
                "enabled": spec.autoscaling,
                "maxReplicas": spec.max_replicas,
                "targetCPUUtilizationPercentage": spec.target_cpu_percent,
            },
        ),
        (
            (
                "dockml starts one worker process per CPU of the limit (rounded up). Requests equal to limits\n"
                "give the pods the Guaranteed QoS class. /tmp is in memory and counts towards the memory limit."
            ),
            "resources",
            {
                "requests": {"cpu": spec.cpu, "memory": spec.memory},
                "limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
            },
        ),
        ("Worker processes per pod (DOCKML_WORKERS); null: one per CPU of the limit.", "workers", spec.workers),
        ("The container's port (DOCKML_PORT); 1024 or more, since the pod has no privileges.", "port", spec.port),
        ("The Service's port.", "service", {"port": SERVICE_PORT}),
        (
            (
                'A Secret whose key holds the API key (DOCKML_API_KEY); name "": no key. Create it with\n'
                "kubectl create secret generic NAME --from-literal=api-key=$(openssl rand -hex 32)"
            ),
            "apiKeySecret",
            {"name": spec.api_key_secret or "", "key": spec.api_key_secret_key},
        ),
        (
            (
                "After SIGTERM dockml keeps serving drainSeconds with /health/ready at 503, while the\n"
                "endpoints drop the pod, then finishes requests in progress; it exits within graceSeconds.\n"
                f"terminationGracePeriodSeconds is graceSeconds + {KILL_MARGIN_S}."
            ),
            "shutdown",
            {"drainSeconds": spec.drain_s, "graceSeconds": spec.grace_s},
        ),
        (
            "Size of the in-memory /tmp, the only writable path (the root filesystem is read-only).",
            "tmpSizeLimit",
            spec.tmp_size,
        ),
        (
            (
                "A KServe InferenceService (Open Inference Protocol, KServe's Standard mode) instead of the\n"
                "Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget."
            ),
            "kserve",
            {"enabled": spec.kserve},
        ),
    ]


def _values_yaml(spec: K8sSpec) -> str:
    parts = [
        f"# Values for the {spec.name} chart, written by `dockml k8s --helm`; "
        "docs/kubernetes.md in dockml says what each does.\n"
    ]
    for comment, key, value in values(spec):
        parts.append("\n" + "".join(f"# {line}\n" for line in comment.splitlines()) + dump({key: value}))
    return "".join(parts)


def _chart_yaml(spec: K8sSpec) -> str:
    chart = {
        "apiVersion": "v2",
        "name": spec.name,
        "description": f"{spec.name}: models served by dockml",
        "type": "application",
        "version": CHART_VERSION,
    }
    if spec.image_tag:
        chart["appVersion"] = spec.image_tag
    return dump(chart)


_HELPERS = """\
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
terminationGracePeriodSeconds: {{ add .Values.shutdown.graceSeconds <margin> }}
securityContext:
  runAsNonRoot: true
  runAsUser: <user>
  runAsGroup: <user>
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
""".replace("<margin>", str(KILL_MARGIN_S)).replace("<user>", str(APP_USER_ID))

_DEPLOYMENT = """\
{{- include "dockml.check" . }}
{{- if not .Values.kserve.enabled }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "dockml.fullname" . }}
  labels:
    {{- include "dockml.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "dockml.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "dockml.selectorLabels" . | nindent 8 }}
    spec:
      {{- include "dockml.pod" . | nindent 6 }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "dockml.selectorLabels" . | nindent 14 }}
{{- end }}
"""

_SERVICE = """\
{{- if not .Values.kserve.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "dockml.fullname" . }}
  labels:
    {{- include "dockml.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "dockml.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
{{- end }}
"""

_HPA = """\
{{- if and .Values.autoscaling.enabled (not .Values.kserve.enabled) }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "dockml.fullname" . }}
  labels:
    {{- include "dockml.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "dockml.fullname" . }}
  minReplicas: {{ .Values.replicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
"""

_PDB = """\
{{- if not .Values.kserve.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "dockml.fullname" . }}
  labels:
    {{- include "dockml.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "dockml.selectorLabels" . | nindent 6 }}
  unhealthyPodEvictionPolicy: AlwaysAllow
{{- end }}
"""

_INFERENCE_SERVICE = """\
{{- include "dockml.check" . }}
{{- if .Values.kserve.enabled }}
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {{ include "dockml.fullname" . }}
  labels:
    {{- include "dockml.labels" . | nindent 4 }}
  annotations:
    serving.kserve.io/deploymentMode: Standard
spec:
  predictor:
    minReplicas: {{ .Values.replicas }}
    maxReplicas: {{ ternary .Values.autoscaling.maxReplicas .Values.replicas .Values.autoscaling.enabled }}
    scaleMetric: cpu
    scaleTarget: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
    {{- include "dockml.pod" . | nindent 4 }}
{{- end }}
"""

_NOTES = """\
{{- if .Values.kserve.enabled }}
KServe now deploys {{ include "dockml.fullname" . }}; its address shows in
  kubectl get inferenceservice {{ include "dockml.fullname" . }} --namespace {{ .Release.Namespace }}
{{- else }}
{{ include "dockml.fullname" . }} is rolling out:
  kubectl rollout status deployment/{{ include "dockml.fullname" . }} --namespace {{ .Release.Namespace }}
Try it from this machine:
  kubectl port-forward --namespace {{ .Release.Namespace }} service/{{ include "dockml.fullname" . }} 5000:{{ .Values.service.port }}
  then open http://127.0.0.1:5000/apidocs
{{- end }}
"""  # noqa: E501 - one command per line, as a person copies it


def render_chart(spec: K8sSpec) -> dict[str, str]:
    """The chart's files, by path inside the chart folder. Deterministic."""
    return {
        "Chart.yaml": _chart_yaml(spec),
        "values.yaml": _values_yaml(spec),
        "templates/_helpers.tpl": _HELPERS,
        "templates/deployment.yaml": _DEPLOYMENT,
        "templates/service.yaml": _SERVICE,
        "templates/hpa.yaml": _HPA,
        "templates/pdb.yaml": _PDB,
        "templates/inferenceservice.yaml": _INFERENCE_SERVICE,
        "templates/NOTES.txt": _NOTES,
    }
