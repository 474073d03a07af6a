"""The `sim` target: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) whose nodes and pods are simulated by kwok, run by `kwokctl --runtime binary`.

It exists because these machines have no container engine: the project still needs a real
Kubernetes API to test its Kubernetes code against, and users get a no-nodes dry run of a
full bring-up in seconds. Modules: `versions` (pins and cache layout), `build` (building the
binaries), `binaries` (finding them), `config` (rendering kwokctl's config), `nodes`
(simulated node manifests), `cluster` (up/down/status), `processes` (pid/port checks).
"""
