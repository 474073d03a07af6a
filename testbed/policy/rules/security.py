"""Security-context rules, resolved per container (container settings override the pod's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from testbed.policy.model import Document, Finding, Severity
from testbed.policy.rules.registry import per_document, rule
from testbed.policy.rules.workloads import containers, pod_spec
from testbed.policy.settings import PolicySettings

NON_ROOT = rule("TB-SEC-NON-ROOT", Severity.ERROR, "security",
                "A process running as root turns a container escape into node root.",
                "Set securityContext.runAsNonRoot: true (or a non-zero runAsUser) on the pod or container.")
PRIVILEGED = rule("TB-SEC-PRIVILEGED", Severity.ERROR, "security",
                  "A privileged container has all host devices and capabilities.",
                  "Remove securityContext.privileged or set it to false.")
PRIV_ESCALATION = rule("TB-SEC-PRIVILEGE-ESCALATION", Severity.ERROR, "security",
                       "setuid binaries can gain more privileges than the container started with.",
                       "Set securityContext.allowPrivilegeEscalation: false on every container.")
READ_ONLY_ROOT = rule("TB-SEC-READONLY-ROOTFS", Severity.ERROR, "security",
                      "A writable root filesystem lets an attacker persist tools in the container.",
                      "Set securityContext.readOnlyRootFilesystem: true; mount emptyDir where writes are needed.")
CAPABILITIES = rule("TB-SEC-CAPABILITIES", Severity.ERROR, "security",
                    "Default capabilities (NET_RAW, CHOWN, ...) are more than most apps need.",
                    "Set securityContext.capabilities.drop: [ALL] and add back only what is needed.")
SECCOMP = rule("TB-SEC-SECCOMP", Severity.ERROR, "security",
               "Without a seccomp profile every syscall is allowed.",
               "Set securityContext.seccompProfile.type: RuntimeDefault (or Localhost) on the pod or container.")


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj.get("securityContext")
    return value if isinstance(value, dict) else {}


def _effective(name: str, container_sc: dict[str, Any], pod_sc: dict[str, Any]) -> Any:
    return container_sc[name] if name in container_sc else pod_sc.get(name)


@per_document(NON_ROOT, PRIVILEGED, PRIV_ESCALATION, READ_ONLY_ROOT, CAPABILITIES, SECCOMP)
def check_security(doc: Document, settings: PolicySettings) -> Iterator[Finding]:
    found = pod_spec(doc)
    if found is None:
        return
    spec, spec_path = found
    pod_sc = _sc(spec)
    for c in containers(spec, spec_path):
        sc = _sc(c.spec)
        sc_path = f"{c.path}.securityContext"
        who = f"container {c.name!r}"
        run_as_user = _effective("runAsUser", sc, pod_sc)
        non_root = _effective("runAsNonRoot", sc, pod_sc)
        if run_as_user == 0:
            yield NON_ROOT.at(doc, f"{sc_path}.runAsUser", f"{who} runs as UID 0")
        elif non_root is not True and not (isinstance(run_as_user, int) and run_as_user > 0):
            yield NON_ROOT.at(doc, f"{sc_path}.runAsNonRoot", f"{who} may run as root (no runAsNonRoot, no runAsUser)")
        if sc.get("privileged") is True:
            yield PRIVILEGED.at(doc, f"{sc_path}.privileged", f"{who} is privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            yield PRIV_ESCALATION.at(doc, f"{sc_path}.allowPrivilegeEscalation",
                                     f"{who} does not set allowPrivilegeEscalation: false")
        if sc.get("readOnlyRootFilesystem") is not True:
            yield READ_ONLY_ROOT.at(doc, f"{sc_path}.readOnlyRootFilesystem",
                                    f"{who} does not set readOnlyRootFilesystem: true")
        caps = sc.get("capabilities")
        drop = caps.get("drop") if isinstance(caps, dict) else None
        if not (isinstance(drop, list) and any(isinstance(d, str) and d.upper() == "ALL" for d in drop)):
            yield CAPABILITIES.at(doc, f"{sc_path}.capabilities.drop", f"{who} does not drop ALL capabilities")
        seccomp = _effective("seccompProfile", sc, pod_sc)
        kind = seccomp.get("type") if isinstance(seccomp, dict) else None
        if kind not in ("RuntimeDefault", "Localhost"):
            shown = f"seccomp profile type {kind}" if kind else "no seccomp profile"
            yield SECCOMP.at(doc, f"{sc_path}.seccompProfile", f"{who} has {shown}, not RuntimeDefault")
