"""Onboarding: live ECS services and their task definitions -> deploy.yaml and templates.

Pure, no I/O: `ecsdeploy.cli.init` reads the live state (read-only calls) and
writes the files; this module decides what they say. The result reproduces what
runs now, so `ecsdeploy plan` right after `init` has nothing to do: image tags
are the ones running (literal), deployment settings are the live ones, and
the template is the running revision as a RegisterTaskDefinition input with
only the images templated.

deploy.yaml is written by hand rather than dumped, so that keys keep a reading
order and carry comments saying what to change next.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from ecsdeploy.config.durations import format_duration
from ecsdeploy.config.model import policy_name
from ecsdeploy.config.overrides import NAMED_FIELDS
from ecsdeploy.config.service_keys import from_api
from ecsdeploy.releases import RELEASE_TAG_PREFIX
from ecsdeploy.render.shapes import REGISTER_FIELDS, to_register_input
from ecsdeploy.scaling import ScalingState

SCHEMA_HINT = "ecsdeploy schema > deploy.schema.json"
DEFAULT_KEEP_REVISIONS = 5  # the schema's default
DEFAULT_TIMEOUT = "15m"  # the schema's default, written out so users see the knob
CLUSTER_KEY = "main"

# Docker Hub: a reference without a registry host is docker.io/library/NAME. The name
# `docker.io` has no registry API behind it (https://docker.io/v2/ redirects to
# www.docker.com), so the registry is written with the host that serves it.
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_URL = "registry-1.docker.io"
DOCKER_HUB_KEY = "dockerhub"

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
# The schema's patterns: what is not expressible stays literal in the template.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_REPOSITORY = re.compile(
    r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_URL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A plain YAML scalar that reads back as the same string (YAML 1.1 and 1.2 loaders):
# safe characters, at least one letter, and nothing a loader would take for a number,
# a date, a boolean or null.
_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_./-]*$")
_NUMBER_OR_DATE = re.compile(
    r"^[-+]?(\d[\d_]*(\.[\d_]*)?|\.\d+)([eE][-+]?\d+)?$|^0[xob][0-9a-fA-F_]+$|^\d{4}-\d"
)
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


# --- image references -------------------------------------------------------------------


@dataclass(frozen=True)
class ImageReference:
    """A Docker image reference split as Docker splits it."""

    host: str | None  # None: Docker Hub
    repository: str  # as the registry API names it (`library/nginx` for `nginx`)
    tag: str | None
    digest: str | None

    @property
    def hub(self) -> bool:
        return self.host is None


def parse_image(reference: str) -> ImageReference:
    """`[host[:port]/]path[:tag][@digest]`, the host recognised as Docker does: the first
    component holds a `.` or a `:`, or is `localhost`; Docker Hub's names become None."""
    rest, _, digest = reference.partition("@")
    host: str | None = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, remainder
    path, tag = rest, None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        path, tag = rest[:colon], rest[colon + 1 :]
    if host in DOCKER_HUB_HOSTS:
        host = None
    if host is None and "/" not in path:
        path = f"library/{path}"
    return ImageReference(host=host, repository=path, tag=tag, digest=digest or None)


# --- a small YAML writer: ordered keys, comments ---------------------------------------

Scalar = str | int | float | bool


@dataclass
class Block:
    """A YAML mapping written in block style, entries in order."""

    entries: list[Entry] = field(default_factory=list)

    def add(
        self,
        key: str,
        value: Value,
        comment: str | None = None,
        above: Sequence[str] = (),
        quote: bool = False,
    ) -> None:
        self.entries.append(Entry(key, value, comment, tuple(above), quote))

    def data(self) -> dict[str, Any]:
        """The mapping as plain data, as a YAML loader reads the text back."""
        return {e.key: _data(e.value) for e in self.entries}


def _data(value: Value) -> Any:
    if isinstance(value, Block):
        return value.data()
    if isinstance(value, list):
        return [_data(v) for v in value]
    return value


@dataclass
class Entry:
    key: str
    value: Value
    comment: str | None = None
    above: tuple[str, ...] = ()
    quote: bool = False  # always double-quoted (image tags: never read as numbers)


