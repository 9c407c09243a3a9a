output "airflow_chart_version" {
  description = "The Airflow chart version deployed (helm/helm.mk's HELM_CHART_VERSION)."
  value       = helm_release.airflow.version
}

output "secret_names" {
  description = "The Secrets made for the chart, by role (names from helm/values.yaml)."
  value       = local.secret_names
}
