#!/usr/bin/python
"""Ansible module: delete a step's objects and wait until they are gone (testbed.bringup.waits.delete_and_wait)."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={
        "component": {"type": "str", "required": True},
        "step": {"type": "str", "required": True},
        "objects": {"type": "list", "elements": "dict", "required": True},
        "kubeconfig": {"type": "path", "required": True},
        "context": {"type": "str", "required": False, "default": None},
        "timeout_s": {"type": "float", "required": False, "default": 300.0},
    })
    from testbed.bringup.waits import delete_and_wait
    from testbed.errors import ProvisioningFailed, TestbedError
    from testbed.kube.api import KubeAPI

    p = module.params
    try:
        with KubeAPI(p["kubeconfig"], context=p["context"] or None) as api:
            result = delete_and_wait(api, p["component"], p["objects"], timeout_s=p["timeout_s"])
    except ProvisioningFailed as err:
        module.fail_json(msg=err.message, component=err.component, diagnosis=err.diagnosis, step=p["step"])
    except TestbedError as err:
        module.fail_json(msg=err.message, component=p["component"], diagnosis="", step=p["step"])
    module.exit_json(changed=bool(result["deleted"]), step=p["step"], component=p["component"], **result)


if __name__ == "__main__":
    main()
