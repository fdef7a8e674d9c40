"""The ecs.config roll-out of one cluster: one container instance at a time, through SSM.

For each instance whose `ecsdeploy.ecs-config` attribute is not the managed
settings' digest: optionally drain it (cluster `ecs_config.drain: true`) and
wait until its service tasks run elsewhere; run `script()` on it with SSM Run
Command (`AWS-RunShellScript`); wait for the command and for the agent to
reconnect; record the digest in the attribute; set it ACTIVE again.

The credentials never travel in the command: the managed lines go to a
SecureString parameter first, and the script reads it on the instance with
`aws ssm get-parameter --with-decryption`. The script prints nothing of it.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Iterable

from ecsdeploy.adapters.container_instances import ContainerInstances
from ecsdeploy.adapters.ecs import EcsReader
from ecsdeploy.adapters.instances import InstancesAdapter
from ecsdeploy.adapters.ssm import Invocation, SsmAdapter
from ecsdeploy.ecsconfig import ATTRIBUTE, AUTH_DATA, AUTH_TYPE, EcsConfig
from ecsdeploy.errors import OperationError
from ecsdeploy.plan.model import EcsConfigStep
from ecsdeploy.plan.observe import DRAINING_ATTRIBUTE, InstanceState, observe_container_instances
from ecsdeploy.words import plural

from .report import Reporter
from .wait import Cancelled

COMMAND_TIMEOUT = 600  # seconds the script may run on an instance
AGENT_TIMEOUT = 300.0  # seconds for a restarted agent to reconnect
STDERR_TAIL = 600  # characters of the script's stderr quoted in an error

# Exit codes of the script, each with a message of its own on stderr.
_SCRIPT = r"""set -eu
ECS_CONFIG_FILE="${{ECS_CONFIG_FILE:-/etc/ecs/ecs.config}}"
PARAMETER={parameter}
REGION={region}
MANAGED_KEYS={keys}
umask 077
command -v aws >/dev/null 2>&1 || {{
  echo "ecsdeploy: the AWS CLI (aws) is not installed on this instance" >&2; exit 11; }}
dir=$(dirname "$ECS_CONFIG_FILE")
mkdir -p "$dir"
[ -f "$ECS_CONFIG_FILE" ] || : > "$ECS_CONFIG_FILE"
managed=$(mktemp "$dir/.ecsdeploy.XXXXXX")
merged=$(mktemp "$dir/.ecsdeploy.XXXXXX")
errors=$(mktemp "$dir/.ecsdeploy.XXXXXX")
trap 'rm -f "$managed" "$merged" "$errors"' EXIT
# The managed lines hold the registry credentials: into a 0600 file, never to stdout.
if ! aws ssm get-parameter --region "$REGION" --name "$PARAMETER" --with-decryption \
    --query Parameter.Value --output text >"$managed" 2>"$errors"; then
  echo "ecsdeploy: cannot read SSM parameter $PARAMETER:" >&2
  tail -n 5 "$errors" >&2
  exit 12
fi
if grep -qv '^[A-Z][A-Z0-9_]*=' "$managed"; then
  echo "ecsdeploy: SSM parameter $PARAMETER does not hold KEY=value lines" >&2
  exit 13
fi
# Keep every line of the file but the managed keys (comments included), then append
# the managed lines: the rule of ecsdeploy.ecsconfig.merge.
awk -v keys="$MANAGED_KEYS" '
  BEGIN {{ n = split(keys, k, " "); for (i = 1; i <= n; i++) managed[k[i]] = 1 }}
  FNR == NR {{ split($0, kv, "="); managed[kv[1]] = 1; next }}
  {{
    line = $0; sub(/^[ \t]+/, "", line)
    if (substr(line, 1, 1) == "#") {{ print $0; next }}
    key = $0; sub(/=.*/, "", key); gsub(/^[ \t]+|[ \t]+$/, "", key)
    if (!(key in managed)) print $0
  }}' "$managed" "$ECS_CONFIG_FILE" >"$merged"
cat "$managed" >>"$merged"
chmod 600 "$merged"
mv -f "$merged" "$ECS_CONFIG_FILE"
echo "ecsdeploy: $ECS_CONFIG_FILE updated ($(wc -l <"$managed" | tr -d ' ') managed lines)"
# Amazon Linux 2 and 2023 run the agent under systemd, Amazon Linux 1 under upstart.
if command -v systemctl >/dev/null 2>&1; then
  systemctl restart ecs
  echo "ecsdeploy: ECS agent restarted (systemctl restart ecs)"
