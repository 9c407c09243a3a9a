"""A stand-in for a Kubernetes API server and one kubelet, for tests and `make dev-k8s` only.

Production runs on EKS. No Kubernetes control plane can run on the development machines (no
kube-apiserver, kubelet, kind, k3s or kwok), so this package serves the part of the Kubernetes API that
KubernetesPodOperator (sync and deferrable), its trigger, the KubernetesExecutor and `kubectl
get/describe/logs/delete` use, holds objects in memory, and runs pods: task images as podman
containers, the Airflow image as local processes of the dev venv. It pretends nothing beyond that:
any other call is answered 404 and recorded, and a test fails when the provider starts using one.
"""
