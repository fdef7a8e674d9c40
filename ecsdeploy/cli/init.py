"""`ecsdeploy init`: deploy.yaml and templates from live services; read-only AWS calls.

Reads (DescribeClusters, DescribeServices, DescribeTaskDefinition,
DescribeTargetGroups, ListTaskDefinitions, and Application Auto Scaling's
DescribeScalableTargets, DescribeScalingPolicies, DescribeScheduledActions) and writes
files, nothing else; what the files say is `ecsdeploy.init`'s business.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ecsdeploy.cli.options import shared_options

if TYPE_CHECKING:
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.init import Scaffold


@click.command("init")
@click.option("--cluster", "cluster", required=True, metavar="C", help="The ECS cluster.")
@click.option(
    "--service",
    "services",
    multiple=True,
    metavar="S",
    help="An ECS service of the cluster (repeat); with --service-def, the service's name.",
)
@click.option(
    "--service-def",
    "service_def",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Read the service from a file instead of AWS: a CreateService input, an "
    "ecspresso service definition or a describe-services response (JSON or YAML).",
)
@click.option(
    "--task-def",
    "task_def",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="With --service-def: the task definition (a RegisterTaskDefinition input, an "
    "ecspresso task definition or a describe-task-definition response).",
)
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write deploy.yaml and taskdefs/.",
)
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@shared_options
@click.pass_context
def command(
    ctx: click.Context,
    cluster: str,
    services: tuple[str, ...],
    service_def: Path | None,
    task_def: Path | None,
    directory: Path,
    force: bool,
) -> int:
    """Write deploy.yaml and a task-definition template per service from what runs now.

    `ecsdeploy plan` right after shows "No changes.". Only reads from AWS. With
    --service-def and --task-def it reads those files instead and calls no AWS API.
    """
    from ecsdeploy.adapters.aws import AwsClients, AwsSettings
    from ecsdeploy.adapters.ecs import EcsReader
    from ecsdeploy.adapters.elb import ElbAdapter
    from ecsdeploy.adapters.scaling import ScalingAdapter
    from ecsdeploy.cli import GlobalOptions
    from ecsdeploy.errors import InputError, Problem
    from ecsdeploy.init import LiveService, scaffold, service_key
    from ecsdeploy.plan.observe import clusters_hint
    from ecsdeploy.scaling import resource_id

    opts = ctx.find_root().obj
    assert isinstance(opts, GlobalOptions)
    names = list(dict.fromkeys(services))
    if service_def is not None or task_def is not None:
        return _from_files(opts, cluster, names, service_def, task_def, directory, force)
    if not names:
        raise InputError(
            Problem(
                "init needs --service (the live services to describe)",
                hint="or --service-def FILE --task-def FILE to read them from files",
            )
        )
    keys = [service_key(n) for n in names]
    if len(set(keys)) != len(keys):
        raise InputError(Problem("two --service values name the same service key"))
    _refuse_overwrite(directory, keys, force)

    clients = AwsClients(AwsSettings(opts.region, opts.profile, opts.endpoint_url))
    ecs, elb = EcsReader(clients), ElbAdapter(clients)
    found = ecs.existing_clusters([cluster])
    if not found:  # bad input, like any wrong name on the command line
        raise InputError(
            Problem(
                f"--cluster {cluster}: cluster {cluster} does not exist in {clients.region}",
                hint=clusters_hint(ecs, cluster, "wrong region? see --region or AWS_REGION"),
            )
        )
    cluster_name = str(next(iter(found.values()))["clusterName"])

    described = {n: ecs.describe_service(cluster_name, n) for n in names}
    missing = [n for n, svc in described.items() if svc is None]
    if missing:
        there = sorted({a.rsplit("/", 1)[-1] for a in ecs.list_service_arns(cluster_name)})
        hint = (
            f"services of cluster {cluster_name}: {', '.join(there[:20])}"
            + (f" and {len(there) - 20} more" if len(there) > 20 else "")
            if there
            else f"cluster {cluster_name} has no service"
        )
        raise InputError(
            [
                Problem(
                    f"--service {n}: service {n} does not exist in cluster {cluster_name}",
                    hint=hint + " (--service takes the ECS service name)",
                )
                for n in missing
            ]
        )

    # Application Auto Scaling: the scalable targets in one call, then each one's
    # policies and scheduled actions.
    scaling = ScalingAdapter(clients)
    ids = {n: resource_id(cluster_name, n) for n in names}
    scalable = scaling.targets(list(ids.values()))
    live: list[LiveService] = []
    for name in names:
        svc = described[name]
        assert svc is not None
        td = ecs.describe_task_definition(str(svc["taskDefinition"]))
        groups: dict[str, str] = {}
        for lb in svc.get("loadBalancers") or []:
            advanced = lb.get("advancedConfiguration") or {}
            for arn in (lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")):
                if arn:
                    group = elb.target_group(str(arn))
                    if group is not None:
                        groups[str(arn)] = str(group["TargetGroupName"])
        # Counted so the first plan does not deregister the revisions kept so far.
        revisions = len(ecs.active_revisions(str(td["family"])))
        target = scalable.get(ids[name])
        state = scaling.state(ids[name], target) if target is not None else None
        live.append(LiveService(svc, td, groups, revisions, state))

    result = scaffold(clients.region, cluster_name, live)
    return _write(result, directory)


def _refuse_overwrite(directory: Path, keys: list[str], force: bool) -> None:
    """Every file is known before any AWS call: refuse early, and write all or nothing."""
    from ecsdeploy.errors import InputError, Problem
    from ecsdeploy.init import template_path

    targets = [directory / "deploy.yaml", *(directory / template_path(k) for k in keys)]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise InputError(
            Problem(
                "would overwrite " + ", ".join(str(p) for p in existing),
                hint="pass --force to overwrite, or --dir to write elsewhere",
            )
        )


def _from_files(
    opts: GlobalOptions,
    cluster: str,
    names: list[str],
    service_def: Path | None,
    task_def: Path | None,
    directory: Path,
    force: bool,
) -> int:
    """deploy.yaml from a service definition and a task definition file; no AWS call."""
    import os
    import re

    from ecsdeploy.errors import InputError, Problem
    from ecsdeploy.init import LiveService, scaffold, service_key
    from ecsdeploy.init_import import read_service_definition, read_task_definition

    if service_def is None or task_def is None:
        missing = "--task-def" if task_def is None else "--service-def"
        raise InputError(
            Problem(
                f"--service-def and --task-def go together: {missing} is missing",
                hint="init --cluster C --service-def service.json --task-def task.json",
            )
        )
    if len(names) > 1:
        raise InputError(Problem("--service-def reads one service: give --service once"))
    found = read_service_definition(service_def, names[0] if names else None)
    td = read_task_definition(task_def)
    name = str(found.service["serviceName"])
    _refuse_overwrite(directory, [service_key(name)], force)
    region = opts.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        arn = re.search(r"arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-\d):", str(found.service))
        region = arn.group(1) if arn else None
    if not region:
        raise InputError(Problem("no region to write in deploy.yaml", hint="pass --region"))
    groups = {
        str(arn): str(arn)
        for lb in found.service.get("loadBalancers") or []
        for arn in (
            lb.get("targetGroupArn"),
            (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn"),
        )
        if arn
    }
    live = LiveService(found.service, td, groups)
    result = scaffold(region, cluster, [live], source=str(service_def))
    if found.left_out:
        result = result.with_note(
            f"{service_def}: left out {', '.join(found.left_out)} (state that describe-services "
            "reports, not settings)"
        )
    return _write(result, directory)


def _write(result: Scaffold, directory: Path) -> int:
    from ecsdeploy.errors import ExitStatus

    (directory / "taskdefs").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for relative, text in result.templates.items():
        path = directory / relative
        path.write_text(text, encoding="utf-8")
        written.append(path)
    deploy_yaml = directory / "deploy.yaml"
    deploy_yaml.write_text(result.deploy_yaml, encoding="utf-8")
    written.insert(0, deploy_yaml)

    # Paths and names only: the templates hold environment values, never echoed.
    for path in written:
        click.echo(f"wrote {path}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    flag = "" if deploy_yaml == Path("deploy.yaml") else f" -f {deploy_yaml}"
    click.echo("\nNext:")
    click.echo(f"  ecsdeploy{flag} validate")
    click.echo(f'  ecsdeploy{flag} plan        # expect "No changes."')
    click.echo(f"  ecsdeploy schema > {directory / 'deploy.schema.json'}   # editor help")
    return int(ExitStatus.OK)