# What an entry holds: a scalar, a flow list of scalars, a mapping, or a list of mappings.
Value = Scalar | list[Scalar] | list[str] | Block | list[Block]


def _scalar(value: Scalar, quote: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if (
        not quote
        and _PLAIN.match(value)
        and re.search(r"[A-Za-z]", value)
        and not _NUMBER_OR_DATE.match(value)
        and value.lower() not in _YAML_WORDS
    ):
        return value
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=False)


def emit(block: Block, indent: int = 0) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    for e in block.entries:
        lines += [f"{pad}# {c}" if c else f"{pad}#" for c in e.above]
        comment = f"  # {e.comment}" if e.comment else ""
        key = _scalar(e.key)
        if isinstance(e.value, Block):
            if e.value.entries:
                lines.append(f"{pad}{key}:{comment}")
                lines += emit(e.value, indent + 1)
            else:
                lines.append(f"{pad}{key}: {{}}{comment}")
        elif isinstance(e.value, list) and e.value and isinstance(e.value[0], Block):
            lines.append(f"{pad}{key}:{comment}")
            for item in e.value:
                assert isinstance(item, Block)
                inner = emit(item, 0)
                lines += [f"{pad}  - {inner[0]}", *(f"{pad}    {line}" for line in inner[1:])]
        elif isinstance(e.value, list):
            items = ", ".join(_scalar(v) for v in e.value if not isinstance(v, Block))
            lines.append(f"{pad}{key}: [{items}]{comment}")
        else:
            lines.append(f"{pad}{key}: {_scalar(e.value, e.quote)}{comment}")
    return lines


# --- from live state to files -----------------------------------------------------------


@dataclass(frozen=True)
class LiveService:
    """What init reads about one service."""

    service: Mapping[str, Any]  # DescribeServices' entry
    task_definition: Mapping[str, Any]  # DescribeTaskDefinition's taskDefinition (tags in)
    # Target group ARN -> its name; a group DescribeTargetGroups did not find is absent.
    target_groups: Mapping[str, str] = field(default_factory=dict)
    active_revisions: int | None = None  # ACTIVE revisions of the family, if counted
    # Application Auto Scaling of its desired count; None or no target: not scaled.
    scaling: ScalingState | None = None


@dataclass(frozen=True)
class Scaffold:
    deploy_yaml: str
    templates: dict[str, str]  # path relative to deploy.yaml -> text
    data: dict[str, Any]  # deploy.yaml as data (what the text reads back as)
    notes: tuple[str, ...]  # for the user: never a value from the task definitions

    def with_note(self, note: str) -> Scaffold:
        return replace(self, notes=(*self.notes, note))


def service_key(name: str) -> str:
    """The key under `services:` for an ECS service name (or ARN): the name itself when it
    is a valid key, so `--service NAME` means the same thing before and after init."""
    name = name.rsplit("/", 1)[-1]
    key = re.sub(r"[^A-Za-z0-9_-]", "-", name).lstrip("_-")
    return key or "service"


def template_path(key: str) -> str:
    return f"taskdefs/{key}.json.j2"


def _unique(wanted: str, taken: Mapping[str, object] | set[str]) -> str:
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


def _as_key(text: str, fallback: str) -> str:
    key = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")
    return key if _KEY.match(key) else fallback


@dataclass
class _Registry:
    key: str
    type: str
    url: str


@dataclass
class _Image:
    key: str
    registry: _Registry
    repository: str
    tag: str
    implicit_tag: bool  # the live reference had no tag: Docker's `latest`
    comment_source: str  # the live reference, for the comment (an image name, no secret)


