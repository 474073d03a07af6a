"""One bring-up, teardown or status check of the testbed on a cluster, for the kube and sim targets.

Fail fast first (the API must answer within a few seconds, else TargetUnreachable), then
plan, run the playbook, write the record into the run bundle, and turn a failed step into
ProvisioningFailed(component, message, diagnosis). The last applied plan is kept in the
state dir, so `down` removes what `up` applied and `status` checks what it waited for.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from testbed.bringup.bundle import Bundle, load_bundle
from testbed.bringup.plan import PLAN_FILE, Plan, build_plan, load_plan
from testbed.bringup.readiness import Target, evaluate
from testbed.bringup.record import Progress, Recorder
from testbed.bringup.standin import write_stand_in_bundle
from testbed.bundle.layout import new_run_id
from testbed.errors import ConfigError, ProvisioningFailed, TargetUnreachable, TestbedError
from testbed.kube.api import KubeAPI
from testbed.kube.objects import ref_label
from testbed.render import default_root

PREFLIGHT_TIMEOUT_S = 4.0
# Warnings of the plan go to the "testbed.bringup" logger; with no logging configured, Python
# prints a WARNING as its bare message on stderr (logging.lastResort): one line in the output.
log = logging.getLogger("testbed.bringup")


@dataclass(frozen=True)
class ClusterSpec:
    kubeconfig: Path
    context: str | None
    sim: bool
    profile: str
    env: str
    bundle: Path | None
    manifests_root: Path | None
    reports_dir: Path
    state_dir: Path
    timeout_cap_s: float | None = None
    harbor_url: str | None = None  # how the Harbor bootstrap reaches Harbor (else a port-forward)
    kubectl: Path | None = None  # the kubectl that port-forward runs (KubeTarget.kubectl()); None: the one on PATH
    gitops_repo: str | None = None  # kube.gitops_repo: the repository Argo CD syncs (else the placeholder)
    gitops_revision: str | None = None  # kube.gitops_revision (else the env's branch)


class BringUp:
    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self.saved = spec.state_dir / f"{spec.profile}-{spec.env}"
        self.last_record: Recorder | None = None
        self.last_workdir: Path | None = None

    # -- reachability ---------------------------------------------------------------------
    def api(self, request_timeout_s: float = 10.0) -> KubeAPI:
        try:
            return KubeAPI(self.spec.kubeconfig, context=self.spec.context, request_timeout_s=request_timeout_s)
        except ConfigError as err:  # a context that is not in the kubeconfig: the cluster cannot be reached
            raise TargetUnreachable(f"cannot use kubeconfig {self.spec.kubeconfig}"
                                    + (f" context {self.spec.context!r}" if self.spec.context else "") + f": {err.message}") from err

    def preflight(self) -> None:
        """The API server answers /readyz within a few seconds, or TargetUnreachable."""
        with self.api(PREFLIGHT_TIMEOUT_S) as api:
            ok, detail = api.probe("/readyz", timeout_s=PREFLIGHT_TIMEOUT_S)
        if not ok:
            where = f"context {self.spec.context!r} of " if self.spec.context else ""
            raise TargetUnreachable(f"the Kubernetes API of {where}{self.spec.kubeconfig} does not answer: {detail}")

    # -- plan -----------------------------------------------------------------------------
    def bundle(self, workdir: Path) -> Bundle:
        if self.spec.bundle is not None:
            bundle = load_bundle(self.spec.bundle)
            if bundle.stand_in and not self.spec.sim:
                raise ConfigError(f"{self.spec.bundle} is a stand-in bundle (a dry-run aid for sim); it must never be "
                                  "installed on a real cluster: write a real one with `testbed bundle DIR`", field="bundle")
            return bundle
        if not self.spec.sim:
            raise ConfigError("the kube target needs the upstream bundle: write it with `testbed bundle DIR` (needs "
                              "network) and pass --bundle DIR", field="bundle")
        write_stand_in_bundle(workdir / "stand-in-bundle")
        return load_bundle(workdir / "stand-in-bundle")

    def plan(self, workdir: Path) -> Plan:
        return build_plan(bundle=self.bundle(workdir), manifests_root=self.spec.manifests_root or default_root(),
                          profile=self.spec.profile, env=self.spec.env, sim=self.spec.sim,
                          kubeconfig=str(self.spec.kubeconfig.resolve()), context=self.spec.context,
                          workdir=workdir / "plan", timeout_cap_s=self.spec.timeout_cap_s, harbor_url=self.spec.harbor_url,
                          kubectl=self.spec.kubectl,
                          gitops_repo=self.spec.gitops_repo, gitops_revision=self.spec.gitops_revision,
                          tls_ca_dir=self.ca_dir)

    @property
    def ca_dir(self) -> Path:
        """The testbed CA of this target (ca.crt to trust, ca.key 0600); outlives teardowns, shared by envs."""
        return self.spec.state_dir / "ca"

    def _save(self, plan_dir: Path) -> None:
        if self.saved.exists():
            shutil.rmtree(self.saved)
        shutil.copytree(plan_dir, self.saved / "plan")
        # the saved plan must point at the saved step files
        text = (self.saved / "plan" / PLAN_FILE).read_text().replace(str(plan_dir), str(self.saved / "plan"))
        (self.saved / "plan" / PLAN_FILE).write_text(text)

    def saved_plan(self) -> Plan | None:
        path = self.saved / "plan" / PLAN_FILE
        return load_plan(path) if path.is_file() else None

    # -- up / down ------------------------------------------------------------------------
    def _workdir(self, what: str) -> Path:
        workdir = self.spec.reports_dir / new_run_id() / what
        workdir.mkdir(parents=True, exist_ok=True)
        return workdir.resolve()

    def up(self, progress: Progress | None = None) -> Recorder:
        from testbed.bringup.runner import run_playbook  # ansible-runner only when bringing up

        self.preflight()
        workdir = self._workdir("bringup")
        plan = self.plan(workdir)
        self._save(workdir / "plan")
        for line in plan.warnings:
            log.warning(line)
        record = run_playbook("site.yml", plan_file=workdir / "plan" / PLAN_FILE, workdir=workdir / "runner",
                              ident=f"up-{int(time.time())}", progress=_with_waits(plan, progress))
        record.warnings = list(plan.warnings)
        record.ca_cert = str(self.ca_dir / "ca.crt") if plan.tls_ca_dir else None
        record.write(workdir / "bringup.json")
        self.last_record, self.last_workdir = record, workdir
        _raise_on_failure(record, workdir)
        return record

    def down(self, progress: Progress | None = None) -> Recorder | None:
        from testbed.bringup.runner import run_playbook

        self.preflight()
        if self.saved_plan() is None:
            return None
        workdir = self._workdir("teardown")
        record = run_playbook("teardown.yml", plan_file=self.saved / "plan" / PLAN_FILE, workdir=workdir / "runner",
                              ident=f"down-{int(time.time())}", progress=progress)
        record.write(workdir / "teardown.json")
        self.last_record, self.last_workdir = record, workdir
        _raise_on_failure(record, workdir)
        shutil.rmtree(self.saved, ignore_errors=True)
        return record

    def clean(self) -> Recorder | None:
        """Tear down whatever the current plan would apply, whether or not this state dir applied it."""
        self.preflight()
        workdir = self._workdir("clean")
        self.plan(workdir)
        self._save(workdir / "plan")
        return self.down()

    # -- status ---------------------------------------------------------------------------
    def status(self) -> list[tuple[str, Target]]:
        """(component, target) for every wait of the last applied plan; empty when nothing was applied."""
        self.preflight()  # an unreachable API is exit 3 in seconds, not one timeout per wait
        plan = self.saved_plan()
        if plan is None:
            return []
        out = []
        with self.api() as api:
            for step in plan.steps:
                for wait in step.waits:
                    out.extend((step.component, t) for t in evaluate(api, wait))
        return out


def _with_waits(plan: Plan, progress: Progress | None) -> Progress | None:
    """Progress that says what a step is waiting on ("waiting: Deployment cnpg-system/... condition=Available +2")."""
    if progress is None:
        return None
    labels = {}
    for step in plan.steps:
        if step.waits:
            w = step.waits[0]
            labels[step.name] = f"waiting: {ref_label(w)} {w['for']}" + (f" +{len(step.waits) - 1}" if len(step.waits) > 1 else "")

    def report(step: str, phase: str) -> None:
        progress(step, labels.get(step, phase) if phase == "waiting" else phase)

    return report


def _raise_on_failure(record: Recorder, workdir: Path) -> None:
    if record.failure is not None:
        f = record.failure
        component = f.component or f.step
        message = f.message.removeprefix(f"{component}: ")
        raise ProvisioningFailed(component, f"{message} (bring-up record: {workdir})", f.diagnosis)
    if record.status != "successful":
        raise TestbedError(f"the playbook ended {record.status} (rc={record.rc}); see {record.artifacts}")
