"""The executor: a plan's steps, in order per service, services in parallel where
`depends_on` allows; images first, so a failed push changes nothing in ECS.

Per service: register (or reuse) -> create/update -> wait and check -> deregister
old revisions. A failed wait puts the service back on the revision it ran before,
waits for that, and deregisters nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecsdeploy import releases
from ecsdeploy.adapters.ecs import EcsReader, EcsWriter, family_and_revision, short_arn
from ecsdeploy.adapters.ecs_state import EcsService
from ecsdeploy.adapters.images import push_auth
from ecsdeploy.adapters.targets import Targets
from ecsdeploy.errors import EcsDeployError, OperationError, RefusedError
from ecsdeploy.plan.model import (
    CodeDeployStep,
    DeregisterStep,
    EcsConfigStep,
    ImageStep,
    Plan,
    RegisterStep,
    ScalingStep,
    SecretStep,
    ServicePlan,
    ServiceStep,
    WaitStep,
)
from ecsdeploy.plan.observe import LiveState

from .report import Reporter
from .runtime import Runtime
from .wait import Cancelled, WaitOutcome, Watch, report_explanation, report_record

DEFAULT_PARALLEL = 8


STATUSES = ("ok", "rolled_back", "failed", "skipped", "interrupted", "unchanged")

NOT_STARTED = "not started: the apply was interrupted"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceResult:
    """How one service of an apply ended; `status` is one of STATUSES."""

    key: str
    status: str
    message: str = ""
    arn: str | None = None  # the revision the service is on at the end
    details: list[str] = field(default_factory=list)
    old_revision: str | None = None  # what it ran before the apply
    new_revision: str | None = None  # what the apply moved it to
    deployment_id: str | None = None  # the ECS deployment the apply started
    started_at: datetime | None = None
    ended_at: datetime | None = None
    waited: bool = True  # False with --no-wait: "ok" means updated, not deployed

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "unchanged")

    @property
    def label(self) -> str:
        """The status in words, for people."""
        if self.status == "ok":
            return "deployed" if self.waited else "updated"
        return self.status.replace("_", " ")


def _ended(result: ServiceResult) -> str:
    """How a dependency ended, after "which": failed, was rolled back, was skipped."""
    return {"rolled_back": "was rolled back", "skipped": "was skipped"}.get(
        result.status, result.status.replace("_", " ")
    )


class Executor:
    """Sends what the plan holds, and nothing else: it never reads deploy.yaml."""

    def __init__(
        self,
        runtime: Runtime,
        plan: Plan,
        reporter: Reporter,
        *,
        wait: bool = True,
        parallel: int = DEFAULT_PARALLEL,
        cancel: threading.Event | None = None,
        live: LiveState | None = None,
        reuse_registered: bool = False,
    ) -> None:
        """`reuse_registered`: before registering, look whether the family's newest
        revision already equals the planned input (an apply of the same plan file that
        was interrupted after its register), and move the service to that one."""
        self.rt = runtime
        self.reuse_registered = reuse_registered
        # What the plan was checked against: each service's events before the change.
        self.live = live
        self.plan = plan
        self.reporter = reporter
        self.wait_enabled = wait
        self.parallel = max(1, parallel)
        self.cancel = cancel or threading.Event()
        self.reader = EcsReader(runtime.clients)
        self.writer = EcsWriter(runtime.clients)
        self.targets = Targets(runtime.clients)
        self.state: dict[str, str] = {}  # what each service has reached, for an interruption
        self.targets_of: dict[str, str] = {}  # the revision each service is moved to
        self.deployments: dict[str, str] = {}  # the ECS deployment each update started
        # Each service's ARN, for its release records.
        self.service_arns: dict[str, str] = {
            key: state.arn for key, state in (live.services if live else {}).items() if state.arn
        }
        self.secret_arns: dict[str, str] = {}  # secret name -> ARN (repository_credentials)

    # -- images -------------------------------------------------------------------------

    def push_images(self) -> None:
        """Every image step of the plan, in parallel; raises on the first failure."""
        steps = [s for sp in self.plan.services for s in sp.steps if isinstance(s, ImageStep)]
        owners = {
            s.target: sp.key
            for sp in self.plan.services
            for s in sp.steps
            if isinstance(s, ImageStep)
        }
        if not steps:
            return
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(steps))) as pool:
            futures = {pool.submit(self._image, s, owners[s.target]): s for s in steps}
            for future in futures:
                future.result()

    def _image(self, step: ImageStep, owner: str) -> None:
        # Everything comes from the step: a saved plan is applied exactly as planned.
        registry = self.plan.registries[step.registry]
        tag = step.target.rsplit(":", 1)[1]
        how = "re-tag" if step.method == "promote" else "push"
        self.reporter.step(owner, f"{how} {step.source} -> {step.target}")
        if step.method == "promote":
            source_tag = step.source.rsplit(":", 1)[1]
            digest = self.rt.stores[step.registry].retag(step.repository, source_tag, tag)
        else:
            from ecsdeploy.adapters.docker_engine import DockerEngine

            engine = (
                self.rt.local
                if isinstance(self.rt.local, DockerEngine)
                else DockerEngine(self.rt.resolver)
            )
            auth = push_auth(registry, self.rt.clients, os.environ)
            digest = engine.push(step.source, f"{registry.url}/{step.repository}", tag, auth)
        if step.method == "promote" and step.source_digest and digest != step.source_digest:
            raise OperationError(
                f"{step.target} has digest {digest}, expected {step.source_digest} of {step.source}"
            )
        self.reporter.done(owner, f"{step.target} ({digest[:19]})")

    # -- services -----------------------------------------------------------------------

    def run(self) -> list[ServiceResult]:
        results: dict[str, ServiceResult] = {}
        plans = {sp.key: sp for sp in self.plan.services}
        self._refuse_stale_ecs_config()
        self._note_resolved()
        try:
            self.push_images()
            self.write_secrets()
        except (Cancelled, KeyboardInterrupt):
            self.cancel.set()
            return [ServiceResult(k, "interrupted", "before any change to ECS") for k in plans]
        except EcsDeployError as exc:
            self.reporter.error(None, exc.message)
            return [
                ServiceResult(k, "failed" if sp.changed else "unchanged", f"images: {exc.message}")
                for k, sp in plans.items()
            ]
        # ecs.config before any service of the cluster changes: a new task must find
        # its instance able to pull from the private registry.
        failed_clusters = self.roll_out_ecs_config()
        if self.cancel.is_set():
            return [
                ServiceResult(k, "interrupted", "during the ecs.config roll-out") for k in plans
            ]
        for key, sp in plans.items():
            if sp.cluster in failed_clusters:
                results[key] = ServiceResult(
                    key, "failed", f"not deployed: {failed_clusters[sp.cluster]}"
                )
        pending = {k: sp for k, sp in plans.items() if k not in results}
        running: dict[Future[ServiceResult], str] = {}
        told_waiting: set[str] = set()

        def finished(result: ServiceResult) -> None:
            results[result.key] = result
            self.reporter.finished(result)

        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            while pending or running:
                for key, sp in list(pending.items()):
                    deps = [d for d in sp.depends_on if d in plans]
                    failed = [d for d in deps if d in results and not results[d].ok]
                    if failed and self.cancel.is_set():
                        # Its dependency was stopped by the interruption, not by a failure.
                        finished(ServiceResult(key, "interrupted", NOT_STARTED))
                        del pending[key]
                    elif failed:
                        why = f"it depends on {failed[0]}, which {_ended(results[failed[0]])}"
                        finished(ServiceResult(key, "skipped", f"not started: {why}"))
                        self.reporter.warning(key, f"skipped: {why}")
                        del pending[key]
                    elif all(d in results for d in deps) and not self.cancel.is_set():
                        running[pool.submit(self._service, sp)] = key
                        del pending[key]
                    elif key not in told_waiting and not self.cancel.is_set():
                        told_waiting.add(key)
                        waiting = [d for d in deps if d not in results]
                        self.reporter.progress(
                            key,
                            f"waiting for {', '.join(waiting)} (depends_on)",
                            waiting_for=waiting,
                        )
                if self.cancel.is_set() and not running:
                    for key in pending:
                        finished(ServiceResult(key, "interrupted", NOT_STARTED))
                    break
                if not running:
                    break
                try:
                    done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    # Stop waiting; each service stops at its next look and says where it is.
                    self.cancel.set()
                    self.reporter.warning(None, "interrupted: stopping (ECS goes on by itself)")
                    continue
                for future in done:
                    running.pop(future)
                    finished(future.result())
        return [results[k] for k in plans if k in results]

    def _note_resolved(self) -> None:
        """Say once which hosts ECSDEPLOY_RESOLVE sends elsewhere, among those used."""
        acting = [sp for sp in self.plan.services if sp.acts]
        registries = {
            self.plan.registries[s.registry].url
            for sp in acting
            for s in sp.steps
            if isinstance(s, ImageStep)
        }
        checks = set()
        if self.wait_enabled:
            for sp in acting:
                wait_step = sp.wait_step
                for lb in wait_step.load_balancers if wait_step is not None else ():
                    if lb.checks.http is not None:
                        checks.add(lb.checks.http.url)
        for line in self.rt.resolver.notes(registries, checks):
            self.reporter.warning(None, line)

    # -- registry credentials: secrets and ecs.config ------------------------------------

    def _refuse_stale_ecs_config(self) -> None:
        """A saved plan's roll-out must carry the settings apply would write now."""
        for sp in self.plan.services:
            for step in sp.steps:
                if not isinstance(step, EcsConfigStep):
                    continue
                managed = self.rt.ecs_configs.get(step.cluster_key)
                if managed is None or managed.digest != step.digest:
                    raise RefusedError(
                        f"plan is stale: the ecs.config of cluster {step.cluster} is not the "
                        "one planned (registry credentials or settings changed since)",
                        hint="make the plan again",
                    )

    def write_secrets(self) -> None:
        """Create or update the repository_credentials secrets of the plan."""
        from ecsdeploy.adapters.secrets_store import SecretsStore

        store = SecretsStore(self.rt.clients)
        for sp in self.plan.services:
            for step in sp.steps:
                if not isinstance(step, SecretStep) or step.name in self.secret_arns:
                    continue
                creds = self.rt.credentials[step.registry]
                url = self.plan.registries[step.registry].url
                self.reporter.step(sp.key, f"writing secret {step.name}")
                state = store.describe(step.name)  # it may exist since the plan
                if state.arn is None:
                    arn = store.create(
                        step.name, creds, f"ecsdeploy: credentials of registry {url}"
                    )
                else:
                    arn = state.arn
                    store.update(arn, creds)
                self.secret_arns[step.name] = arn
                self.reporter.done(sp.key, f"secret {step.name} written")

    def _resolve_secret_arns(self, td: dict[str, Any]) -> dict[str, Any]:
        """The task definition with every "(known after apply)" secret ARN filled in."""
        from ecsdeploy.adapters.secrets_store import SecretsStore
        from ecsdeploy.plan.planner import placeholder_secret

        out = dict(td)
        containers = []
        for container in td.get("containerDefinitions") or []:
            creds = container.get("repositoryCredentials") or {}
            name = placeholder_secret(creds.get("credentialsParameter"))
            if name is not None:
                arn = self.secret_arns.get(name) or SecretsStore(self.rt.clients).describe(name).arn
                if arn is None:
                    raise OperationError(f"secret {name} does not exist; run apply without a plan")
                container = {**container, "repositoryCredentials": {"credentialsParameter": arn}}
            containers.append(container)
        out["containerDefinitions"] = containers
        return out

    def roll_out_ecs_config(self) -> dict[str, str]:
        """Each cluster's roll-out, one after the other; cluster name -> why it failed."""
        failed: dict[str, str] = {}
        for sp in self.plan.services:
            for step in sp.steps:
                if not isinstance(step, EcsConfigStep):
                    continue
                # Imported here: most applies have no roll-out, and SSM's adapter is big.
                from ecsdeploy.adapters.container_instances import ContainerInstances
                from ecsdeploy.adapters.instances import InstancesAdapter
                from ecsdeploy.adapters.ssm import SsmAdapter

                from .ecsconfig_rollout import EcsConfigRollout

                rollout = EcsConfigRollout(
                    SsmAdapter(self.rt.clients),
                    ContainerInstances(self.rt.clients),
                    InstancesAdapter(self.rt.clients),
                    self.reader,
                    self.reporter,
                    self.cancel,
                    region=self.rt.clients.region,
                    poll=step.poll,
                    drain_timeout=step.drain_timeout,
                )
                try:
                    rollout.run(step, self.rt.ecs_configs[step.cluster_key], sp.key)
                except (Cancelled, KeyboardInterrupt):
                    self.cancel.set()
                    return failed
                except EcsDeployError as exc:
                    self.reporter.error(sp.key, exc.message)
                    if exc.hint:
                        self.reporter.error(sp.key, f"  hint: {exc.hint}")
                    failed[step.cluster] = exc.message
        return failed

    def _service(self, sp: ServicePlan) -> ServiceResult:
        started = _now()
        try:
            result = self._apply(sp)
        except Cancelled:
            # Once the update is sent, ECS is moving the service to the new revision.
            updated = sp.key in self.deployments
            result = ServiceResult(
                sp.key,
                "interrupted",
                self.state.get(sp.key, NOT_STARTED),
                self.targets_of[sp.key] if updated else sp.current_task_definition,
            )
        except EcsDeployError as exc:
            self.reporter.error(sp.key, exc.message)
            if exc.hint:
                self.reporter.error(sp.key, f"  hint: {exc.hint}")
            result = ServiceResult(sp.key, "failed", exc.message)
        result.old_revision = sp.current_task_definition
        result.started_at = started
        result.ended_at = _now()
        if result.new_revision is None:
            result.new_revision = self.targets_of.get(sp.key)
        result.deployment_id = result.deployment_id or self.deployments.get(sp.key)
        return result

    def _apply(self, sp: ServicePlan) -> ServiceResult:
        if not sp.acts:
            return ServiceResult(sp.key, "unchanged", "no changes", sp.current_task_definition)
        if not sp.waits and not any(
            isinstance(
                s,
                (RegisterStep, ServiceStep, CodeDeployStep, ScalingStep, WaitStep, DeregisterStep),
            )
            for s in sp.steps
        ):
            # Only a secret or its cluster's ecs.config changed, done before the services.
            return ServiceResult(
                sp.key, "unchanged", "no changes to the service", sp.current_task_definition
            )
        watch = Watch(
            self.reader,
            self.targets,
            self.reporter,
            sp.cluster,
            sp.name,
            sp.key,
            self.cancel,
            resolver=self.rt.resolver,
        )
        target = sp.current_task_definition
        register = sp.register
        if register is not None:
            if register.reuse_arn:
                target = register.reuse_arn
                self.reporter.done(sp.key, f"reusing {short_arn(target)}, already registered")
            else:
                wanted = self._resolve_secret_arns(dict(sp.task_definition))
                target = self._registered_already(register.family, wanted)
                if target is not None:
                    self.reporter.done(
                        sp.key, f"reusing {short_arn(target)}, registered by an earlier run"
                    )
                else:
                    self.reporter.step(sp.key, f"registering {register.family}")
                    target = self.writer.register_task_definition(wanted)
                    self.reporter.done(sp.key, f"registered {short_arn(target)}")
            self.targets_of[sp.key] = target
            self.state[sp.key] = f"{short_arn(target)} registered; the service was not changed"
        service_step = sp.service_step
        if service_step is not None:
            request = dict(service_step.request)
            # (A CODE_DEPLOY service's UpdateService has none: CodeDeploy deploys it.)
            if "taskDefinition" in request and request["taskDefinition"] is None:
                request["taskDefinition"] = target
            target = str(request.get("taskDefinition") or target)
            self.targets_of[sp.key] = target
            watch.start(self._before(sp) if not service_step.create else None)
            verb = "creating" if service_step.create else "updating"
            self.reporter.step(sp.key, f"{verb} service {sp.name} on {short_arn(target)}")
            answer = self.writer.send_service_request(request, create=service_step.create)
            if answer.get("serviceArn"):
                self.service_arns[sp.key] = str(answer["serviceArn"])
            tagging = service_step.tag_resource
            if tagging is not None:
                # UpdateService takes no tags: the service's own go by TagResource.
                arn = str(answer.get("serviceArn") or tagging["resourceArn"])
                self.writer.tag(arn, {t["key"]: t["value"] for t in tagging["tags"]})
            primary = EcsService.from_api(answer).primary
            if primary is not None and primary.id:
                self.deployments[sp.key] = primary.id
                watch.deployment_id = primary.id
            self.state[sp.key] = f"service updated to {short_arn(target)}; ECS is rolling it out"
        else:
            watch.start(self.reader.describe_service(sp.cluster, sp.name))
        code_deployed: str | None = None
        if sp.codedeploy_step is not None and target is not None:
            code_deployed = self._codedeploy(sp, sp.codedeploy_step, target)
        scaling = next((s for s in sp.steps if isinstance(s, ScalingStep)), None)
        if scaling is not None:
            self._scale(sp, scaling)
        if target is None:
            raise OperationError(
                f"service {sp.name} has no revision to deploy: the plan neither registers "
                "nor reuses one",
                hint="make the plan again",
            )
        wait_step = sp.wait_step
        dereg = next((s for s in sp.steps if isinstance(s, DeregisterStep)), None)
        if service_step is None and wait_step is None and dereg is None and scaling is not None:
            return ServiceResult(
                sp.key, "ok", f"on {short_arn(target)}; autoscaling updated", target
            )
        if service_step is None and wait_step is None and dereg is not None:
            # Nothing rolls out: the retention an earlier run did not finish (it was
            # interrupted while deregistering), or made stricter since.
            self._deregister(sp, dereg.arns)
            return ServiceResult(
                sp.key, "ok", f"on {short_arn(target)}; old revisions deregistered", target
            )
        if wait_step is None or not self.wait_enabled:
            note = " (not waited for: --no-wait; old revisions kept)" if service_step else ""
            self.reporter.done(sp.key, f"{short_arn(target)}{note}")
            return ServiceResult(
                sp.key,
                "ok",
                f"on {short_arn(target)}{note}",
                target,
                new_revision=target,
                waited=service_step is None,
            )

        self.reporter.step(sp.key, f"waiting for the rollout of {short_arn(target)}")
        if wait_step.strategy == "codedeploy":
            from ecsdeploy.adapters.codedeploy import CodeDeployAdapter

            from .codedeploy_wait import CodeDeployWatch

            outcome = CodeDeployWatch(
                watch,
                CodeDeployAdapter(self.rt.clients),
                wait_step,
                note=lambda text: self.state.__setitem__(sp.key, text),
            ).wait(target, code_deployed)
        elif wait_step.strategy != "rolling":
            from .shift_wait import ShiftWatch

            for i, stage in enumerate(wait_step.stages, 1):
                self.reporter.step(sp.key, f"  {i}. {stage}")

            def stopped(why: str) -> None:
                self.state[sp.key] = (
                    f"service updated to {short_arn(target)}; {why}: its deployment was "
                    "stopped with rollback, ECS moves the traffic back"
                )

            outcome = ShiftWatch(watch, self.writer, wait_step, on_stopped=stopped).wait(target)
        else:
            outcome = watch.wait(
                target,
                timeout=wait_step.timeout,
                poll=wait_step.poll,
                load_balancers=wait_step.load_balancers,
                breaker=wait_step.circuit_breaker,
            )
        if not outcome.ok:
            return self._roll_back(sp, wait_step, watch, target, outcome)
        self.reporter.done(
            sp.key, f"deployed {short_arn(target)}: rollout completed, checks passed"
        )
        self._record(sp.key, target, releases.SUCCEEDED)
        self.state[sp.key] = f"deployed {short_arn(target)}"
        if dereg is not None:
            self._deregister(sp, dereg.arns)
        return ServiceResult(sp.key, "ok", f"on {short_arn(target)}", target, new_revision=target)

    def _codedeploy(self, sp: ServicePlan, step: CodeDeployStep, target: str) -> str:
        """Create the CodeDeploy deployment of `target` the step describes; its id."""
        from ecsdeploy.adapters.codedeploy import CodeDeployAdapter

        from .codedeploy_wait import create_deployment

        group = f"{step.target.application}/{step.target.deployment_group}"
        self.reporter.step(
            sp.key, f"creating a CodeDeploy deployment of {short_arn(target)} ({group})"
        )
        deployment_id = create_deployment(CodeDeployAdapter(self.rt.clients), step, target)
        self.deployments[sp.key] = deployment_id
        self.targets_of[sp.key] = target
        self.reporter.done(
            sp.key, f"CodeDeploy deployment {deployment_id} created", deployment_id=deployment_id
        )
        self.state[sp.key] = (
            f"CodeDeploy deployment {deployment_id} of {short_arn(target)} is under way"
        )
        return deployment_id

    def _scale(self, sp: ServicePlan, step: ScalingStep) -> None:
        """Application Auto Scaling as the step holds it: the scalable target, the
        deletions, then the policies and scheduled actions (all idempotent: a re-run
        converges, a deletion already done is skipped)."""
        from ecsdeploy.adapters.scaling import ScalingAdapter

        scaling = ScalingAdapter(self.rt.clients)
        if step.register is not None:
            low, high = step.register.get("MinCapacity"), step.register.get("MaxCapacity")
            self.reporter.step(
                sp.key, f"autoscaling: scalable target {step.resource_id} (min {low}, max {high})"
            )
            scaling.register(step.register)
        for request in step.delete_policies:
            scaling.delete_policy(request)
            self.reporter.done(sp.key, f"autoscaling: deleted policy {request['PolicyName']}")
        for request in step.delete_scheduled:
            scaling.delete_scheduled_action(request)
            name = request["ScheduledActionName"]
            self.reporter.done(sp.key, f"autoscaling: deleted scheduled action {name}")
        for request in step.put_policies:
            scaling.put_policy(request)
            self.reporter.done(sp.key, f"autoscaling: policy {request['PolicyName']}")
        for request in step.put_scheduled:
            scaling.put_scheduled_action(request)
            name = request["ScheduledActionName"]
            self.reporter.done(sp.key, f"autoscaling: scheduled action {name}")
        self.reporter.done(sp.key, f"autoscaling of {step.resource_id} up to date")

    def _record(self, key: str, arn: str, outcome: releases.Outcome) -> None:
        """Tag the revision with the release's outcome, and a failure on the service too
        (what every plan reads for free); a record that cannot be written is a warning,
        never a failed deploy."""
        try:
            finished = _now().isoformat(timespec="seconds")
            self.writer.tag(arn, {releases.OUTCOME: outcome, releases.FINISHED_AT: finished})
            service_arn = self.service_arns.get(key)
            if outcome != releases.SUCCEEDED and service_arn is not None:
                state = self.live.services.get(key) if self.live is not None else None
                failed = releases.with_failed(
                    state.service if state is not None else None, family_and_revision(arn)[1]
                )
                self.writer.tag(service_arn, {releases.FAILED_REVISIONS: failed})
        except EcsDeployError as exc:
            self.reporter.warning(key, f"could not record {short_arn(arn)} as {outcome}: {exc}")

    def _registered_already(self, family: str, wanted: dict[str, Any]) -> str | None:
        """The family's newest revision when it equals `wanted` (normalised), else None."""
        if not self.reuse_registered:
            return None
        from ecsdeploy.plan.normalize import normalize_task_definition

        latest = self.reader.latest_revision(family)
        if latest is None:
            return None
        described = self.reader.describe_task_definition(latest)
        same = normalize_task_definition(described) == normalize_task_definition(wanted)
        return latest if same else None

    def _before(self, sp: ServicePlan) -> dict[str, Any] | None:
        """The service as it was before the change (its events are not news)."""
        state = self.live.services.get(sp.key) if self.live is not None else None
        if state is not None and state.service is not None:
            return dict(state.service)
        return self.reader.describe_service(sp.cluster, sp.name)

    def _roll_back(
        self, sp: ServicePlan, wait_step: WaitStep, watch: Watch, failed: str, outcome: WaitOutcome
    ) -> ServiceResult:
        self.reporter.error(sp.key, f"release {short_arn(failed)} failed: {outcome.reason}")
        report_explanation(self.reporter, sp.key, outcome)
        previous = sp.current_task_definition
        if wait_step.strategy == "codedeploy" and not outcome.rollback_done:
            # CodeDeploy did not put the service back, and ECS takes no other way to.
            self._record(sp.key, failed, releases.FAILED)
            return ServiceResult(
                sp.key,
                "failed",
                outcome.reason,
                previous,
                list(outcome.details),
                new_revision=failed,
            )
        if previous is None:
            self._record(sp.key, failed, releases.FAILED)
            message = (
                f"{outcome.reason}; the service was new, so there is no revision to go back to"
            )
            return ServiceResult(
                sp.key, "failed", message, failed, list(outcome.details), new_revision=failed
            )
        back = (
            WaitOutcome(True)
            if outcome.rollback_done
            else roll_back(
                self.writer,
                watch,
                self.reporter,
                sp.key,
                sp.cluster,
                sp.name,
                previous,
                wait_step,
                ecs_rolls_back=outcome.ecs_rolled_back,
                on_start=lambda: self.state.__setitem__(
                    sp.key, f"rolling back to {short_arn(previous)}"
                ),
            )
        )
        # Whatever becomes of the rollback, this release failed: never a rollback target.
        self._record(sp.key, failed, releases.ROLLED_BACK if back.ok else releases.FAILED)
        if back.ok:
            verdict = watch.verdict()
            if verdict is not None and verdict.describe() not in outcome.details:
                # The newest deployment: ECS's own rollback, or the one apply started.
                report_record(
                    self.reporter, sp.key, verdict, of_rollback=not outcome.ecs_rolled_back
                )
            self.reporter.warning(
                sp.key, f"rolled back: the service runs {short_arn(previous)} again"
            )
            message = f"{outcome.reason}; the service runs {short_arn(previous)} again"
            return ServiceResult(
                sp.key,
                "rolled_back",
                message,
                previous,
                list(outcome.details),
                new_revision=failed,
            )
        message = (
            f"{outcome.reason}; the rollback to {short_arn(previous)} did not finish: {back.reason}"
        )
        self.reporter.error(sp.key, message)
        return ServiceResult(
            sp.key, "failed", message, previous, list(outcome.details), new_revision=failed
        )

    def _deregister(self, sp: ServicePlan, arns: Iterable[str]) -> None:
        users = self._in_use()
        for arn in arns:
            if users.get(arn):
                self.reporter.warning(sp.key, f"keeping {short_arn(arn)}: a service uses it")
                continue
            self.writer.deregister_task_definition(arn)
            self.reporter.done(sp.key, f"deregistered {short_arn(arn)}")

    def _in_use(self) -> dict[str, set[str]]:
        """Task definitions in use now by any service of the config's clusters."""
        users: dict[str, set[str]] = {}
        for cluster in sorted(set(self.plan.clusters) | {sp.cluster for sp in self.plan.services}):
            names = sorted({a.rsplit("/", 1)[-1] for a in self.reader.list_service_arns(cluster)})
            for start in range(0, len(names), 10):
                for svc in self.reader.describe_services_batch(cluster, names[start : start + 10]):
                    live = EcsService.from_api(svc)
                    for arn in live.task_definitions_in_use:
                        users.setdefault(arn, set()).add(live.arn)
        return users