class _Builder:
    def __init__(self) -> None:
        self.registries: dict[str, _Registry] = {}  # by URL
        self.images: dict[tuple[str, str, str], _Image] = {}
        self.image_keys: set[str] = set()
        self.literal: list[str] = []  # comments about images kept as written

    def registry_for(self, ref: ImageReference) -> _Registry:
        url = DOCKER_HUB_URL if ref.hub else str(ref.host)
        found = self.registries.get(url)
        if found is not None:
            return found
        ecr = _ECR_HOST.match(url)
        if ref.hub:
            key, kind = DOCKER_HUB_KEY, "docker"
        elif ecr:
            key, kind = "ecr", "ecr"
            if any(r.type == "ecr" for r in self.registries.values()):
                key = f"ecr-{ecr.group(1)}-{ecr.group(2)}"
        else:
            key, kind = _as_key(url.replace(".", "-").replace(":", "-"), "registry"), "docker"
        registry = _Registry(_unique(key, {r.key for r in self.registries.values()}), kind, url)
        self.registries[url] = registry
        return registry

    def image_for(self, service_key: str, container: str, reference: str) -> _Image | None:
        """The images entry for a container's image, or None when it stays literal."""
        ref = parse_image(reference)
        where = f"service {service_key}, container {container}: {reference}"
        if ref.digest is not None:
            self.literal.append(
                f"{where} is pinned by digest; kept as written in the template (no tag to manage)"
            )
            return None
        url_ok = ref.hub or _URL.match(str(ref.host))
        tag = ref.tag or "latest"
        if not (url_ok and _REPOSITORY.match(ref.repository) and _TAG.match(tag)):
            self.literal.append(
                f"{where} is kept as written in the template (not expressible under images:)"
            )
            return None
        registry = self.registry_for(ref)
        identity = (registry.url, ref.repository, tag)
        found = self.images.get(identity)
        if found is not None:
            return found
        base = _as_key(ref.repository.rsplit("/", 1)[-1].replace(".", "-"), container)
        key = (
            base
            if base not in self.image_keys
            else _unique(f"{service_key}-{base}", self.image_keys)
        )
        image = _Image(key, registry, ref.repository, tag, ref.tag is None, reference)
        self.images[identity] = image
        self.image_keys.add(key)
        return image


_FIRST_FIELDS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "runtimePlatform",
    "containerDefinitions",
)


