"""Backends turn a validated resource into real objects (Kubernetes children or Azure ML resources)."""
