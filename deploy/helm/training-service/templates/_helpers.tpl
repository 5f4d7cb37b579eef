{{/* Names and labels. */}}
{{- define "training-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "training-service.fullname" -}}
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

{{- define "training-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "training-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "training-service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "training-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: training-service
{{- end -}}

{{- define "training-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "training-service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "training-service.image" -}}
{{- $repo := required "image.repository is required (e.g. <account>.dkr.ecr.<region>.amazonaws.com/training-service)" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The three consumer groups (training-service/src/consumers.rs), with their topics. */}}
{{- define "training-service.groups" -}}
{{- $k := .Values.kafka -}}
- name: lecture-progress
  group: {{ printf "%s.lecture-progress" $k.group }}
  topic: {{ $k.topics.lecture }}
- name: attendance
  group: {{ printf "%s.attendance" $k.group }}
  topic: {{ $k.topics.attendance }}
- name: quiz-submitted
  group: {{ printf "%s.quiz-submitted" $k.group }}
  topic: {{ $k.topics.quiz }}
{{- end -}}

{{/* The KEDA replica ceiling: kafka.partitions unless set lower. */}}
{{- define "training-service.kedaMax" -}}
{{- $max := .Values.keda.maxReplicaCount | default .Values.kafka.partitions -}}
{{- int $max -}}
{{- end -}}

{{/*
Checks that need more than one value (the schema checks each value alone). Every failure
names the value to change.
*/}}
{{- define "training-service.validate" -}}
{{- $v := .Values -}}
{{- $_ := required "kafka.brokers is required: the MSK bootstrap brokers for the service (SASL/SCRAM: port 9096)" $v.kafka.brokers -}}
{{- $_ := required "schemaRegistry.url is required (http(s)://…, Confluent-compatible)" $v.schemaRegistry.url -}}
{{- $_ := required "jwt.audience is required (the `aud` every token must carry)" $v.jwt.audience -}}
{{- $_ := required "jwt.issuer is required (the `iss` every token must carry)" $v.jwt.issuer -}}
{{- $_ := required "secrets.jwtSecret.name is required: an existing Secret holding TRAINING_JWT_SECRET (at least 32 bytes)" $v.secrets.jwtSecret.name -}}
{{- if eq $v.store.kind "mongodb" -}}
{{- $_ := required "secrets.mongodbUri.name is required with store.kind=mongodb: an existing Secret holding MONGODB_URI" $v.secrets.mongodbUri.name -}}
{{- end -}}
{{- if eq $v.kafka.saslMechanism "AWS_MSK_IAM" -}}
{{- if ne $v.kafka.securityProtocol "sasl_ssl" -}}
{{- fail (printf "kafka.saslMechanism=AWS_MSK_IAM needs kafka.securityProtocol sasl_ssl, not %s" $v.kafka.securityProtocol) -}}
{{- end -}}
{{- if $v.kafka.saslUsername -}}
{{- fail "kafka.saslMechanism=AWS_MSK_IAM signs with the pod's IAM role: unset kafka.saslUsername (secrets.kafkaSaslPassword is not used)" -}}
{{- end -}}
{{- else if $v.kafka.saslMechanism -}}
{{- $_ := required "kafka.saslUsername is required with a SCRAM or PLAIN kafka.saslMechanism" $v.kafka.saslUsername -}}
{{- $_ := required "secrets.kafkaSaslPassword.name is required with a SCRAM or PLAIN kafka.saslMechanism: an existing Secret holding KAFKA_SASL_PASSWORD" $v.secrets.kafkaSaslPassword.name -}}
{{- if not (hasPrefix "sasl_" $v.kafka.securityProtocol) -}}
{{- fail (printf "kafka.saslMechanism=%s needs kafka.securityProtocol sasl_ssl (or sasl_plaintext), not %s" $v.kafka.saslMechanism $v.kafka.securityProtocol) -}}
{{- end -}}
{{- end -}}
{{- if and $v.kafka.mskIamRegion (ne $v.kafka.saslMechanism "AWS_MSK_IAM") -}}
{{- fail "kafka.mskIamRegion is only for kafka.saslMechanism=AWS_MSK_IAM" -}}
{{- end -}}
{{- if and $v.schemaRegistry.username (not $v.secrets.schemaRegistryPassword.name) -}}
{{- fail "schemaRegistry.username is set: secrets.schemaRegistryPassword.name must name the Secret with its password" -}}
{{- end -}}
{{- if and $v.staticMembership.enabled (eq $v.workload.kind "Deployment") -}}
{{- fail "staticMembership.enabled needs workload.kind=StatefulSet: a Deployment's pods get new names on every rollout, so each replaced pod's partitions would wait out staticMembership.sessionTimeoutMs (static members send no LeaveGroup). Use StatefulSet, or set staticMembership.enabled=false" -}}
{{- end -}}
{{- $budget := add $v.preStopSleepSeconds (div (add $v.runtime.shutdownTimeoutMs 999) 1000) 10 5 -}}
{{- if le (int $v.terminationGracePeriodSeconds) (int $budget) -}}
{{- fail (printf "terminationGracePeriodSeconds=%v is too short: it must exceed preStopSleepSeconds (%v) + runtime.shutdownTimeoutMs (%vs) + 10 s consumer close + 5 s margin = %v, or the kubelet kills the pod before offsets are committed" $v.terminationGracePeriodSeconds $v.preStopSleepSeconds (div (add $v.runtime.shutdownTimeoutMs 999) 1000) $budget) -}}
{{- end -}}
{{- if $v.keda.enabled -}}
{{- if and $v.keda.maxReplicaCount (gt (int $v.keda.maxReplicaCount) (int $v.kafka.partitions)) -}}
{{- fail (printf "keda.maxReplicaCount=%v exceeds kafka.partitions=%v: replicas beyond the partition count get no partitions (raise kafka.partitions if the topics have more)" $v.keda.maxReplicaCount $v.kafka.partitions) -}}
{{- end -}}
{{- if gt (int $v.keda.minReplicaCount) (int (include "training-service.kedaMax" .)) -}}
{{- fail (printf "keda.minReplicaCount=%v exceeds the maximum (%v)" $v.keda.minReplicaCount (include "training-service.kedaMax" .)) -}}
{{- end -}}
{{- if eq $v.keda.auth.mode "aws_msk_iam" -}}
{{- $_ := required "keda.auth.awsRegion is required with keda.auth.mode=aws_msk_iam" $v.keda.auth.awsRegion -}}
{{- end -}}
{{- if eq $v.keda.auth.mode "scram_sha512" -}}
{{- $_ := required "keda.auth.scramSecret.name is required with keda.auth.mode=scram_sha512" $v.keda.auth.scramSecret.name -}}
{{- end -}}
{{- end -}}
{{- if and $v.podDisruptionBudget.enabled (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) -}}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (set the other to null)" -}}
{{- end -}}
{{- end -}}
