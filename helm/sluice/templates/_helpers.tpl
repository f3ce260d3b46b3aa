{{/* Names and labels */}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sluice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one role; call with (dict "ctx" $ "component" "api"). */}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sluice.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "sluice.secretName" -}}
{{- default (printf "%s-secret" (include "sluice.fullname" .)) .Values.secret.existingSecret -}}
{{- end -}}

{{/* The pods' ServiceAccount: the chart's own, or an existing one (empty name: the namespace's default). */}}
{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
A number from values as plain digits. Helm reads YAML numbers as float64, which print in
exponent form from 1e6 up (2048000 becomes 2.048e+06); whole numbers go through int64.
*/}}
{{- define "sluice.num" -}}
{{- if eq (float64 .) (float64 (int64 .)) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* Whole seconds, rounded up: Kubernetes durations here are integers. */}}
{{- define "sluice.ceil" -}}
{{- $whole := int64 . -}}
{{- if gt (float64 .) (float64 $whole) -}}
{{- add1 $whole -}}
{{- else -}}
{{- $whole -}}
{{- end -}}
{{- end -}}

{{/*
Worker grace period: a rollout or eviction lets a running task reach its hard limit, then the
worker kills the child (after WORKER_CANCEL_GRACE), requeues the job and closes Redis.
*/}}
{{- define "sluice.workerTerminationGrace" -}}
{{- $limit := include "sluice.ceil" .Values.config.TASK_TIME_LIMIT | int64 -}}
{{- $cancel := include "sluice.ceil" .Values.config.WORKER_CANCEL_GRACE | int64 -}}
{{- add $limit $cancel (int64 .Values.worker.shutdownMarginSeconds) -}}
{{- end -}}

{{/*
Worker memory limit: every child may reach WORKER_MAX_MEMORY_PER_CHILD before the supervisor
kills it, so the cgroup limit must hold all of them plus the parent; otherwise the kernel's OOM
killer would take the whole pod, parent included, before the supervisor's limit acts.
*/}}
{{- define "sluice.workerMemoryLimit" -}}
{{- if .Values.worker.resources.limits.memory -}}
{{- .Values.worker.resources.limits.memory -}}
{{- else -}}
{{- $perChildKiB := int64 .Values.config.WORKER_MAX_MEMORY_PER_CHILD -}}
{{- if eq $perChildKiB 0 -}}
{{- fail "config.WORKER_MAX_MEMORY_PER_CHILD is 0 (no per-child limit), so the worker memory limit cannot be computed: set worker.resources.limits.memory" -}}
{{- end -}}
{{- $perChildMiB := div (add $perChildKiB 1023) 1024 -}}
{{- printf "%dMi" (add (mul (int64 .Values.config.WORKER_CONCURRENCY) $perChildMiB) (int64 .Values.worker.parentMemoryMiB)) -}}
{{- end -}}
{{- end -}}

{{/* The queues the workers consume, trimmed, as a list. */}}
{{- define "sluice.workerQueues" -}}
{{- $queues := list -}}
{{- range splitList "," .Values.config.WORKER_QUEUES -}}
{{- $queues = append $queues (trim .) -}}
{{- end -}}
{{- toJson $queues -}}
{{- end -}}

{{/*
The same queues as a regex alternation inside a PromQL string. Queue names allow only
[A-Za-z0-9_.-], so "." is the one regex metacharacter to escape; PromQL strings take Go escapes,
hence two backslashes.
*/}}
{{- define "sluice.workerQueuesRegex" -}}
{{- $escaped := list -}}
{{- range include "sluice.workerQueues" . | fromJsonArray -}}
{{- $escaped = append $escaped (replace "." "\\\\." .) -}}
{{- end -}}
{{- join "|" $escaped -}}
{{- end -}}

