{{- define "mlops-operator.name" -}}mlops-operator{{- end -}}
{{- define "mlops-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default "mlops-operator" .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}
{{- define "mlops-operator.labels" -}}
app.kubernetes.io/name: mlops-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
