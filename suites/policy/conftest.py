"""Policy suite: the testbed's own manifests pass the manifest policy. The plugin gives every test here the `policy` marker.

Runs offline (no target needed). Where the manifests live: $TESTBED_MANIFESTS (default ./manifests);
each kustomize overlay under overlays/ (<profile>-<env>) is rendered and checked. Optional inputs next
to the manifests: policy-waivers.yaml (waivers file) and policy/ (Rego, conftest-compatible).
"""
