"""Pinned versions of the sim target's binaries and where they live in the cache.

ci/build-sim.sh carries the same pins as its defaults; testbed passes these to it, and a
unit test keeps the two in step. Kubernetes v1.33 is chosen so that the machine's
kubectl 1.32 stays within the supported client/server skew.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SimVersions:
    """One consistent set of component versions; the cache directory is named after it."""

    kubernetes: str = "v1.33.13"
    """k8s.io/kubernetes release: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl."""
    etcd: str = "v3.5.35"
    """go.etcd.io/etcd/server/v3 release (3.5.13+ for Kubernetes 1.33)."""
    kwok: str = "v0.7.0"
    """sigs.k8s.io/kwok release: kwok (the node/pod simulator) and kwokctl (the orchestrator)."""

    @property
    def slug(self) -> str:
        return f"k8s-{self.kubernetes}_etcd-{self.etcd}_kwok-{self.kwok}"

    def build_env(self) -> dict[str, str]:
        """Environment that tells ci/build-sim.sh which versions to build."""
        return {"K8S_VERSION": self.kubernetes, "ETCD_VERSION": self.etcd, "KWOK_VERSION": self.kwok}


PINNED = SimVersions()


def cache_root() -> Path:
    """testbed's cache: $TESTBED_CACHE, else ~/.cache/testbed."""
    override = os.environ.get("TESTBED_CACHE")
    return Path(override).expanduser() if override else Path.home() / ".cache" / "testbed"


def default_bin_dir(versions: SimVersions = PINNED, root: Path | None = None) -> Path:
    """Where `testbed sim build` puts the binaries of one version set."""
    return (root or cache_root()) / "sim" / versions.slug / "bin"


def state_dir(root: Path | None = None) -> Path:
    """Where sim clusters live (kwokctl's KWOK_WORKDIR, rendered configs, failure records)."""
    return (root or cache_root()) / "sim" / "state"
