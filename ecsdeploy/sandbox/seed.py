"""Seeding a sandbox with what a deploy.yaml expects to exist already.

Given a loaded `Config` and each service's rendered task definition (a
RegisterTaskDefinition input), `seed` creates, through the APIs of the sandbox
at `endpoint_url`:

- a VPC with two subnets and a security group, plus every subnet and security
  group a service's `network` names, under those IDs;
- each cluster with its container instances (real moto EC2 instances
  registered to ECS);
- an ALB with a listener per target group, and the target groups every
  `load_balancers` entry (or `load_balancer`) names — by name, or by ARN under
  that very ARN;
- for a blue_green, linear or canary service: its alternate target group, the
  ALBs, listeners and rules its production and test listener rules name, under
  those very ARNs (an ALB rule's ARN names its load balancer, listener and rule:
  `listener-rule/app/NAME/LB/LISTENER/RULE`; other forms are not created), the
  production rule forwarding to the target group (weight 1) and the alternate
  (weight 0), the test rule to the target group; the role ECS moves traffic with
  and the roles of its Lambda hooks; the service created with its strategy, and
  its `test_http` check's host routed to the test listener rule;
- the ECR repositories, and for `type: docker` registries the sandbox's own
  registry (with the credentials the registry's variables hold, or
  `sandbox`/`sandbox`), each holding a small made-up image under `latest`,
  the `promote` tag and the tags in `image_tags`;
- the Secrets Manager secrets and SSM parameters the task definitions'
  `valueFrom`s name, the log groups and IAM roles they name;
- the capacity providers the services' strategies name, associated with their
  cluster; the CloudWatch alarms `deployment.alarms` names; the Cloud Map
  namespaces `service_connect` names (by name);
- every service on a first revision of its task definition, steady (its
  deployment COMPLETED), recorded as a successful release when `release` is
  given; a CODE_DEPLOY service with its CodeDeploy deployment group
  (codedeploy_seed.py);
- routes from each HTTP check's host to the sandbox's responder.

What the user's shell needs to reach all that is in `SeedResult.environment`.
`seed_file` does it all from a deploy.yaml, with the services on a made-up
earlier release, so the first plan shows a real rollout. Seed a fresh sandbox:
running it twice creates a second VPC and fails on existing services.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from ecsdeploy import releases
from ecsdeploy.config.model import Config, LoadBalancer, Registry, Service
from ecsdeploy.render.regions import is_region
from ecsdeploy.sandbox.codedeploy_seed import code_deploy, seed_deployment_group
from ecsdeploy.sandbox.ids import CUSTOM_ID_TAG

# Health checks quick enough for a demo, slow enough to watch: healthy after 2 x 10 s.
HEALTH_CHECK_INTERVAL = 10
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 2
DEREGISTRATION_DELAY = 30
DEFAULT_REGION = "us-east-1"
# The made-up commit `seed_file` puts the services on: an earlier release, so the
# first plan against a freshly seeded sandbox shows a real rollout.
SEED_REVISION = "5eed" * 10
# Registry credentials when the registry's variables are not set while seeding.
SANDBOX_REGISTRY_USER = "sandbox"
SANDBOX_REGISTRY_PASSWORD = "sandbox"  # noqa: S105 (the sandbox's, not a secret)
SANDBOX_SECRET_VALUE = "sandbox-secret"  # noqa: S105 (what seeded secrets hold)
# The infrastructure role for load balancers and the Lambda hooks' role: ECS assumes them.
ECS_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
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
    secrets: tuple[str, ...] = ()  # Secrets Manager ARNs
    parameters: tuple[str, ...] = ()  # SSM parameter names
    # Hosts (registries, HTTP checks) whose requests go to the sandbox: host -> URL.
    resolve: Mapping[str, str] = field(default_factory=dict)
    # Variables the user's shell needs besides the AWS ones: ECSDEPLOY_RESOLVE and
    # the registry credentials' variables that were not set while seeding.
    environment: Mapping[str, str] = field(default_factory=dict)


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
    # A traffic-shifting deployment runs a full second set of tasks.
    counts = [
        s.initial_count * (2 if s.deployment.traffic_shifting else 1)
        for s in config.services.values()
        if s.cluster == cluster_key
    ]
    return (max(counts) if counts else 0) + 1


def _tag_spec(resource: str, custom_id: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource, "Tags": [{"Key": CUSTOM_ID_TAG, "Value": custom_id}]}]


def _target_group_id(reference: str) -> str | None:
    """The 16 hex digits ending a target group ARN, or None for a name."""
    if reference.startswith("arn:") and "targetgroup/" in reference:
        parts = reference.split("targetgroup/", 1)[1].split("/")
        if len(parts) > 1 and parts[1]:
            return parts[1]
    return None


def _named_network(config: Config) -> tuple[list[str], list[str]]:
    """Subnets and security groups the services' `network` names, in order."""
    subnets: dict[str, None] = {}
    groups: dict[str, None] = {}
    for svc in config.services.values():
        if svc.network is not None:
            subnets.update(dict.fromkeys(svc.network.subnets))
            groups.update(dict.fromkeys(svc.network.security_groups))
    return list(subnets), list(groups)


