#!/usr/bin/python
"""Ansible module: the plan steps that have something to do (testbed.bringup.drift).

Returns `steps`: names of the steps not in sync (objects missing or different, or a wait not
holding) with the reason for each; site.yml runs only those. A step marked `every_run` (its state
lives outside the cluster, e.g. harbor:bootstrap on a real cluster) is always in the list, without
making the steps after it run. Never reports a change.
"""

from __future__ import annotations

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={
        "steps": {"type": "list", "elements": "dict", "required": True},
        "kubeconfig": {"type": "path", "required": True},
        "context": {"type": "str", "required": False, "default": None},
        "sim_stages": {"type": "str", "required": False, "default": None},
    })
    from testbed.bringup import sim_operators
    from testbed.bringup.drift import step_in_sync
    from testbed.errors import TestbedError
    from testbed.kube.api import KubeAPI
    from testbed.render import documents

    p = module.params
    todo, reasons = [], {}
    try:
        with KubeAPI(p["kubeconfig"], context=p["context"] or None) as api:
            for step in p["steps"]:
                if step.get("every_run"):
                    todo.append(step["name"])
                    reasons[step["name"]] = "runs every time: what it checks lives outside the cluster"
                    continue
                if step["role"] == "secrets":
                    missing = [f"{x['namespace']}/{x['name']}" for x in step["secrets"]
                               if api.get("v1", "Secret", x["name"], x["namespace"]) is None]
                    if missing:
                        todo.append(step["name"])
                        reasons[step["name"]] = f"missing: {', '.join(missing)}"
                    continue
                if step["role"] == "sim_operators":
                    if not sim_operators.in_sync(Path(p["kubeconfig"]), Path(p["sim_stages"] or "")):
                        todo.append(step["name"])
                        reasons[step["name"]] = "stand-in operators not running"
                    continue
                docs = documents(Path(step["file"]).read_text()) if step.get("file") else []
                ok, why = step_in_sync(api, docs, step.get("waits") or [])
                if not ok:
                    todo.append(step["name"])
                    reasons[step["name"]] = why
                    # everything after a step out of sync runs too: later steps may depend on it
                    todo.extend(s["name"] for s in p["steps"][p["steps"].index(step) + 1:])
                    break
    except TestbedError as err:
        module.fail_json(msg=err.message, component="drift", diagnosis="")
    module.exit_json(changed=False, steps=todo, reasons=reasons, component="drift", step="drift")


if __name__ == "__main__":
    main()
