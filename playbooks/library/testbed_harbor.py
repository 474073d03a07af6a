#!/usr/bin/python
"""Ansible module: bootstrap Harbor once it is healthy (testbed.bringup.harbor.bootstrap).

Creates the shop's project and the CI and pull robots, writes their credentials and Harbor's CA
into the Secrets that use them. Reports changed only when something was created, refreshed or
rewritten. Takes no secret as an argument and returns none: the admin password is read from
the cluster, robot secrets go straight into Secrets. On sim there is no Harbor API (the stand-in
Deployments run no code): it does nothing and says so as a simulated check.
"""

from __future__ import annotations

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

SIM_SKIP = "harbor bootstrap: simulated: skipped, no Harbor API on sim"


def main() -> None:
    module = AnsibleModule(argument_spec={
        "step": {"type": "str", "required": True},
        "refs": {"type": "list", "elements": "dict", "required": True},
        "kubeconfig": {"type": "path", "required": True},
        "context": {"type": "str", "required": False, "default": None},
        "sim": {"type": "bool", "required": False, "default": False},
        "harbor_url": {"type": "str", "required": False, "default": None},
        "kubectl": {"type": "path", "required": False, "default": None},
    })
    p = module.params
    admin = next((r for r in p["refs"] if r.get("role") == "admin"), {"namespace": "harbor"})
    if p["sim"]:
        module.exit_json(changed=False, step=p["step"], component="harbor", simulated=[SIM_SKIP],
                         note="simulated: skipped, no Harbor API on sim")

    from testbed.bringup.harbor import bootstrap, harbor_endpoint
    from testbed.errors import ProvisioningFailed, TestbedError
    from testbed.kube.api import KubeAPI

    try:
        with KubeAPI(p["kubeconfig"], context=p["context"] or None) as api, \
                harbor_endpoint(api, Path(p["kubeconfig"]), p["context"] or None, p["harbor_url"] or None,
                                namespace=admin["namespace"], kubectl=Path(p["kubectl"]) if p["kubectl"] else None) as (url, verify):
            report = bootstrap(api, url, p["refs"], verify=verify)
    except ProvisioningFailed as err:
        module.fail_json(msg=err.message, component="harbor", diagnosis=err.diagnosis, step=p["step"])
    except TestbedError as err:
        module.fail_json(msg=f"harbor: {err.message}", component="harbor", diagnosis="", step=p["step"])
    note = "; ".join(report.changed + report.notes) or "in sync: project, robots and Secrets as wanted"
    module.exit_json(changed=bool(report.changed), step=p["step"], component="harbor", changes=report.changed,
                     notes=report.notes, note=note)


if __name__ == "__main__":
    main()