def _prune(value: Any) -> Any:
    """Drop [] and {} values of objects at any depth: describe writes them for "none",
    and ECS (and plan's normaliser) read them as absent."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v != [] and v != {}}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _template(td: Mapping[str, Any], builder: _Builder, key: str) -> tuple[str, list[str]]:
    """The template text: the task definition as JSON, each managed image templated."""
    given = _prune(to_register_input(dict(td)))
    dropped = sorted(k for k in given if k not in REGISTER_FIELDS)
    # The fields people look for first, then the rest in the order AWS gave them.
    doc = {k: given[k] for k in _FIRST_FIELDS if k in given}
    doc.update((k, v) for k, v in given.items() if k in REGISTER_FIELDS and k not in doc)
    placeholders: dict[str, str] = {}
    for container in doc.get("containerDefinitions") or []:
        image = container.get("image")
        if not isinstance(image, str):
            continue
        found = builder.image_for(key, str(container.get("name")), image)
        if found is None:
            continue
        placeholder = f"@@ecsdeploy-init-image-{len(placeholders)}@@"
        placeholders[placeholder] = found.key
        container["image"] = placeholder
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    # The JSON is a Jinja template: `{{`, `{%` and `{#` inside strings (a shell command,
    # a label) would be read as Jinja. JSON's `\u007b` is `{` once parsed and means
    # nothing to Jinja. Structural braces never precede these characters in indented
    # JSON, so only braces inside strings are touched.
    text = re.sub(r"\{(?=[{%#])", r"\\u007b", text)
    for placeholder, image_key in placeholders.items():
        # tojson, unquoted: the filter writes the JSON string, quotes and escapes included.
        access = (
            f"images.{image_key}"
            if _IDENTIFIER.match(image_key)
            else f"images[{json.dumps(image_key)}]"
        )
        text = text.replace(json.dumps(placeholder), f"{{{{ {access}.uri | tojson }}}}", 1)
    return text + "\n", dropped


def _deployment(svc: Mapping[str, Any], notes: list[str], name: str) -> Block:
    dep = svc.get("deploymentConfiguration") or {}
    block = Block()
    strategy = str(dep.get("strategy") or "ROLLING")
    if strategy != "ROLLING":
        block.add("strategy", strategy.lower())
        if dep.get("bakeTimeInMinutes") is not None:
            block.add("bake_time", f"{int(dep['bakeTimeInMinutes'])}m")
    linear = dep.get("linearConfiguration")
    if strategy == "LINEAR" and isinstance(linear, Mapping):
        shift = Block()
        if linear.get("stepPercent") is not None:
            shift.add("step_percent", _number(linear["stepPercent"]))
        if linear.get("stepBakeTimeInMinutes") is not None:
            shift.add("step_bake_time", f"{int(linear['stepBakeTimeInMinutes'])}m")
        block.add("linear", shift)
    canary = dep.get("canaryConfiguration")
    if strategy == "CANARY" and isinstance(canary, Mapping):
        shift = Block()
        if canary.get("canaryPercent") is not None:
            shift.add("percent", _number(canary["canaryPercent"]))
        if canary.get("canaryBakeTimeInMinutes") is not None:
            shift.add("bake_time", f"{int(canary['canaryBakeTimeInMinutes'])}m")
        block.add("canary", shift)
    if "minimumHealthyPercent" in dep:
        block.add("minimum_healthy_percent", int(dep["minimumHealthyPercent"]))
    if "maximumPercent" in dep:
        block.add("maximum_percent", int(dep["maximumPercent"]))
    breaker = dep.get("deploymentCircuitBreaker") or {}
    # Written even when off: ecsdeploy's default is on, and plan would switch it on.
    cb = Block()
    cb.add("enable", bool(breaker.get("enable", False)))
    cb.add("rollback", bool(breaker.get("rollback", False)))
    block.add("circuit_breaker", cb)
    block.add(
        "timeout",
        DEFAULT_TIMEOUT,
        "how long apply waits for the rollout and its checks before rolling back",
    )
    alarms = dep.get("alarms")
    if isinstance(alarms, Mapping):
        names = [str(n) for n in alarms.get("alarmNames") or []]
        entry = Block()
        if names:
            entry.add("names", names)
        entry.add("enable", bool(alarms.get("enable")))
        if names or alarms.get("enable"):
            entry.add("rollback", bool(alarms.get("rollback")))
        block.add("alarms", entry)
    hooks = _hooks(dep.get("lifecycleHooks"), notes, name)
    if hooks:
        block.add("hooks", hooks)
    return block


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _hooks(hooks: Any, notes: list[str], name: str) -> list[Block]:
    """The Lambda lifecycle hooks as `deployment.hooks` entries. ecsdeploy's own pause
    (after the test traffic shift) follows `checks.test_http`; with any other PAUSE
    hook no `hooks:` is written, so that plans keep the live hooks as they are."""
    from ecsdeploy.plan.strategy import HOOK_TIMEOUT_MINUTES, is_own_pause

    items = [h for h in hooks or [] if isinstance(h, Mapping)]
    if any(is_own_pause(h) for h in items):
        notes.append(
            f"service {name} pauses after the test traffic shift: ecsdeploy pauses there for "
            "`checks.test_http`; add that check to its load balancer entry, or plan removes "
            "the pause"
        )
    others = [h for h in items if h.get("targetType") == "PAUSE" and not is_own_pause(h)]
    if others:
        stages = ", ".join(sorted({str(s) for h in others for s in h.get("lifecycleStages") or []}))
        notes.append(
            f"service {name} has PAUSE hooks ({stages}), which deploy.yaml cannot write: "
            "no `deployment.hooks` is written, so plans keep all its hooks as they are"
        )
        return []
    out = []
    for hook in items:
        if hook.get("targetType") == "PAUSE":
            continue
        entry = Block()
        stages_of = [str(s).lower() for s in hook.get("lifecycleStages") or []]
        entry.add("stage", stages_of[0] if len(stages_of) == 1 else stages_of)
        entry.add("lambda", str(hook.get("hookTargetArn")))
        entry.add("role", str(hook.get("roleArn")))
        timeout = hook.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes")
        if minutes is not None and int(minutes) != HOOK_TIMEOUT_MINUTES:
            entry.add("timeout", f"{int(minutes)}m")
        if str(timeout.get("action") or "ROLLBACK") != "ROLLBACK":
            entry.add("on_timeout", str(timeout["action"]).lower())
        if hook.get("hookDetails") is not None:
            entry.add("details", to_value(hook["hookDetails"]))
        out.append(entry)
    return out


def _load_balancer_block(
    entry: Mapping[str, Any], live: LiveService, service: str, notes: list[str]
) -> Block:
    """One live load balancer entry as deploy.yaml writes it (the target group by name)."""
    arn = str(entry["targetGroupArn"])
    tg_name = live.target_groups.get(arn)
    lb = Block()
    if tg_name is None:
        lb.add("target_group", arn, "DescribeTargetGroups did not find it")
        notes.append(f"service {service}: target group {arn} was not found")
    else:
        lb.add("target_group", tg_name)
    lb.add("container", str(entry.get("containerName")))
    lb.add("port", int(entry.get("containerPort") or 0))
    advanced = entry.get("advancedConfiguration")
    if isinstance(advanced, Mapping) and advanced:
        alternate = advanced.get("alternateTargetGroupArn")
        if alternate:
            lb.add("alternate_target_group", live.target_groups.get(str(alternate), str(alternate)))
        for key, field_ in (
            ("production_listener_rule", "productionListenerRule"),
            ("test_listener_rule", "testListenerRule"),
            ("role", "roleArn"),
        ):
            if advanced.get(field_):
                lb.add(key, str(advanced[field_]))
    return lb


def _linked_settings(svc: Mapping[str, Any], block: Block) -> None:
    """Service Connect, Cloud Map registries, AZ rebalancing and EBS volumes, as live.

    Service Connect and volume configurations are reported on the deployments: the
    primary one's are the service's now."""
    primary = next((d for d in svc.get("deployments") or [] if d.get("status") == "PRIMARY"), None)
    per_deployment = primary or {}
    # A CreateService input (init --service-def) has them on the service itself.
    sc = per_deployment.get("serviceConnectConfiguration") or svc.get("serviceConnectConfiguration")
    if isinstance(sc, Mapping):
        sc = copy.deepcopy(dict(sc))
        for item in sc.get("services") or []:
            if isinstance(item, dict) and item.get("discoveryName") == item.get("portName"):
                item.pop("discoveryName", None)  # ECS's default: the port name
        block.add("service_connect", to_value(_prune(from_api(sc))))
    if svc.get("serviceRegistries"):
        block.add("service_registries", to_value(_prune(from_api(list(svc["serviceRegistries"])))))
    if svc.get("availabilityZoneRebalancing"):
        block.add("availability_zone_rebalancing", str(svc["availabilityZoneRebalancing"]))
    volumes = per_deployment.get("volumeConfigurations") or svc.get("volumeConfigurations")
    if volumes:
        block.add("volume_configurations", to_value(_prune(from_api(list(volumes)))))


def _service_block(key: str, live: LiveService, builder: _Builder, notes: list[str]) -> Block:
    svc = live.service
    name = str(svc.get("serviceName") or key)
    block = Block()
    block.add("cluster", CLUSTER_KEY)
    if name != key:
        block.add("name", name)
    td_arn = str(svc.get("taskDefinition") or "")
    block.add(
        "task_definition",
        template_path(key),
        f"runs {td_arn.rsplit('/', 1)[-1]} now" if td_arn else None,
    )
    if svc.get("capacityProviderStrategy"):
        block.add(
            "capacity_provider_strategy",
            [
                _block(
                    ("capacity_provider", str(p.get("capacityProvider"))),
                    ("weight", int(p.get("weight") or 0)),
                    ("base", int(p.get("base") or 0)),
                )
                for p in svc["capacityProviderStrategy"]
            ],
        )
    elif svc.get("launchType"):
        block.add("launch_type", str(svc["launchType"]))
    scaling = live.scaling if live.scaling is not None and live.scaling.target else None
    if svc.get("schedulingStrategy") == "DAEMON":
        block.add(
            "scheduling_strategy",
            "DAEMON",
            f"one task on each container instance (runs {int(svc.get('desiredCount') or 0)} now)",
        )
    elif scaling is None:
        block.add("desired_count", int(svc.get("desiredCount") or 0))
    controller = (svc.get("deploymentController") or {}).get("type", "ECS")
    if controller == "CODE_DEPLOY":
        notes.append(
            f"service {name} uses the CODE_DEPLOY deployment controller: apply deploys a new "
            "revision through the CodeDeploy deployment group that names the service (or "
            "the one `deployment.codedeploy` names)"
        )
    elif controller != "ECS":
        notes.append(
            f"service {name} uses the {controller} deployment controller, which another "
            "tool drives: apply cannot deploy a new revision of it"
        )
    block.add("deployment", _deployment(svc, notes, name))

    balancers = list(svc.get("loadBalancers") or [])
    groups = [lb for lb in balancers if lb.get("targetGroupArn")]
    entries = [_load_balancer_block(lb, live, name, notes) for lb in groups]
    if len(entries) == 1:
        block.add("load_balancer", entries[0])
    elif entries:
        block.add("load_balancers", entries)
    else:
        why = "no load balancer: a rolling update cannot promise zero downtime"
        if balancers:
            why = "a Classic Load Balancer, which ecsdeploy does not check"
        block.add("zero_downtime", False, why)
    if groups and len(groups) < len(balancers):
        notes.append(
            f"service {name} is also behind a Classic Load Balancer, which deploy.yaml cannot "
            "name: a plan would send only the target groups, detaching it"
        )

    awsvpc = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if awsvpc:
        net = Block()
        net.add("subnets", [str(s) for s in awsvpc.get("subnets") or []])
        if awsvpc.get("securityGroups"):
            net.add("security_groups", [str(s) for s in awsvpc["securityGroups"]])
        net.add("assign_public_ip", awsvpc.get("assignPublicIp") == "ENABLED")
        block.add("network", net)
    grace = svc.get("healthCheckGracePeriodSeconds")
    if grace:
        block.add("health_check_grace_period", format_duration(float(grace)))
    _service_settings(svc, block)
    if scaling is not None:
        block.add(
            "autoscaling",
            _autoscaling(name, scaling, notes),
            f"the desired count is autoscaling's (live {int(svc.get('desiredCount') or 0)})",
        )
    _linked_settings(svc, block)
    if live.active_revisions is not None and live.active_revisions > DEFAULT_KEEP_REVISIONS:
        # With the default (5) the first plan would deregister the older revisions.
        block.add(
            "keep_revisions",
            live.active_revisions,
            "ACTIVE revisions now; lower it to let apply deregister older ones",
        )
    return block


def _block(*entries: tuple[str, Value]) -> Block:
    block = Block()
    for key, value in entries:
        block.add(key, value)
    return block


# What DescribeServices shows for a setting nobody set: init leaves such a setting
# out of deploy.yaml, which then keeps it as it is live.
_UNSET: Mapping[str, object] = {
    "enableExecuteCommand": False,
    "propagateTags": "NONE",
    "platformVersion": "LATEST",
    "enableECSManagedTags": False,
    "deploymentController": {"type": "ECS"},
    "schedulingStrategy": "REPLICA",
}


def _service_settings(svc: Mapping[str, Any], block: Block) -> None:
    """The settings beyond the core ones, each written only when it is not ECS's default."""

    def is_set(field: str) -> bool:
        value = svc.get(field)
        return value not in (None, [], {}) and value != _UNSET.get(field)

    if is_set("enableExecuteCommand"):
        block.add("enable_execute_command", bool(svc["enableExecuteCommand"]))
    if is_set("platformVersion"):
        block.add("platform_version", str(svc["platformVersion"]), quote=True)
    placement = Block()
    if is_set("placementConstraints"):
        placement.add(
            "constraints",
            [
                _block(("type", str(c.get("type"))))
                if c.get("expression") is None
                else _block(("type", str(c.get("type"))), ("expression", str(c["expression"])))
                for c in svc["placementConstraints"]
            ],
        )
    if is_set("placementStrategy"):
        placement.add(
            "strategy",
            [
                _block(("type", str(p.get("type"))))
                if p.get("field") is None
                else _block(("type", str(p.get("type"))), ("field", str(p["field"])))
                for p in svc["placementStrategy"]
            ],
        )
    if placement.entries:
        block.add("placement", placement)
    if is_set("propagateTags"):
        block.add("propagate_tags", str(svc["propagateTags"]))
    tags = Block()
    for tag in svc.get("tags") or []:
        key = str(tag.get("key"))
        if not key.startswith(RELEASE_TAG_PREFIX):  # ecsdeploy's own records
            tags.add(key, str(tag.get("value", "")), quote=True)
    if tags.entries:
        block.add("tags", tags)
    overrides = Block()
    for name, value in svc.items():
        if name in create_service_fields() and name not in NAMED_FIELDS and is_set(name):
            overrides.add(name, to_value(value))
    if overrides.entries:
        block.add("service_overrides", overrides)