def roll_back(
    writer: EcsWriter,
    watch: Watch,
    reporter: Reporter,
    key: str,
    cluster: str,
    service: str,
    previous: str,
    wait_step: WaitStep,
    *,
    ecs_rolls_back: bool = False,
    on_start: Callable[[], None] | None = None,
    with_http: bool = False,
    announce: bool = True,
) -> WaitOutcome:
    """Put a service back on `previous` (unless ECS's breaker already does) and wait for it.

    The one rollback path: apply's automatic rollback and `ecsdeploy rollback` use it.
    """
    if ecs_rolls_back:
        reporter.step(key, f"ECS is rolling back to {short_arn(previous)}; waiting for it")
    else:
        if announce:
            reporter.step(key, f"rolling back to {short_arn(previous)}")
        writer.update_service(cluster, service, taskDefinition=previous, forceNewDeployment=True)
    if on_start is not None:
        on_start()
    if wait_step.strategy != "rolling" and not ecs_rolls_back:
        # A new blue/green (linear, canary) deployment of the old revision, followed
        # through its stages; ecsdeploy's pause is answered without checks.
        from .shift_wait import ShiftWatch

        return ShiftWatch(watch, writer, wait_step, rollback=True).wait(previous)
    return watch.wait(
        previous,
        timeout=wait_step.timeout,
        poll=wait_step.poll,
        load_balancers=wait_step.load_balancers,
        http=with_http,
        breaker=wait_step.circuit_breaker,
        rollback=True,
    )
