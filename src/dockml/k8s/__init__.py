"""Kubernetes manifests and a Helm chart for a dockml image (``dockml k8s``)."""

from dockml.k8s.chart import render_chart
from dockml.k8s.files import write_files, yaml_stream
from dockml.k8s.manifests import render_manifests
from dockml.k8s.spec import K8sSpec, k8s_spec

__all__ = ["K8sSpec", "k8s_spec", "render_chart", "render_manifests", "write_files", "yaml_stream"]
