"""Talking to Kubernetes.

- `api`: the one client adapter (`KubeAPI`); the only module importing the kubernetes client.
- `objects`: plain-dict helpers (manifests, conditions) that need no cluster.
- `wait`: deadline-bound polling that reports what it waited for and the last state seen.
- `workloads`: Deployment manifests and rollout waits shared by tests, benchmarks, bring-up.
"""