@cache
def create_service_fields() -> frozenset[str]:
    """CreateService's input members (botocore's ECS model): what of a service's
    description deploy.yaml can hold; the rest (counts, events, deployments) is state."""
    from ecsdeploy.api_model import load_model

    model = load_model("ecs")
    shape = model.input_shape("CreateService") if model is not None else None
    if model is None or shape is None:
        return frozenset({"enableECSManagedTags"})
    return frozenset((model.shapes.get(shape) or {}).get("members") or {})


def to_value(value: Any) -> Value:
    """JSON data (an API shape) as `emit` writes it: objects as blocks, lists of
    objects as block sequences, other lists as flow lists."""
    if isinstance(value, Mapping):
        block = Block()
        for key, inner in value.items():
            block.add(str(key), to_value(inner))
        return block
    if isinstance(value, list):
        blocks = [to_value(v) for v in value if isinstance(v, Mapping)]
        if value and len(blocks) == len(value):
            return [b for b in blocks if isinstance(b, Block)]
        items: list[Scalar] = [
            v if isinstance(v, str | int | bool) else json.dumps(v) for v in value
        ]
        return items
    if isinstance(value, str | int | bool):
        return value
    return json.dumps(value)


def _autoscaling(name: str, scaling: ScalingState, notes: list[str]) -> Block:
    """`autoscaling:` from the live scalable target, its target-tracking policies on
    ECS's predefined metrics and its scheduled actions; what deploy.yaml cannot say
    (other policies, start and end times) is noted, and plan leaves it alone."""
    from ecsdeploy.plan.scaling import DEFAULT_COOLDOWN, METRICS, UTC, managed

    target = scaling.target or {}
    block = Block()
    block.add("min", int(target.get("MinCapacity") or 0))
    block.add("max", int(target.get("MaxCapacity") or 0))
    policies: list[Block] = []
    for policy in scaling.policies:
        policy_label = str(policy.get("PolicyName"))
        if not managed(policy):
            notes.append(
                f"service {name}: scaling policy {policy_label} ({policy.get('PolicyType')}) "
                "is not in deploy.yaml; ecsdeploy leaves it as it is"
            )
            continue
        config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
        metric = METRICS[str(config["PredefinedMetricSpecification"]["PredefinedMetricType"])]
        entry = Block()
        entry.add("metric", metric)
        value = float(config.get("TargetValue") or 0)
        entry.add("target", int(value) if value.is_integer() else value)
        if policy_label != policy_name(name, metric):
            entry.add("name", policy_label)
        for key, api_name in (
            ("scale_in_cooldown", "ScaleInCooldown"),
            ("scale_out_cooldown", "ScaleOutCooldown"),
        ):
            cooldown = config.get(api_name)
            if cooldown is not None and int(cooldown) != DEFAULT_COOLDOWN:
                entry.add(key, format_duration(float(cooldown)))
        if config.get("DisableScaleIn"):
            entry.add("disable_scale_in", True)
        policies.append(entry)
    if policies:
        block.add("target_tracking", policies)
    actions: list[Block] = []
    for action in scaling.scheduled:
        entry = Block()
        action_name = str(action.get("ScheduledActionName"))
        entry.add("name", action_name)
        entry.add("schedule", str(action.get("Schedule")))
        if action.get("Timezone") and action.get("Timezone") != UTC:
            entry.add("timezone", str(action["Timezone"]))
        bounds = action.get("ScalableTargetAction") or {}
        for key in ("MinCapacity", "MaxCapacity"):
            if bounds.get(key) is not None:
                entry.add(key[:3].lower(), int(bounds[key]))
        if action.get("StartTime") or action.get("EndTime"):
            notes.append(
                f"service {name}: scheduled action {action_name} has a start or end time, "
                "which deploy.yaml does not hold; ecsdeploy leaves it as it is"
            )
        actions.append(entry)
    if actions:
        block.add("scheduled", actions)
    return block


