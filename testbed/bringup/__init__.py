"""Bring-up of the testbed on a Kubernetes cluster: plan, playbooks via ansible-runner, record.

`plan` splits the upstream bundle and the rendered overlay into one document file per
component in the issue's order; the playbooks under playbooks/ apply each file with
server-side apply and wait with `waits`; `runner` drives them and builds the record.
"""
