#!/usr/bin/python
"""Ansible module: create the generated Secrets that do not exist yet (testbed.bringup.secrets).

Values never appear in the result or the logs: only the names of the Secrets created. `ca_dir`
holds the testbed CA that signs TLS Secrets (items with `hosts`).
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={
        "secrets": {"type": "list", "elements": "dict", "required": True},
        "kubeconfig": {"type": "path", "required": True},
        "context": {"type": "str", "required": False, "default": None},
        "ca_dir": {"type": "path", "required": False, "default": None},
    })
    from pathlib import Path

    from testbed.bringup.secrets import ensure_secrets
    from testbed.errors import TestbedError
    from testbed.kube.api import KubeAPI

    p = module.params
    try:
        with KubeAPI(p["kubeconfig"], context=p["context"] or None) as api:
            created = ensure_secrets(api, p["secrets"], Path(p["ca_dir"]) if p["ca_dir"] else None)
    except TestbedError as err:
        module.fail_json(msg=err.message, component="secrets", diagnosis="")
    module.exit_json(changed=bool(created), created=created, component="secrets", step="secrets")


if __name__ == "__main__":
    main()
