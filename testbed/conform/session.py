"""One conform run end to end: check the target, run the selected suites in order, write the bundle.

Suites run one after another (each may use pytest-xdist inside), all within one
deadline (timeouts.conform_s). Ctrl-C stops the running suite, still writes the bundle
with what finished, and re-raises so the CLI exits 130.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from testbed.bundle.layout import RunBundle, new_run_id
from testbed.bundle.writer import write_bundle
from testbed.conform.reachability import check_access, check_reachable
from testbed.conform.runner import ProgressCallback, SuiteRun, not_run, run_suite
from testbed.config import Config
from testbed.results.model import RunSummary, SuiteResult
from testbed.targets import get_target
from testbed.targets.base import Endpoints

# Environment every suite process receives (on top of the caller's environment).
ENV_RUN_ID = "TESTBED_RUN_ID"
ENV_RUN_DIR = "TESTBED_RUN_DIR"
ENV_TARGET = "TESTBED_TARGET"
ENV_CONFIG = "TESTBED_CONFIG"
ENV_SUITE = "TESTBED_SUITE"
ENV_ARTIFACTS_DIR = "TESTBED_ARTIFACTS_DIR"


@dataclass(frozen=True)
class ConformPlan:
    """Everything a run needs, validated by the CLI before anything starts."""

    config: Config
    suites: Mapping[str, Path]  # name -> directory, in run order
    reports_dir: Path
    config_file: Path | None = None  # passed on as TESTBED_CONFIG when the user named one
    workers: str | None = None


@dataclass(frozen=True)
class ConformObserver:
    """Hooks the CLI uses to show progress; all optional."""

    suite_started: Callable[[str], None] = lambda suite: None
    suite_progress: ProgressCallback | None = None
    suite_finished: Callable[[SuiteResult], None] = lambda result: None


def suite_environment(plan: ConformPlan, bundle: RunBundle, suite: str, base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env.update({
        ENV_RUN_ID: bundle.run_id,
        ENV_RUN_DIR: str(bundle.root.resolve()),
        ENV_TARGET: plan.config.target,
        ENV_SUITE: suite,
        ENV_ARTIFACTS_DIR: str(bundle.artifacts(suite).resolve()),
    })
    if plan.config_file is not None:
        env[ENV_CONFIG] = str(plan.config_file.resolve())
    env.update(kube_environment(plan.config))
    return env


def kube_environment(config: Config) -> dict[str, str]:
    """The cluster settings as TESTBED_KUBE__* variables, so each suite process (which loads its own
    config) reaches the same cluster and namespace as the reachability check, whatever set them."""
    if config.target == "local":
        return {}
    kube = config.kube
    values = {"PROFILE": kube.profile, "ENV": kube.env, "SIM_CLUSTER": kube.sim_cluster, "CONTEXT": kube.context,
              "KUBECONFIG": str(kube.kubeconfig.resolve()) if kube.kubeconfig else None}
    return {f"TESTBED_KUBE__{key}": value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class Reached:
    """A target that answered and is healthy, with the endpoints (and log files) it reported."""

    target: str
    endpoints: Endpoints


def reach_target(config: Config) -> Reached:
    """Raises TargetUnreachable (exit 3) unless the target is up and healthy within timeouts.reachability_s
    and its access() (kube: the port-forwards) opens from here."""
    target = get_target(config)
    endpoints = check_reachable(target, config.timeouts.reachability_s)
    check_access(target)  # on this thread, see testbed/conform/reachability.py
    return Reached(target.name, endpoints)


def run_conform(
    plan: ConformPlan, reached: Reached | None = None, observer: ConformObserver | None = None
) -> tuple[RunSummary, RunBundle]:
    """Run every suite of the plan and write the bundle; reaches the target first unless `reached` is given."""
    watch = observer or ConformObserver()
    timeouts = plan.config.timeouts
    started = datetime.now(timezone.utc)
    bundle = RunBundle(plan.reports_dir, new_run_id(started))
    reached = reached or reach_target(plan.config)
    bundle.create(tuple(plan.suites))  # before any suite runs: a bad reports dir is exit 2 up front
    deadline = time.monotonic() + timeouts.conform_s
    results: list[SuiteResult] = []
    interrupted = False
    try:
        for name, path in plan.suites.items():
            if time.monotonic() >= deadline:
                results.append(not_run(name, f"the conform deadline ({timeouts.conform_s:g}s) had passed"))
                watch.suite_finished(results[-1])
                continue
            watch.suite_started(name)
            run = SuiteRun(name, path, bundle, suite_environment(plan, bundle, name, os.environ), plan.workers)
            results.append(run_suite(run, deadline, watch.suite_progress))
            watch.suite_finished(results[-1])
    except KeyboardInterrupt:
        interrupted = True
        results += [not_run(name, "interrupted") for name in list(plan.suites)[len(results):]]
    summary = RunSummary(bundle.run_id, reached.target, started, datetime.now(timezone.utc), tuple(results))
    write_bundle(bundle, summary, reached.endpoints.logs)
    if interrupted:
        raise KeyboardInterrupt
    return summary, bundle
