"""Object-level rules: required labels, plaintext Secrets, termination grace bound."""

from __future__ import annotations

from collections.abc import Iterator

from testbed.policy.model import Document, Finding, Severity
from testbed.policy.rules.registry import per_document, rule
from testbed.policy.rules.workloads import pod_spec, pod_template_metadata
from testbed.policy.settings import PolicySettings

LABELS = rule("TB-LABELS-REQUIRED", Severity.ERROR, "labels",
              "Ownership, cost and dashboards are found through labels (default: app.kubernetes.io/name, part-of).",
              "Add the missing labels to metadata.labels (kustomize `labels:` does it for a whole render).")
SECRET_PLAINTEXT = rule("TB-SECRET-PLAINTEXT", Severity.ERROR, "secrets",
                        "Secret data in a manifest is committed to git in clear (base64 is not encryption).",
                        "Use SealedSecrets/ExternalSecrets/SOPS, or generate the Secret at deploy time.")
TERMINATION_GRACE = rule("TB-TERMINATION-GRACE", Severity.WARNING, "termination",
                         "A very long grace period stalls rollouts and node drains.",
                         "Keep terminationGracePeriodSeconds at or below --max-grace-period (default 120).")


def _missing(labels: object, required: tuple[str, ...]) -> list[str]:
    present = labels if isinstance(labels, dict) else {}
    return [key for key in required if not present.get(key)]


@per_document(LABELS)
def check_labels(doc: Document, settings: PolicySettings) -> Iterator[Finding]:
    required = settings.required_labels
    if not required or not doc.kind:
        return
    missing = _missing(doc.metadata.get("labels"), required)
    if missing:
        yield LABELS.at(doc, "metadata.labels", f"missing required labels: {', '.join(missing)}")
    if doc.kind != "Pod" and pod_spec(doc) is not None:
        meta = pod_template_metadata(doc) or {}
        missing = _missing(meta.get("labels"), required)
        if missing:
            found = pod_spec(doc)
            assert found is not None
            template_path = found[1].rsplit(".", 1)[0]
            yield LABELS.at(doc, f"{template_path}.metadata.labels",
                            f"pod template missing required labels: {', '.join(missing)}")


@per_document(SECRET_PLAINTEXT)
def check_secret_data(doc: Document, settings: PolicySettings) -> Iterator[Finding]:
    if doc.kind != "Secret" or doc.api_version != "v1":
        return
    for section in ("data", "stringData"):
        block = doc.obj.get(section)
        if isinstance(block, dict) and block:
            keys = ", ".join(sorted(str(k) for k in block)[:5])
            yield SECRET_PLAINTEXT.at(doc, section, f"Secret carries {section} in the manifest (keys: {keys})")


@per_document(TERMINATION_GRACE)
def check_termination_grace(doc: Document, settings: PolicySettings) -> Iterator[Finding]:
    found = pod_spec(doc)
    if found is None:
        return
    spec, spec_path = found
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and not isinstance(grace, bool) and grace > settings.max_termination_grace_s:
        yield TERMINATION_GRACE.at(doc, f"{spec_path}.terminationGracePeriodSeconds",
                                   f"terminationGracePeriodSeconds is {grace}, above {settings.max_termination_grace_s}")