{{/*
Checks that values.schema.json cannot express, because they compare two values. Rendered by
every Deployment, so `helm template` fails before anything is applied.
*/}}
{{- define "sluice.validate" -}}
{{- $c := .Values.config -}}
{{- if ge (float64 $c.TASK_SOFT_TIME_LIMIT) (float64 $c.TASK_TIME_LIMIT) -}}
{{- fail (printf "config.TASK_SOFT_TIME_LIMIT (%v) must be below config.TASK_TIME_LIMIT (%v)" $c.TASK_SOFT_TIME_LIMIT $c.TASK_TIME_LIMIT) -}}
{{- end -}}
{{- if lt (float64 $c.TASK_RETRY_BACKOFF_MAX) (float64 $c.TASK_RETRY_BACKOFF) -}}
{{- fail "config.TASK_RETRY_BACKOFF_MAX must not be below config.TASK_RETRY_BACKOFF" -}}
{{- end -}}
{{- if lt (float64 $c.ALERT_FAILURE_RATE_CRITICAL) (float64 $c.ALERT_FAILURE_RATE_WARNING) -}}
{{- fail "config.ALERT_FAILURE_RATE_CRITICAL must not be below config.ALERT_FAILURE_RATE_WARNING" -}}
{{- end -}}
{{- if lt (float64 $c.ALERT_TASK_DURATION_CRITICAL) (float64 $c.ALERT_TASK_DURATION_WARNING) -}}
{{- fail "config.ALERT_TASK_DURATION_CRITICAL must not be below config.ALERT_TASK_DURATION_WARNING" -}}
{{- end -}}
{{- if lt (float64 $c.ALERT_MEMORY_CRITICAL_MB) (float64 $c.ALERT_MEMORY_WARNING_MB) -}}
{{- fail "config.ALERT_MEMORY_CRITICAL_MB must not be below config.ALERT_MEMORY_WARNING_MB" -}}
{{- end -}}
{{- if eq (int64 $c.PORT) (int64 $c.WORKER_PORT) -}}
{{- fail "config.WORKER_PORT must differ from config.PORT" -}}
{{- end -}}
{{- if and .Values.metrics.enabled (eq (int64 .Values.api.service.port) (int64 $c.PORT)) -}}
{{- fail "api.service.port must differ from config.PORT while metrics.enabled: the Service's metrics port uses config.PORT" -}}
{{- end -}}
{{- if and .Values.metrics.enabled (eq (int64 .Values.worker.service.port) (int64 $c.WORKER_PORT)) -}}
{{- fail "worker.service.port must differ from config.WORKER_PORT while metrics.enabled: the Service's metrics port uses config.WORKER_PORT" -}}
{{- end -}}
{{- if not .Values.secret.existingSecret -}}
{{- if or (and (not .Values.secret.API_KEYS) (not .Values.secret.API_KEY_HASHES)) (not .Values.secret.REDIS_URL) -}}
{{- fail "set secret.existingSecret (a Secret with the keys API_KEYS or API_KEY_HASHES, and REDIS_URL), or secret.REDIS_URL with secret.API_KEYS or secret.API_KEY_HASHES" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tests.enabled (not .Values.tests.apiKey) (not .Values.secret.existingSecret) (not .Values.secret.API_KEYS) -}}
{{- fail "tests.enabled: the helm test pod sends a plain API key, and secret.API_KEY_HASHES holds only hashes: set tests.apiKey to a key whose SHA-256 is listed there, or set tests.enabled=false" -}}
{{- end -}}
{{- if and .Values.prometheusRule.enabled (not .Values.alerts.runbookBaseUrl) -}}
{{- fail "prometheusRule.enabled needs alerts.runbookBaseUrl, the URL where docs/operations.md is served (e.g. https://github.com/ORG/sluice/blob/v0.1.0/docs/operations.md): each alert's runbook_url is that URL and the anchor of its runbook section" -}}
{{- end -}}
{{- $as := .Values.worker.autoscaling -}}
{{- if and $as.hpa.enabled $as.keda.enabled -}}
{{- fail "worker.autoscaling: enable hpa or keda, not both (both would drive the same Deployment)" -}}
{{- end -}}
{{- if and (or $as.hpa.enabled $as.keda.enabled) (not .Values.metrics.enabled) -}}
{{- fail "worker.autoscaling needs metrics.enabled: the scaler reads sluice_queue_length as scraped by the chart's ServiceMonitor" -}}
{{- end -}}
{{- if gt (int64 $as.minReplicas) (int64 $as.maxReplicas) -}}
{{- fail "worker.autoscaling.minReplicas must not exceed maxReplicas" -}}
{{- end -}}
{{- if and $as.hpa.enabled (lt (int64 $as.minReplicas) 1) -}}
{{- fail "worker.autoscaling.minReplicas must be at least 1 with hpa (scaling to zero needs keda)" -}}
{{- end -}}
{{- end -}}