def registry_credentials(registry: Registry, env: Mapping[str, str]) -> tuple[str, str]:
    """The user and password the sandbox's registry accepts for `registry`.

    The registry's own variables when they are set while seeding, else the
    sandbox's `sandbox`/`sandbox` (which `SeedResult.environment` then exports).
    """
    auth = registry.auth
    user = env.get(auth.username_env or "") if auth is not None else None
    password = env.get(auth.password_env or "") if auth is not None else None
    return user or SANDBOX_REGISTRY_USER, password or SANDBOX_REGISTRY_PASSWORD


def seed(
    config: Config,
    taskdefs: Mapping[str, Mapping[str, Any]],
    *,
    endpoint_url: str,
    region: str | None = None,
    instances: int | None = None,
    settle: bool = True,
    image_tags: Mapping[str, Sequence[str]] | None = None,
    release: str | None = None,
    env: Mapping[str, str] | None = None,
    create_services: bool = True,
) -> SeedResult:
    """Create in the sandbox what `config` expects to exist; see the module docstring.

    `taskdefs` maps each service key to its rendered task definition.
    `instances` is the number of container instances per cluster (default:
    `default_instances`). With `settle`, the sandbox's clock is advanced until
    every service is steady (through its control endpoint). `image_tags` adds
    tags to each image (by key) besides `latest` and `promote`. `release` is the
    Git revision the seeded revisions are recorded as, a successful release.
    `env` (default: the process's) holds the registry credentials' variables.
    Without `create_services` the task definitions are registered but no service
    is created (the caller creates them its own way).
    """
    from ecsdeploy.sandbox.control import SandboxClient

    region = region or config.region or DEFAULT_REGION
    env = os.environ if env is None else env
    session = _session(region)
    control = SandboxClient(endpoint_url)

    def client(name: str, in_region: str | None = None) -> Any:
        if in_region and in_region != region:
            return _session(in_region).client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]
        return session.client(name, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    ec2, ecs, elbv2, ecr = client("ec2"), client("ecs"), client("elbv2"), client("ecr")

    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # The Region's own zones: not every Region has an `a`, `b` and `c`.
    zones = tuple(
        sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:3]
    )
    subnets = tuple(
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=z)["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate(zones[:2])
    )
    sg_id = ec2.create_security_group(
        GroupName="ecsdeploy-sandbox", Description="ecsdeploy sandbox", VpcId=vpc_id
    )["GroupId"]
    named_subnets, named_groups = _named_network(config)
    for n, subnet_id in enumerate(named_subnets):
        ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=f"10.0.{10 + n}.0/24",
            AvailabilityZone=zones[n % len(zones)],
            TagSpecifications=_tag_spec("subnet", subnet_id),
        )
    for group_id in named_groups:
        ec2.create_security_group(
            GroupName=f"ecsdeploy-sandbox-{group_id}",
            Description="named in deploy.yaml",
            VpcId=vpc_id,
            TagSpecifications=_tag_spec("security-group", group_id),
        )

    # Clusters and their container instances.
    clusters: dict[str, str] = {}
    container_instances: dict[str, tuple[str, ...]] = {}
    image_id: str | None = None
    for key, cluster in config.clusters.items():
        clusters[key] = ecs.create_cluster(clusterName=cluster.name)["cluster"]["clusterArn"]
        _capacity_providers(ecs, config, key, region)
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
    lb_entries = [(s, lb) for s in config.services.values() for lb in s.load_balancers]
    if lb_entries:
        lb_arn = elbv2.create_load_balancer(
            Name="ecsdeploy-sandbox",
            Subnets=list(subnets),
            SecurityGroups=[sg_id],
            Scheme="internet-facing",
            Type="application",
        )["LoadBalancers"][0]["LoadBalancerArn"]
        groups = [
            (svc, entry, reference)
            for svc, entry in lb_entries
            for reference in (entry.target_group, entry.alternate_target_group)
            if reference
        ]
        for svc, entry, reference in groups:
            name = _target_group_name(reference)
            if name in target_groups:
                continue
            awsvpc = _network_mode(svc, taskdefs.get(svc.key, {})) == "awsvpc"
            custom = _target_group_id(reference)
            tg_arn = elbv2.create_target_group(
                Name=name,
                Protocol="HTTP",
                Port=entry.port,
                VpcId=vpc_id,
                TargetType="ip" if awsvpc else "instance",
                HealthCheckPath="/",
                HealthCheckIntervalSeconds=HEALTH_CHECK_INTERVAL,
                HealthyThresholdCount=HEALTHY_THRESHOLD,
                UnhealthyThresholdCount=UNHEALTHY_THRESHOLD,
                **({"Tags": [{"Key": CUSTOM_ID_TAG, "Value": custom}]} if custom else {}),
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
                Port=80 + len(target_groups),
                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
            )
            target_groups[name] = tg_arn
        _listener_rules(elbv2, lb_entries, target_groups, list(subnets), sg_id)

    # Images: ECR repositories, and the sandbox's registry for the others.
    resolve: dict[str, str] = {}
    environment: dict[str, str] = {}
    repositories: dict[str, str] = {}
    users: dict[str, str] = {}
    extra = image_tags or {}
    for key, image in config.images.items():
        registry = config.registries.get(image.registry)
        if registry is None:
            continue
        tags = dict.fromkeys(t for t in ("latest", image.promote, *extra.get(key, ())) if t)
        if registry.type == "ecr":
            try:
                repo = ecr.create_repository(repositoryName=image.repository)["repository"]
            except ecr.exceptions.RepositoryAlreadyExistsException:
                repo = ecr.describe_repositories(repositoryNames=[image.repository])[
                    "repositories"
                ][0]
            repositories[key] = repo["repositoryUri"]
            manifest = _manifest(image.repository)
            for tag in tags:
                with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
                    ecr.put_image(
                        repositoryName=image.repository, imageManifest=manifest, imageTag=tag
                    )
            continue
        host = registry.url  # host[:port], as the schema requires
        resolve[host] = endpoint_url
        repositories[key] = f"{host}/{image.repository}"
        if registry.auth is not None:
            user, password = registry_credentials(registry, env)
            users[user] = password
            auth = registry.auth
            for var, value in ((auth.username_env, user), (auth.password_env, password)):
                if var and not env.get(var):
                    environment[var] = value
        for tag in tags:
            control.put_image(image.repository, tag)
    if users:
        control.registry_users(users)

    # Secrets, parameters, log groups and roles the task definitions name (verify
    # checks they exist).
    from ecsdeploy.verify.rules import secrets as secret_refs

    secret_arns: list[str] = []
    parameters: list[str] = []
    log_groups: set[tuple[str, str]] = set()
    roles: set[str] = set()
    for taskdef in taskdefs.values():
        for key in ("executionRoleArn", "taskRoleArn"):
            if taskdef.get(key):
                roles.add(str(taskdef[key]).split("/")[-1])
        for container in taskdef.get("containerDefinitions") or []:
            options = (container.get("logConfiguration") or {}).get("options") or {}
            if options.get("awslogs-group"):
                log_region = str(options.get("awslogs-region") or region)
                log_groups.add((str(options["awslogs-group"]), log_region))
        for ref in secret_refs(taskdef):
            if ref.kind == "secretsmanager" and ref.id not in secret_arns:
                _seed_secret(client("secretsmanager", ref.region), ref.id, ref.value_from)
                secret_arns.append(ref.id)
            elif ref.kind == "ssm" and ref.id not in parameters:
                with contextlib.suppress(Exception):
                    client("ssm", ref.region).put_parameter(
                        Name=ref.id, Value=SANDBOX_SECRET_VALUE, Type="SecureString"
                    )
                parameters.append(ref.id)
    for group, log_region in sorted(log_groups):
        logs = client("logs", log_region if is_region(log_region) else None)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
    iam = client("iam")
    for role in sorted(roles):
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_POLICY)
    # The roles ECS itself assumes: to move listener traffic, to invoke Lambda hooks.
    ecs_roles: dict[str, str] = {}
    for svc in config.services.values():
        wanted = [lb.role for lb in svc.load_balancers if lb.role]
        wanted += [h.role for h in svc.deployment.hooks or () if h.role]
        for reference in wanted:
            name = reference.split("/")[-1]
            if reference in ecs_roles:
                continue
            with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=ECS_TRUST_POLICY)
            ecs_roles[reference] = (
                reference
                if reference.startswith("arn:")
                else iam.get_role(RoleName=name)["Role"]["Arn"]
            )
    # Each Lambda hook's function, a stub: the sandbox answers hooks itself (hook_verdict).
    functions = {h.function for svc in config.services.values() for h in svc.deployment.hooks or ()}
    if functions:
        lambda_ = client("lambda")
        stub_role = next(iter(ecs_roles.values()))
        for function in sorted(functions):
            with contextlib.suppress(lambda_.exceptions.ResourceConflictException):
                lambda_.create_function(
                    FunctionName=function.rsplit(":", 1)[-1],
                    Runtime="python3.12",
                    Role=stub_role,
                    Handler="hook.handler",
                    Code={"ZipFile": _STUB_ZIP},
                )

    _service_links(client, config)

    # Task definitions and services, dependencies first.
    task_definitions: dict[str, str] = {}
    services: dict[str, str] = {}
    for key in config.service_order():
        svc = config.services[key]
        taskdef = dict(taskdefs[key])
        if release:
            taskdef = releases.with_release_tags(taskdef, release, config.environment)
        td_arn = ecs.register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]
        task_definitions[key] = td_arn
        if not create_services:
            continue
        cluster_name = config.clusters[svc.cluster].name
        d = svc.deployment
        params: dict[str, Any] = {
            "cluster": cluster_name,
            "serviceName": svc.name,
            "taskDefinition": td_arn,
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
        if d.traffic_shifting:
            params["deploymentConfiguration"] |= _strategy(svc, region, ecs_roles)
        if code_deploy(svc):
            params["deploymentController"] = {"type": "CODE_DEPLOY"}
        if svc.daemon:
            params["schedulingStrategy"] = "DAEMON"  # one task per instance, no count
        else:
            params["desiredCount"] = svc.initial_count
        if svc.load_balancers:
            params["loadBalancers"] = [
                {
                    "targetGroupArn": target_groups[_target_group_name(lb.target_group)],
                    "containerName": lb.container,
                    "containerPort": lb.port,
                }
                | _advanced(lb, target_groups, ecs_roles, d.traffic_shifting)
                for lb in svc.load_balancers
            ]
            if svc.health_check_grace_period is not None:
                params["healthCheckGracePeriodSeconds"] = int(svc.health_check_grace_period)
        for lb in svc.load_balancers:
            http = lb.checks.http
            check_host = urlsplit(http.url).hostname if http is not None else None
            if check_host and http is not None:
                if d.traffic_shifting and lb.production_listener_rule:
                    # Through the production rule: production traffic's share, by weight.
                    control.http_route_rule(urlsplit(http.url).netloc, lb.production_listener_rule)
                else:
                    control.http_route(check_host, cluster_name, svc.name)
                resolve[check_host] = endpoint_url
            test_http = lb.checks.test_http
            if test_http is not None and lb.test_listener_rule and d.traffic_shifting:
                parts = urlsplit(test_http.url)
                if parts.hostname:
                    # The host with its port, if any: the test listener is often the
                    # production host on another port.
                    control.http_route_rule(parts.netloc, lb.test_listener_rule)
                    resolve[parts.hostname] = endpoint_url
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
        if code_deploy(svc) and svc.load_balancers:
            seed_deployment_group(
                client, svc, cluster_name, params["loadBalancers"][0]["targetGroupArn"]
            )

    settled = True
    if settle and services:
        settled = control.settle(
            3600.0 + max(_rollout_seconds(s) for s in config.services.values())
        )
    if release and settled:
        finished = datetime.now(UTC).isoformat(timespec="seconds")
        for td_arn in task_definitions.values():
            ecs.tag_resource(
                resourceArn=td_arn,
                tags=[
                    {"key": releases.OUTCOME, "value": releases.SUCCEEDED},
                    {"key": releases.FINISHED_AT, "value": finished},
                ],
            )
    if resolve:
        environment["ECSDEPLOY_RESOLVE"] = ",".join(f"{h}={u}" for h, u in resolve.items())

    return SeedResult(
        region=region,
        vpc_id=vpc_id,
        subnet_ids=(*subnets, *named_subnets),
        security_group_id=sg_id,
        clusters=clusters,
        container_instances=container_instances,
        load_balancer_arn=lb_arn,
        target_groups=target_groups,
        repositories=repositories,
        task_definitions=task_definitions,
        services=services,
        settled=settled,
        secrets=tuple(secret_arns),
        parameters=tuple(parameters),
        resolve=resolve,
        environment=environment,
    )


def _stub_zip() -> bytes:
    """A deployment package holding one empty handler, for the hooks' stub functions."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hook.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


_STUB_ZIP = _stub_zip()
_STRATEGIES = {"blue_green": "BLUE_GREEN", "linear": "LINEAR", "canary": "CANARY"}
# An ALB listener rule's ARN: its load balancer's name and ID, its listener's and its own.
_RULE_ARN = re.compile(
    r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:listener-rule/app/"
    r"([^/]+)/([0-9a-f]{16})/([0-9a-f]{16})/([0-9a-f]{16})$"
)


def _listener_rules(
    elbv2: Any,
    lb_entries: Sequence[tuple[Service, LoadBalancer]],
    target_groups: Mapping[str, str],
    subnets: list[str],
    security_group: str,
) -> None:
    """The ALBs, listeners and rules the traffic-shifting entries name, under their ARNs."""
    balancers: dict[str, str] = {}  # load balancer ID -> ARN
    listeners: dict[str, str] = {}  # listener ID -> ARN
    ports: dict[str, int] = {}  # load balancer ID -> listeners made on it
    priorities: dict[str, int] = {}  # listener ID -> rules made on it
    made: set[str] = set()
    for svc, entry in lb_entries:
        if not svc.deployment.traffic_shifting:
            continue
        primary = target_groups[_target_group_name(entry.target_group)]
        alternate = (
            target_groups[_target_group_name(entry.alternate_target_group)]
            if entry.alternate_target_group
            else None
        )
        for rule_arn, forward in (
            (entry.production_listener_rule, [(primary, 1), (alternate, 0)]),
            (entry.test_listener_rule, [(primary, 1)]),
        ):
            m = _RULE_ARN.match(rule_arn or "")
            if m is None or rule_arn in made:
                continue
            name, lb_id, listener_id, rule_id = m.groups()
            if lb_id not in balancers:
                balancers[lb_id] = elbv2.create_load_balancer(
                    Name=name,
                    Subnets=subnets,
                    SecurityGroups=[security_group],
                    Scheme="internet-facing",
                    Type="application",
                    Tags=[{"Key": CUSTOM_ID_TAG, "Value": lb_id}],
                )["LoadBalancers"][0]["LoadBalancerArn"]
            if listener_id not in listeners:
                ports[lb_id] = ports.get(lb_id, 0) + 1
                listeners[listener_id] = elbv2.create_listener(
                    LoadBalancerArn=balancers[lb_id],
                    Protocol="HTTP",
                    Port=79 + ports[lb_id],
                    DefaultActions=[
                        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}
                    ],
                    Tags=[{"Key": CUSTOM_ID_TAG, "Value": listener_id}],
                )["Listeners"][0]["ListenerArn"]
            priorities[listener_id] = priorities.get(listener_id, 0) + 1
            groups = [{"TargetGroupArn": tg, "Weight": w} for tg, w in forward if tg]
            elbv2.create_rule(
                ListenerArn=listeners[listener_id],
                Priority=priorities[listener_id],
                Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
                Tags=[{"Key": CUSTOM_ID_TAG, "Value": rule_id}],
            )
            made.add(str(rule_arn))


def _minutes(seconds: float | None) -> int:
    return int((seconds or 0) // 60)


def _strategy(svc: Service, region: str, roles: Mapping[str, str]) -> dict[str, Any]:
    """deploymentConfiguration's strategy settings for a traffic-shifting service."""
    d = svc.deployment
    out: dict[str, Any] = {
        "strategy": _STRATEGIES[d.strategy],
        "bakeTimeInMinutes": _minutes(d.bake_time),
    }
    if d.strategy == "linear" and d.linear is not None:
        out["linearConfiguration"] = {
            "stepPercent": d.linear.step_percent,
            "stepBakeTimeInMinutes": _minutes(d.linear.step_bake_time),
        }
    if d.strategy == "canary" and d.canary is not None:
        out["canaryConfiguration"] = {
            "canaryPercent": d.canary.percent,
            "canaryBakeTimeInMinutes": _minutes(d.canary.bake_time),
        }
    from ecsdeploy.sandbox.server import DEFAULT_ACCOUNT

    hooks = []
    for hook in d.hooks or ():
        function = hook.function
        if not function.startswith("arn:"):
            function = f"arn:aws:lambda:{region}:{DEFAULT_ACCOUNT}:function:{function}"
        item: dict[str, Any] = {
            "targetType": "AWS_LAMBDA",
            "hookTargetArn": function,
            "roleArn": roles.get(hook.role, hook.role),
            "lifecycleStages": list(hook.stages),
            "timeoutConfiguration": {
                "timeoutInMinutes": _minutes(hook.timeout) or 1440,
                "action": hook.on_timeout.upper(),
            },
        }
        if hook.details is not None:
            item["hookDetails"] = dict(hook.details)
        hooks.append(item)
    if hooks:
        out["lifecycleHooks"] = hooks
    return out


def _advanced(
    lb: LoadBalancer, target_groups: Mapping[str, str], roles: Mapping[str, str], shifting: bool
) -> dict[str, Any]:
    """A load balancer entry's advancedConfiguration (none for a rolling service)."""
    if not shifting or not lb.alternate_target_group:
        return {}
    advanced: dict[str, Any] = {
        "alternateTargetGroupArn": target_groups[_target_group_name(lb.alternate_target_group)],
    }
    if lb.production_listener_rule:
        advanced["productionListenerRule"] = lb.production_listener_rule
    if lb.test_listener_rule:
        advanced["testListenerRule"] = lb.test_listener_rule
    if lb.role:
        advanced["roleArn"] = roles.get(lb.role, lb.role)
    return {"advancedConfiguration": advanced}


def _rollout_seconds(svc: Service) -> float:
    """How long a first traffic-shifting deployment waits, beyond its tasks starting."""
    d = svc.deployment
    if not d.traffic_shifting:
        return 0.0
    waits = d.bake_time or 0.0
    if d.strategy == "linear" and d.linear is not None:
        waits += d.linear.step_bake_time * (100 // max(d.linear.step_percent, 1))
    if d.strategy == "canary" and d.canary is not None:
        waits += d.canary.bake_time
    return waits


def _seed_secret(sm: Any, arn: str, value_from: str) -> None:
    """A Secrets Manager secret under `arn` (NAME-abcdef keeps its suffix), holding the
    JSON key `value_from` selects, if any."""
    secret_id = arn.split(":", 6)[6]
    name, custom = secret_id, None
    if len(secret_id) > 7 and secret_id[-7] == "-":
        name, custom = secret_id[:-7], secret_id[-6:]
    key = value_from.split(":")[7] if value_from.count(":") >= 7 else ""
    value = json.dumps({key: SANDBOX_SECRET_VALUE}) if key else SANDBOX_SECRET_VALUE
    kwargs: dict[str, Any] = {"Name": name, "SecretString": value}
    if custom:
        kwargs["Tags"] = [{"Key": CUSTOM_ID_TAG, "Value": custom}]
    with contextlib.suppress(sm.exceptions.ResourceExistsException):
        sm.create_secret(**kwargs)


def _service_links(client: Any, config: Config) -> None:
    """The CloudWatch alarms deployments watch and the Service Connect namespaces
    (by name) deploy.yaml names, so verify finds them."""
    alarms = sorted(
        {
            name
            for s in config.services.values()
            if s.deployment.alarms is not None
            for name in s.deployment.alarms.names
        }
    )
    if alarms:
        cloudwatch = client("cloudwatch")
        for name in alarms:
            cloudwatch.put_metric_alarm(
                AlarmName=name,
                Namespace="AWS/ApplicationELB",
                MetricName="HTTPCode_Target_5XX_Count",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=10,
                ComparisonOperator="GreaterThanThreshold",
            )
    namespaces = sorted(
        {
            s.service_connect.namespace
            for s in config.services.values()
            if s.service_connect is not None
            and s.service_connect.namespace
            and not s.service_connect.namespace.startswith("arn:")
        }
    )
    if namespaces:
        cloud_map = client("servicediscovery")
        known = {n["Name"] for n in cloud_map.list_namespaces().get("Namespaces") or []}
        for name in namespaces:
            if name not in known:
                cloud_map.create_http_namespace(Name=name)


def _capacity_providers(ecs: Any, config: Config, cluster_key: str, region: str) -> None:
    """The capacity providers the cluster's services name, associated with it (ECS
    refuses a strategy naming one that is not). FARGATE and FARGATE_SPOT are ECS's
    own; any other is an Auto Scaling group provider with managed scaling."""
    names = sorted(
        {
            p.capacity_provider
            for s in config.services.values()
            if s.cluster == cluster_key
            for p in s.capacity_provider_strategy or ()
        }
    )
    if not names:
        return
    from ecsdeploy.sandbox.server import DEFAULT_ACCOUNT as ACCOUNT

    for name in names:
        if name in ("FARGATE", "FARGATE_SPOT"):
            continue
        with contextlib.suppress(ecs.exceptions.ClientException):
            ecs.create_capacity_provider(
                name=name,
                autoScalingGroupProvider={
                    "autoScalingGroupArn": f"arn:aws:autoscaling:{region}:{ACCOUNT}:"
                    f"autoScalingGroup:00000000-0000-0000-0000-000000000000:"
                    f"autoScalingGroupName/{name}",
                    "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
                },
            )
    ecs.put_cluster_capacity_providers(
        cluster=config.clusters[cluster_key].name,
        capacityProviders=names,
        defaultCapacityProviderStrategy=[],
    )


def seed_file(
    path: str | Path,
    *,
    endpoint_url: str,
    environment: str | None = None,
    cli_vars: Mapping[str, str] | None = None,
    region: str | None = None,
    revision: str | None = None,
    instances: int | None = None,
    settle: bool = True,
    env: Mapping[str, str] | None = None,
) -> SeedResult:
    """Seed what the deploy.yaml at `path` expects, its services on an earlier release.

    The task definitions are rendered as at `SEED_REVISION`, a made-up earlier
    commit recorded as a successful release, so that planning the checkout's
    own revision (`revision`, else Git's) shows a real rollout. Images that are
    neither promoted nor pushed get their tag for that revision too, as the CI
    build that precedes a deploy would have pushed it.
    """
    from ecsdeploy.config import load_config
    from ecsdeploy.errors import EcsDeployError
    from ecsdeploy.render import Renderer

    config = load_config(Path(path), env=environment, cli_vars=dict(cli_vars or {}))
    region = region or config.region or DEFAULT_REGION
    earlier = Renderer(config, revision=SEED_REVISION, region=region)
    rendered = earlier.render_all()
    tags: dict[str, list[str]] = {k: [ref.tag] for k, ref in earlier.images().items()}
    try:
        current = Renderer(config, revision=revision, region=region).images()
    except EcsDeployError:  # no Git and no revision: nothing more to push
        current = {}
    for key, ref in current.items():
        if ref.promote is None and ref.local is None:
            tags.setdefault(key, []).append(ref.tag)
    return seed(
        config,
        {key: r.task_definition for key, r in rendered.items()},
        endpoint_url=endpoint_url,
        region=region,
        instances=instances,
        settle=settle,
        image_tags=tags,
        release=SEED_REVISION,
        env=env,
    )
