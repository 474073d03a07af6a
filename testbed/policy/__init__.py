"""Manifest policy: checks every manifest that could reach a cluster, offline, before it is applied.

Layers, each importing only downward:
  loader/render  -> Documents (safe YAML, kustomize)
  schema/validate -> schema findings (Kubernetes OpenAPI, CRDs)
  rules/          -> built-in best-practice findings (per document and across documents)
  rego*           -> user Rego, conftest-compatible (the only place OPA/regopy are touched)
  waivers         -> marks findings waived, never drops them
  formats/        -> text, JSON, JUnit, SARIF
  engine          -> runs the layers and returns a Report; the CLI decides the exit code.
"""
