"""ECS's wording: the service event messages and stop reasons the sandbox emits.

Worded as ECS words them (service events, the "service unhealthy" and
"unable to place" messages of the ECS developer guide), so tools that grep
events work the same against the sandbox and against AWS. The one message ECS
does not have is `no_room`: ECS stays silent when 100/100 cannot progress, the
sandbox says why.
"""

from __future__ import annotations

from collections.abc import Sequence

TROUBLESHOOTING = (
    "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
)


def _tasks(task_ids: Sequence[str]) -> str:
    return " ".join(f"(task {t})" for t in task_ids)


def started(service: str, task_ids: Sequence[str]) -> str:
    return f"(service {service}) has started {len(task_ids)} tasks: {_tasks(task_ids)}."


def stopped_running(service: str, task_ids: Sequence[str]) -> str:
    return f"(service {service}) has stopped {len(task_ids)} running tasks: {_tasks(task_ids)}."


def registered_targets(service: str, count: int, target_group_arn: str) -> str:
    return f"(service {service}) registered {count} targets in (target-group {target_group_arn})"


def began_draining(service: str, count: int) -> str:
    return f"(service {service}) has begun draining connections on {count} tasks."


def deregistered_targets(service: str, count: int, target_group_arn: str) -> str:
    return f"(service {service}) deregistered {count} targets in (target-group {target_group_arn})"


def steady_state(service: str) -> str:
    return f"(service {service}) has reached a steady state."


def deployment_completed(service: str, deployment_id: str) -> str:
    return f"(service {service}) (deployment {deployment_id}) deployment completed."


def deployment_failed(service: str, deployment_id: str) -> str:
    return (
        f"(service {service}) (deployment {deployment_id}) deployment failed: "
        "tasks failed to start."
    )


def rolling_back(service: str, deployment_id: str) -> str:
    return f"(service {service}) rolling back to deployment {deployment_id}."


def unhealthy_target(
    service: str, task_id: str, port: int, target_group_arn: str, instance_id: str | None
) -> str:
    instance = f" (instance {instance_id})" if instance_id else ""
    return (
        f"(service {service}) (task {task_id}){instance} (port {port}) is unhealthy in "
        f"(target-group {target_group_arn}) due to (reason Health checks failed)."
    )


def unable_to_place(service: str, detail: str) -> str:
    return (
        f"(service {service}) was unable to place a task because no container instance met "
        f"all of its requirements. {detail} {TROUBLESHOOTING}"
    )


def closest_port(container_instance_id: str) -> str:
    return (
        f"The closest matching (container-instance {container_instance_id}) is already using "
        "a port required by your task."
    )


def closest_cpu(container_instance_id: str) -> str:
    return (
        f"The closest matching (container-instance {container_instance_id}) has insufficient "
        "CPU units available."
    )


def closest_memory(container_instance_id: str) -> str:
    return (
        f"The closest matching (container-instance {container_instance_id}) has insufficient "
        "memory available."
    )


NO_INSTANCES = "Reason: No Container Instances were found in your cluster."


def no_room(service: str, deployment_id: str, minimum: int, maximum: int) -> str:
    return (
        f"(service {service}) (deployment {deployment_id}) cannot replace any task: "
        f"minimumHealthyPercent {minimum} and maximumPercent {maximum} allow neither starting "
        "a task above the desired count nor stopping one below it."
    )


# Task stop reasons (DescribeTasks stoppedReason) and circuit-breaker reasons.
ESSENTIAL_EXITED = "Essential container in task exited"
USER_STOPPED = "Task stopped by user"


def failed_elb_checks(target_group_arn: str) -> str:
    return f"Task failed ELB health checks in (target-group {target_group_arn})"


def scaling_activity(deployment_id: str) -> str:
    return f"Scaling activity initiated by (deployment {deployment_id})"


CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."


def rollout_in_progress(deployment_id: str) -> str:
    return f"ECS deployment {deployment_id} in progress."


def rollout_completed(deployment_id: str) -> str:
    return f"ECS deployment {deployment_id} completed."


# Traffic-shifting deployments (BLUE_GREEN, LINEAR, CANARY): DescribeServiceDeployments'
# statusReason. The hook failure, pause timeout and networking wordings are ECS's (the ECS
# developer guide, troubleshooting blue/green deployments); ECS documents none for a
# Lambda hook that timed out, a rollback asked for, or alarms: those are the sandbox's.


def hook_failed(stage: str, target_arn: str) -> str:
    return (
        f"Service deployment rolled back because {stage} lifecycle hook(s) failed. "
        f"Lifecycle hook target {target_arn} returned FAILED status."
    )


def hook_timed_out(stage: str, *, pause: bool) -> str:
    kind = "pause hook" if pause else "lifecycle hook"
    return f"Service deployment rolled back because {stage} {kind} timed out."


def hook_rollback(stage: str) -> str:
    return (
        f"Service deployment rolled back because ContinueServiceDeployment asked for a "
        f"ROLLBACK at the {stage} pause hook."
    )


STOP_ROLLBACK_REASON = (
    "Service deployment rolled back because StopServiceDeployment asked for a ROLLBACK."
)


def alarms_fired(names: Sequence[str]) -> str:
    return f"Service deployment failed: CloudWatch alarm(s) {', '.join(names)} in ALARM state."


NETWORKING = "Service deployment rolled back because of invalid networking configuration."


def not_one_serving(rule_arn: str, count: int) -> str:
    return (
        f"{NETWORKING} productionListenerRule {rule_arn} should have exactly one target group "
        f"serving traffic but found {count} target groups which are serving traffic"
    )


def unexpected_target_group(target_group: str, primary: str, alternate: str) -> str:
    return (
        f"{NETWORKING} Production listener rule is forwarding traffic to unexpected target "
        f"group {target_group}. Expected traffic to be forwarded to either targetGroupArn: "
        f"{primary} or alternateTargetGroupArn: {alternate}"
    )
