#!/usr/bin/python
"""Ansible module: start (present) or stop (absent) the stand-in operators on sim (testbed.bringup.sim_operators)."""

from __future__ import annotations

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "kubeconfig": {"type": "path", "required": True},
        "stages": {"type": "path", "required": False, "default": None},
        "state_dir": {"type": "path", "required": False, "default": None},
    })
    from testbed.bringup import sim_operators
    from testbed.errors import TestbedError

    p = module.params
    try:
        if p["state"] == "present":
            changed = sim_operators.ensure_running(Path(p["kubeconfig"]), Path(p["stages"]))
        else:
            changed = sim_operators.stop(Path(p["kubeconfig"]))
    except TestbedError as err:
        module.fail_json(msg=err.message, component="sim-operators", diagnosis=getattr(err, "diagnosis", ""))
    module.exit_json(changed=changed, component="sim-operators", step="sim-operators")


if __name__ == "__main__":
    main()
