"""Catalogue entries for problems found before any rule runs: reading, parsing, rendering, schemas, waivers, Rego."""

from __future__ import annotations

from testbed.policy.model import Severity
from testbed.policy.rules.registry import rule

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

PARSE = rule("TB-PARSE", E, "input", "A file that does not parse cannot be applied or reviewed.",
             "Fix the YAML syntax (or remove binary/oversized files from the manifest paths).")
DUPLICATE_KEY = rule("TB-DUPLICATE-KEY", E, "input", "With a duplicate key, tools disagree on which value wins.",
                     "Keep one occurrence of the key.")
NOT_OBJECT = rule("TB-NOT-OBJECT", E, "input", "Every document must be a Kubernetes object with apiVersion and kind.",
                  "Make the document a mapping with string apiVersion, kind and metadata.name.")
RENDER = rule("TB-RENDER", E, "input", "A kustomization that does not build cannot be applied.",
              "Run `kubectl kustomize <dir>` and fix the reported error.")
SCHEMA = rule("TB-SCHEMA", E, "schema", "The API server rejects objects that do not match the OpenAPI schema (strict: unknown fields too).",
              "Fix the field named in the path; check spelling and nesting against `kubectl explain`.")
SCHEMA_MISSING = rule("TB-SCHEMA-MISSING", E, "schema", "An object with no schema is not checked at all.",
                      "Add the CRD to the render, pass --crd-dir or --schema-location, or --allow-missing-schemas.")
API_REMOVED = rule("TB-API-REMOVED", E, "schema", "The apiVersion is not served by the target Kubernetes version.",
                   "Migrate to the replacement apiVersion named in the message.")
API_DEPRECATED = rule("TB-API-DEPRECATED", W, "schema", "The apiVersion is deprecated and will be removed.",
                      "Migrate to the replacement apiVersion named in the message.")
WAIVER_EXPIRED = rule("TB-WAIVER-EXPIRED", E, "waiver", "An expired waiver means an accepted risk is no longer reviewed.",
                      "Fix the finding, or renew the waiver with its owner and a new expiry date.")
WAIVER_INVALID = rule("TB-WAIVER-INVALID", E, "waiver", "A waiver without a rule ID and reason is not a decision anyone can review.",
                      'Write the annotation as "RULE-ID: reason" (several separated by newlines or ";").')
REGO_ERROR = rule("TB-REGO-ERROR", E, "rego", "A policy that cannot be evaluated checks nothing.",
                  "Run the policy with `opa eval`/`conftest test` to see the error; fix or remove it.")
REGO_DENY = rule("REGO-DENY", E, "rego", "A user policy's deny/violation rule matched (ID shown as rego:<package>.<rule>).",
                 "Follow the policy's message.")
REGO_WARN = rule("REGO-WARN", W, "rego", "A user policy's warn rule matched (ID shown as rego:<package>.<rule>).",
                 "Follow the policy's message.")