elif command -v start >/dev/null 2>&1; then
  stop ecs || true
  start ecs
  echo "ecsdeploy: ECS agent restarted (stop ecs; start ecs)"
else
  echo "ecsdeploy: cannot restart the ECS agent: neither systemctl nor start/stop found" >&2
  exit 14
fi
"""


def parameter_name(cluster: str) -> str:
    """The SecureString parameter holding a cluster's managed ecs.config lines."""
    return f"/ecsdeploy/{cluster}/ecs-config"


def parameter_value(managed: EcsConfig) -> str:
    return "\n".join(f"{k}={v}" for k, v in managed.settings)


def script(parameter: str, region: str, keys: Iterable[str]) -> list[str]:
    """The commands of AWS-RunShellScript (POSIX sh; no secret inside)."""
    managed = sorted({*keys, AUTH_TYPE, AUTH_DATA})
    text = _SCRIPT.format(
        parameter=shlex.quote(parameter),
        region=shlex.quote(region),
        keys=shlex.quote(" ".join(managed)),
    )
    return text.rstrip("\n").split("\n")


class RolloutFailed(OperationError):
    """The roll-out stopped at an instance; the message says which and why."""


class EcsConfigRollout:
    def __init__(
        self,
        ssm: SsmAdapter,
        instances: ContainerInstances,
        listing: InstancesAdapter,
        reader: EcsReader,
        reporter: Reporter,
        cancel: threading.Event,
        *,
        region: str,
        poll: float = 5.0,
        drain_timeout: float = 900.0,
        agent_timeout: float = AGENT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ssm = ssm
        self.instances = instances
        self.listing = listing
        self.reader = reader
        self.reporter = reporter
        self.cancel = cancel
        self.region = region
        self.poll = poll
        self.drain_timeout = drain_timeout
        self.agent_timeout = agent_timeout
        self.clock = clock

    def run(self, step: EcsConfigStep, managed: EcsConfig, owner: str) -> int:
        """Bring every out-of-date instance of the cluster up to date; how many were."""
        cluster = step.cluster
        parameter = parameter_name(cluster)
        self.ssm.put_secure_string(
            parameter,
            parameter_value(managed),
            f"ecs.config lines managed by ecsdeploy for cluster {cluster}",
        )
        commands = script(parameter, self.region, (k for k, _ in managed.settings))
        # The instances now, not as planned: one registered since is brought up to date too.
        found = observe_container_instances(self.listing, [cluster]).get(cluster, ())
        todo: list[InstanceState] = []
        for inst in found:
            if inst.ecs_config == managed.digest:
                continue
            if inst.status == "DRAINING" and not inst.draining_by_us:
                self.reporter.warning(
                    owner,
                    f"ecs.config: skipping {inst.ec2_instance_id}: it is DRAINING "
                    "(not by ecsdeploy); it stays out of date",
                )
                continue
            todo.append(inst)
        for n, inst in enumerate(todo, 1):
            self.reporter.step(
                owner,
                f"ecs.config on {cluster}: instance {inst.ec2_instance_id} ({n} of {len(todo)})",
            )
            self._instance(step, managed, inst, commands, owner)
        self.reporter.done(
            owner, f"ecs.config on {cluster}: {plural(len(todo), 'instance')} reconfigured"
        )
        return len(todo)

    def _instance(
        self,
        step: EcsConfigStep,
        managed: EcsConfig,
        inst: InstanceState,
        commands: list[str],
        owner: str,
    ) -> None:
        cluster = step.cluster
        drained = False
        try:
            if step.drain:
                drained = True
                self._drain(cluster, inst, owner)
            command_id = self.ssm.run_shell_script(
                inst.ec2_instance_id,
                commands,
                comment=f"ecsdeploy: ecs.config for cluster {cluster}",
                timeout=COMMAND_TIMEOUT,
            )
            result = self._command(command_id, inst.ec2_instance_id)
            if result.status != "Success":
                raise RolloutFailed(_failure(cluster, inst, result), hint=_hint(result))
            self._agent(cluster, inst)
            self.instances.put_attribute(cluster, inst.arn, ATTRIBUTE, managed.digest)
            if drained:
                self._activate(cluster, inst)
            self.reporter.done(
                owner,
                f"instance {inst.ec2_instance_id}: ecs.config updated, agent reconnected",
            )
        except (OperationError, Cancelled, KeyboardInterrupt) as exc:
            if drained:
                self._after_failure(cluster, inst, owner)
            if isinstance(exc, OperationError) and not isinstance(exc, RolloutFailed):
                raise RolloutFailed(
                    f"ecs.config roll-out on cluster {cluster} stopped at instance "
                    f"{inst.ec2_instance_id}: {exc.message}",
                    hint=exc.hint,
                ) from exc
            raise

    # -- draining ------------------------------------------------------------------------

    def _drain(self, cluster: str, inst: InstanceState, owner: str) -> None:
        # Counted before the state changes: once DRAINING, ECS sets the service tasks'
        # desired status to STOPPED as it replaces them, and they no longer list as wanted.
        tasks = self.instances.service_tasks_on(cluster, inst.arn)
        services = sorted(set(tasks.values()))
        self.instances.put_attribute(cluster, inst.arn, DRAINING_ATTRIBUTE, "ecs-config")
        if inst.status != "DRAINING":
            self.instances.set_state(cluster, inst.arn, "DRAINING")
        moving = plural(len(tasks), "service task")
        self.reporter.progress(
            owner,
            f"draining {inst.ec2_instance_id}: {moving} to move"
            + (f" ({', '.join(services)})" if services else ""),
        )
        deadline = self.clock() + self.drain_timeout
        while self.instances.service_tasks_on(cluster, inst.arn):
            self._sleep(deadline, f"{inst.ec2_instance_id} to drain")
        # Replaced elsewhere: every service it ran is back at its desired count.
        for name in services:
            while True:
                svc = self.reader.describe_service(cluster, name)
                if svc is None or int(svc.get("runningCount", 0)) >= int(
                    svc.get("desiredCount", 0)
                ):
                    break
                self._sleep(deadline, f"service {name} to run its tasks elsewhere")

    def _activate(self, cluster: str, inst: InstanceState) -> None:
        self.instances.set_state(cluster, inst.arn, "ACTIVE")
        self.instances.delete_attribute(cluster, inst.arn, DRAINING_ATTRIBUTE, "ecs-config")

    def _after_failure(self, cluster: str, inst: InstanceState, owner: str) -> None:
        """Back to ACTIVE when its agent still works (the old settings serve); else left
        DRAINING, so no task is placed on an instance that cannot run it."""
        try:
            described = self.instances.describe(cluster, inst.arn)
            if described.get("agentConnected", False):
                self._activate(cluster, inst)
                self.reporter.warning(owner, f"{inst.ec2_instance_id} set ACTIVE again")
            else:
                self.reporter.warning(
                    owner, f"{inst.ec2_instance_id} left DRAINING: its agent is not connected"
                )
        except OperationError as exc:
            self.reporter.warning(owner, f"{inst.ec2_instance_id}: {exc.message}")

    # -- waiting -------------------------------------------------------------------------

    def _sleep(self, deadline: float, what: str) -> None:
        if self.clock() > deadline:
            raise OperationError(f"timed out waiting for {what}")
        if self.cancel.wait(self.poll):
            raise Cancelled()

    def _command(self, command_id: str, instance_id: str) -> Invocation:
        deadline = self.clock() + COMMAND_TIMEOUT + 60
        while True:
            result = self.ssm.invocation(command_id, instance_id)
            if result.finished:
                return result
            self._sleep(deadline, f"SSM command {command_id} on {instance_id}")

    def _agent(self, cluster: str, inst: InstanceState) -> None:
        """Connected on two looks in a row: ECS may not have noticed the restart at the first."""
        deadline = self.clock() + self.agent_timeout
        seen = 0
        while seen < 2:
            self._sleep(deadline, f"the ECS agent on {inst.ec2_instance_id} to reconnect")
            described = self.instances.describe(cluster, inst.arn)
            seen = seen + 1 if described.get("agentConnected") else 0


def _failure(cluster: str, inst: InstanceState, result: Invocation) -> str:
    tail = result.stderr.strip()[-STDERR_TAIL:]
    text = (
        f"ecs.config roll-out on cluster {cluster} stopped at instance {inst.ec2_instance_id}: "
        f"SSM command {result.command_id} {result.status} ({result.details}, "
        f"exit code {result.response_code})"
    )
    return text + (f": {tail}" if tail else "")


def _hint(result: Invocation) -> str:
    if result.response_code == 11:
        return "install the AWS CLI on the instances (the ECS-optimized AMIs may lack it)"
    if result.response_code == 12:
        return (
            "the instance role needs ssm:GetParameter on the parameter "
            "and kms:Decrypt on its key (alias/aws/ssm)"
        )
    return (
        "the instances after it were not changed; fix the cause and run apply again "
        "(instances already done are skipped)"
    )
