"""Talking to Kubernetes: one client adapter (`api.py`) and deadline-bound waits (`wait.py`).

Only `testbed.kube.api` imports the kubernetes client; everything else in testbed goes
through `KubeAPI`, so the client can be upgraded or replaced in one place.
"""
