"""Seeding a sandbox with what a deploy.yaml expects to exist already.

Given a loaded `Config` and each service's rendered task definition (a
RegisterTaskDefinition input), `seed` creates, through the AWS APIs of the
sandbox at `endpoint_url`: a VPC with two subnets and a security group, each
cluster with its container instances (real moto EC2 instances registered to
ECS), an ALB with a listener per target group, the target groups named in
`load_balancer.target_group`, the ECR repositories with an image tagged
`latest` (and the `promote` tag), the log groups and IAM roles the task
definitions name, and every service on a first revision of
its task definition, steady (its deployment COMPLETED). Seed a fresh sandbox:
running it twice creates a second VPC and fails on existing services.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from ecsdeploy.config.model import Config, Service

# Health checks quick enough for a demo, slow enough to watch: healthy after 2 x 10 s.
HEALTH_CHECK_INTERVAL = 10
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 2
DEREGISTRATION_DELAY = 30
DEFAULT_REGION = "us-east-1"
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass(frozen=True)
class SeedResult:
    """What `seed` created, by the keys and names of deploy.yaml."""

    region: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_id: str
    clusters: Mapping[str, str] = field(default_factory=dict)  # cluster key -> ARN
    container_instances: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    load_balancer_arn: str | None = None
    target_groups: Mapping[str, str] = field(default_factory=dict)  # name -> ARN
    repositories: Mapping[str, str] = field(default_factory=dict)  # image key -> URI
    task_definitions: Mapping[str, str] = field(default_factory=dict)  # service key -> ARN
    services: Mapping[str, str] = field(default_factory=dict)  # service key -> ARN
    settled: bool = True


def _session(region: str) -> boto3.Session:
    # The sandbox accepts any credentials; fixed ones keep the user's own out of it.
    return boto3.Session(
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",  # noqa: S106 (the sandbox's, not a secret)
        region_name=region,
    )


def _target_group_name(reference: str) -> str:
    # "arn:...:targetgroup/NAME/0123abcd" or a plain name.
    if reference.startswith("arn:") and "targetgroup/" in reference:
        return reference.split("targetgroup/", 1)[1].split("/")[0]
    return reference


def _launch_type(service: Service, taskdef: Mapping[str, Any]) -> str:
    if service.launch_type:
        return service.launch_type
    return "FARGATE" if list(taskdef.get("requiresCompatibilities") or []) == ["FARGATE"] else "EC2"


def _network_mode(service: Service, taskdef: Mapping[str, Any]) -> str:
    mode = taskdef.get("networkMode")
    if mode:
        return str(mode)
    return "awsvpc" if _launch_type(service, taskdef) == "FARGATE" else "bridge"


def _manifest(repository: str) -> str:
    """A small, made-up Docker v2 manifest; unique per repository so digests differ."""
    layer = hashlib.sha256(f"sandbox-layer:{repository}".encode()).hexdigest()
    config = hashlib.sha256(f"sandbox-config:{repository}".encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1024,
                "digest": f"sha256:{config}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 2048,
                    "digest": f"sha256:{layer}",
                }
            ],
        }
    )


def default_instances(config: Config, cluster_key: str) -> int:
    """The biggest EC2 service's desired count plus one.

    The extra instance stays idle, so a rolling update with a static host port has
    somewhere to start its new task before an old one stops.
    """
    counts = [s.desired_count for s in config.services.values() if s.cluster == cluster_key]
    return (max(counts) if counts else 0) + 1


def seed(
    config: Config,
    taskdefs: Mapping[str, Mapping[str, Any]],
    *,
    endpoint_url: str,
    region: str | None = None,
    instances: int | None = None,
    settle: bool = True,
) -> SeedResult:
    """Create in the sandbox what `config` expects to exist; see the module docstring.

    `taskdefs` maps each service key to its rendered task definition.
    `instances` is the number of container instances per cluster (default:
    `default_instances`). With `settle`, the sandbox's clock is advanced until
    every service is steady (through its control endpoint).
    """
    region = region or config.region or DEFAULT_REGION
    session = _session(region)

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    ec2, ecs, elbv2, ecr = client("ec2"), client("ecs"), client("elbv2"), client("ecr")

    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = tuple(
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{z}"
        )["Subnet"]["SubnetId"]
        for i, z in enumerate(("a", "b"))
    )
    sg_id = ec2.create_security_group(
        GroupName="ecsdeploy-sandbox", Description="ecsdeploy sandbox", VpcId=vpc_id
    )["GroupId"]

    # Clusters and their container instances.
    clusters: dict[str, str] = {}
    container_instances: dict[str, tuple[str, ...]] = {}
    image_id: str | None = None
    for key, cluster in config.clusters.items():
        clusters[key] = ecs.create_cluster(clusterName=cluster.name)["cluster"]["clusterArn"]
        ec2_services = [
            s
            for s in config.services.values()
            if s.cluster == key and _launch_type(s, taskdefs.get(s.key, {})) == "EC2"
        ]
        count = instances if instances is not None else default_instances(config, key)
        if not ec2_services and instances is None:
            count = 0
        if count <= 0:
            continue
        if image_id is None:
            images = ec2.describe_images(Owners=["amazon"])["Images"]
            image_id = next(
                i["ImageId"] for i in images if (i.get("Platform") or "").lower() != "windows"
            )
        arns: list[str] = []
        for n in range(count):
            instance = ec2.run_instances(
                ImageId=image_id,
                MinCount=1,
                MaxCount=1,
                InstanceType="m5.xlarge",
                SubnetId=subnets[n % len(subnets)],
            )["Instances"][0]
            registered = ecs.register_container_instance(
                cluster=cluster.name,
                instanceIdentityDocument=json.dumps(
                    {
                        "instanceId": instance["InstanceId"],
                        "region": region,
                        "availabilityZone": instance["Placement"]["AvailabilityZone"],
                    }
                ),
            )
            arns.append(registered["containerInstance"]["containerInstanceArn"])
        container_instances[key] = tuple(arns)

    # Load balancer and target groups.
    target_groups: dict[str, str] = {}
    lb_arn: str | None = None
    lb_services = [s for s in config.services.values() if s.load_balancer is not None]
    if lb_services:
        lb_arn = elbv2.create_load_balancer(
            Name="ecsdeploy-sandbox",
            Subnets=list(subnets),
            SecurityGroups=[sg_id],
            Scheme="internet-facing",
            Type="application",
        )["LoadBalancers"][0]["LoadBalancerArn"]
        for n, svc in enumerate(lb_services):
            assert svc.load_balancer is not None
            name = _target_group_name(svc.load_balancer.target_group)
            if name in target_groups:
                continue
            awsvpc = _network_mode(svc, taskdefs.get(svc.key, {})) == "awsvpc"
            tg_arn = elbv2.create_target_group(
                Name=name,
                Protocol="HTTP",
                Port=svc.load_balancer.port,
                VpcId=vpc_id,
                TargetType="ip" if awsvpc else "instance",
                HealthCheckPath="/",
                HealthCheckIntervalSeconds=HEALTH_CHECK_INTERVAL,
                HealthyThresholdCount=HEALTHY_THRESHOLD,
                UnhealthyThresholdCount=UNHEALTHY_THRESHOLD,
            )["TargetGroups"][0]["TargetGroupArn"]
            elbv2.modify_target_group_attributes(
                TargetGroupArn=tg_arn,
                Attributes=[
                    {
                        "Key": "deregistration_delay.timeout_seconds",
                        "Value": str(DEREGISTRATION_DELAY),
                    }
                ],
            )
            elbv2.create_listener(
                LoadBalancerArn=lb_arn,
                Protocol="HTTP",
                Port=80 + n,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
            )
            target_groups[name] = tg_arn

    # ECR repositories with an image to promote.
    repositories: dict[str, str] = {}
    for key, image in config.images.items():
        registry = config.registries.get(image.registry)
        if registry is None or registry.type != "ecr":
            continue
        try:
            repo = ecr.create_repository(repositoryName=image.repository)["repository"]
        except ecr.exceptions.RepositoryAlreadyExistsException:
            repo = ecr.describe_repositories(repositoryNames=[image.repository])["repositories"][0]
        repositories[key] = repo["repositoryUri"]
        manifest = _manifest(image.repository)
        for tag in dict.fromkeys(t for t in ("latest", image.promote) if t):
            with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
                ecr.put_image(repositoryName=image.repository, imageManifest=manifest, imageTag=tag)

    # Log groups and roles the task definitions name (verify checks they exist).
    logs, iam = client("logs"), client("iam")
    log_groups: set[str] = set()
    roles: set[str] = set()
    for taskdef in taskdefs.values():
        for key in ("executionRoleArn", "taskRoleArn"):
            if taskdef.get(key):
                roles.add(str(taskdef[key]).split("/")[-1])
        for container in taskdef.get("containerDefinitions") or []:
            options = (container.get("logConfiguration") or {}).get("options") or {}
            if options.get("awslogs-group"):
                log_groups.add(str(options["awslogs-group"]))
    for group in sorted(log_groups):
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
    for role in sorted(roles):
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_POLICY)

    # Task definitions and services, dependencies first.
    task_definitions: dict[str, str] = {}
    services: dict[str, str] = {}
    for key in config.service_order():
        svc = config.services[key]
        taskdef = dict(taskdefs[key])
        td_arn = ecs.register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]
        task_definitions[key] = td_arn
        cluster_name = config.clusters[svc.cluster].name
        d = svc.deployment
        params: dict[str, Any] = {
            "cluster": cluster_name,
            "serviceName": svc.name,
            "taskDefinition": td_arn,
            "desiredCount": svc.desired_count,
            "launchType": _launch_type(svc, taskdef),
            "deploymentConfiguration": {
                "minimumHealthyPercent": d.minimum_healthy_percent,
                "maximumPercent": d.maximum_percent,
                "deploymentCircuitBreaker": {
                    "enable": d.circuit_breaker.enable,
                    "rollback": d.circuit_breaker.rollback,
                },
            },
        }
        if svc.load_balancer is not None:
            params["loadBalancers"] = [
                {
                    "targetGroupArn": target_groups[
                        _target_group_name(svc.load_balancer.target_group)
                    ],
                    "containerName": svc.load_balancer.container,
                    "containerPort": svc.load_balancer.port,
                }
            ]
            if svc.health_check_grace_period is not None:
                params["healthCheckGracePeriodSeconds"] = int(svc.health_check_grace_period)
        if _network_mode(svc, taskdef) == "awsvpc":
            net = svc.network
            params["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": list(net.subnets) if net and net.subnets else list(subnets),
                    "securityGroups": list(net.security_groups)
                    if net and net.security_groups
                    else [sg_id],
                    "assignPublicIp": "ENABLED" if net and net.assign_public_ip else "DISABLED",
                }
            }
        services[key] = ecs.create_service(**params)["service"]["serviceArn"]

    settled = True
    if settle and services:
        from ecsdeploy.sandbox.control import SandboxClient

        settled = SandboxClient(endpoint_url).settle()

    return SeedResult(
        region=region,
        vpc_id=vpc_id,
        subnet_ids=subnets,
        security_group_id=sg_id,
        clusters=clusters,
        container_instances=container_instances,
        load_balancer_arn=lb_arn,
        target_groups=target_groups,
        repositories=repositories,
        task_definitions=task_definitions,
        services=services,
        settled=settled,
    )