def scaffold(
    region: str, cluster: str, services: Sequence[LiveService], source: str | None = None
) -> Scaffold:
    """deploy.yaml and one template per service, reproducing what runs now (or, with
    `source`, the service and task definition files read from there)."""
    builder = _Builder()
    notes: list[str] = []
    templates: dict[str, str] = {}
    service_blocks: list[tuple[str, Block]] = []
    for live in services:
        key = service_key(str(live.service.get("serviceName") or ""))
        text, dropped = _template(live.task_definition, builder, key)
        if dropped:
            notes.append(
                f"{template_path(key)}: left out {', '.join(dropped)} "
                "(not RegisterTaskDefinition fields)"
            )
        templates[template_path(key)] = text
        service_blocks.append((key, _service_block(key, live, builder, notes)))

    names = ", ".join(str(s.service.get("serviceName")) for s in services)
    origin = [
        f"deploy.yaml written by `ecsdeploy init` from the live "
        f"{'service' if len(services) == 1 else 'services'} {names}",
        f"in cluster {cluster} ({region}). It reproduces what runs now, so",
        '`ecsdeploy plan` shows "No changes." until you change something.',
    ]
    if source is not None:
        origin = [
            f"deploy.yaml written by `ecsdeploy init` from {source}",
            f"(service {names}, cluster {cluster}, {region}). Once that service runs as",
            'the files describe it, `ecsdeploy plan` shows "No changes.".',
        ]
    header = [
        *origin,
        "",
        "Editor help (completion, a description of every key): save the schema next",
        f"to this file with `{SCHEMA_HINT}` and put",
        "`# yaml-language-server: $schema=./deploy.schema.json` on the first line.",
        "",
        "Secrets: the templates' `environment` values were copied as ECS holds them",
        "(in clear text in AWS already). Any value that is a secret belongs in the",
        "container's `secrets` (valueFrom: an SSM parameter or a Secrets Manager ARN),",
        "not in `environment`, and not in Git.",
    ]
    for comment in [*builder.literal, *notes]:
        header += ["", *_wrap(comment)]

    doc = Block()
    doc.add("version", 1)
    doc.add("region", region)
    if builder.registries:
        registries = Block()
        for reg in builder.registries.values():
            entry = Block()
            entry.add("type", reg.type)
            entry.add("url", reg.url)
            above: list[str] = []
            if reg.key == DOCKER_HUB_KEY:
                above = [
                    "Docker Hub: `nginx:1.25` is registry-1.docker.io/library/nginx:1.25",
                    "(docker.io is only a name: its registry API is registry-1.docker.io);",
                    "plan treats both spellings as the same image.",
                ]
            elif reg.type == "docker":
                above = ["if it is private, add auth: {username_env: ..., password_env: ...}"]
            registries.add(reg.key, entry, above=above)
        doc.add("registries", registries)
    if builder.images:
        images = Block()
        first = True
        for image in builder.images.values():
            entry = Block()
            entry.add("registry", image.registry.key)
            entry.add("repository", image.repository)
            entry.add(
                "tag",
                image.tag,
                'running now; once CI tags images: "{{ git.short_sha }}" and promote:/local:',
                quote=True,
            )
            above = []
            if first:
                above = [
                    "Each tag is the one running now (literal), so nothing changes yet.",
                ]
                first = False
            if image.implicit_tag:
                above.append(f"{image.comment_source} has no tag: Docker pulls `latest`")
            images.add(image.key, entry, above=above)
        doc.add("images", images)
    clusters = Block()
    main = Block()
    main.add("name", cluster)
    clusters.add(CLUSTER_KEY, main)
    doc.add("clusters", clusters)
    blocks = Block()
    for key, block in service_blocks:
        blocks.add(key, block)
    doc.add("services", blocks)

    lines = [f"# {h}" if h else "#" for h in header]
    body = emit(doc)
    # A blank line before each top-level section (registries, images, ...), for reading.
    spaced: list[str] = []
    for line in body:
        if not line.startswith((" ", "#", "version:", "region:")):
            spaced.append("")
        spaced.append(line)
    text = "\n".join([*lines, *spaced]) + "\n"
    notes += builder.literal
    return Scaffold(text, templates, doc.data(), tuple(notes))


def _wrap(text: str, width: int = 84) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines
