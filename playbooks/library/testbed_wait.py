#!/usr/bin/python
"""Ansible module: wait until a component's objects are ready (testbed.bringup.waits.wait_ready).

Fails with the component, the object and a diagnosis (conditions, recent events, last log
lines of failing pods) when a wait's timeout passes. Never reports a change.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={
        "component": {"type": "str", "required": True},
        "step": {"type": "str", "required": True},
        "waits": {"type": "list", "elements": "dict", "required": True},
        "kubeconfig": {"type": "path", "required": True},
        "context": {"type": "str", "required": False, "default": None},
    })
    from testbed.bringup.waits import wait_ready
    from testbed.errors import ProvisioningFailed, TestbedError
    from testbed.kube.api import KubeAPI

    p = module.params
    try:
        with KubeAPI(p["kubeconfig"], context=p["context"] or None) as api:
            report = wait_ready(api, p["component"], p["waits"])
    except ProvisioningFailed as err:
        module.fail_json(msg=err.message, component=err.component, diagnosis=err.diagnosis, step=p["step"])
    except TestbedError as err:
        module.fail_json(msg=err.message, component=p["component"], diagnosis="", step=p["step"])
    module.exit_json(changed=False, step=p["step"], component=p["component"], ready=report.ready,
                     simulated=report.simulated, elapsed_s=round(report.elapsed_s, 3))


if __name__ == "__main__":
    main()
