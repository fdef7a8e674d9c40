"""deploy.yaml's keys for Service Connect, Cloud Map registries, Availability Zone
rebalancing, EBS volume configurations and deployment alarms, in the ECS API's shape.

deploy.yaml spells each API member in snake_case (`port_name` for `portName`,
`managed_ebs_volume` for `managedEBSVolume`); the schema fixes which members there
are. Here: the model built from the validated document, each setting as the
CreateService/UpdateService member it is sent as, the way to compare it with what
DescribeServices reports (ECS's defaults filled in, lists in a fixed order), and the
way back from the API's shape to deploy.yaml's (for `init`). Pure, no I/O.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from . import model as m

# Where deploy.yaml's name is not the API's in camelCase, both ways.
_TO_API: Mapping[str, str] = {
    "managed_ebs_volume": "managedEBSVolume",
    "size_in_gib": "sizeInGiB",
}
_FROM_API: Mapping[str, str] = {v: k for k, v in _TO_API.items()}
# Maps whose keys are data (log driver options), never renamed.
_OPAQUE = frozenset({"options"})
# Tag lists ([{key, value}] in the API) that deploy.yaml writes as a mapping.
_TAG_LISTS = frozenset({"tags"})

# ServiceConnectConfiguration members, each compared whole with the live one.
SERVICE_CONNECT_MEMBERS = (
    "enabled",
    "namespace",
    "services",
    "logConfiguration",
    "accessLogConfiguration",
)


def api_name(key: str) -> str:
    """`port_name` -> `portName`; `size_in_gib` -> `sizeInGiB`."""
    if key in _TO_API:
        return _TO_API[key]
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def yaml_name(key: str) -> str:
    """`portName` -> `port_name`; `managedEBSVolume` -> `managed_ebs_volume`."""
    if key in _FROM_API:
        return _FROM_API[key]
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def to_api(value: Any) -> Any:
    """A deploy.yaml value (snake_case keys) in the API's shape."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if inner is None:
                continue
            if key in _OPAQUE and isinstance(inner, Mapping):
                out[api_name(key)] = {str(k): str(v) for k, v in inner.items()}
            elif key in _TAG_LISTS and isinstance(inner, Mapping):
                out[api_name(key)] = [{"key": str(k), "value": str(v)} for k, v in inner.items()]
            else:
                out[api_name(key)] = to_api(inner)
        return out
    if isinstance(value, list | tuple):
        return [to_api(v) for v in value]
    return value


def from_api(value: Any) -> Any:
    """An API value (camelCase keys) as deploy.yaml writes it; the inverse of `to_api`."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            name = yaml_name(str(key))
            if inner is None:
                continue
            if name in _OPAQUE and isinstance(inner, Mapping):
                out[name] = {str(k): v for k, v in inner.items()}
            elif name in _TAG_LISTS and isinstance(inner, list):
                out[name] = {
                    str(t.get("key")): str(t.get("value") or "")
                    for t in inner
                    if isinstance(t, Mapping)
                }
            else:
                out[name] = from_api(inner)
        return out
    if isinstance(value, list):
        return [from_api(v) for v in value]
    return value


# --- the model, from the validated document -----------------------------------------------


def _api_or_none(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict(to_api(value))


def build_service_connect(d: Mapping[str, Any]) -> m.ServiceConnect:
    return m.ServiceConnect(
        enabled=bool(d.get("enabled", True)),
        namespace=d.get("namespace"),
        services=tuple(
            m.ServiceConnectService(
                port_name=s["port_name"],
                discovery_name=s.get("discovery_name"),
                client_aliases=tuple(
                    m.ServiceConnectAlias(port=a["port"], dns_name=a.get("dns_name"))
                    for a in s.get("client_aliases") or ()
                ),
                ingress_port_override=s.get("ingress_port_override"),
                timeout=_api_or_none(s.get("timeout")),
                tls=_api_or_none(s.get("tls")),
            )
            for s in d.get("services") or ()
        ),
        log_configuration=_api_or_none(d.get("log_configuration")),
        access_log_configuration=_api_or_none(d.get("access_log_configuration")),
    )


def build_keys(d: Mapping[str, Any]) -> dict[str, Any]:
    """The Service fields of these keys, from a service's validated deploy.yaml mapping."""
    sc = d.get("service_connect")
    registries = d.get("service_registries")
    volumes = d.get("volume_configurations")
    return {
        "service_connect": None if sc is None else build_service_connect(sc),
        "service_registries": None
        if registries is None
        else tuple(
            m.ServiceRegistry(
                registry_arn=r["registry_arn"],
                port=r.get("port"),
                container_name=r.get("container_name"),
                container_port=r.get("container_port"),
            )
            for r in registries
        ),
        "availability_zone_rebalancing": d.get("availability_zone_rebalancing"),
        "volume_configurations": None
        if volumes is None
        else tuple(
            m.VolumeConfiguration(
                name=v["name"], managed_ebs_volume=_api_or_none(v.get("managed_ebs_volume"))
            )
            for v in volumes
        ),
    }


def build_alarms(d: Mapping[str, Any] | None) -> m.DeploymentAlarms | None:
    """`deployment.alarms`; rollback defaults to on while the alarms are on."""
    if d is None:
        return None
    enable = bool(d.get("enable", True))
    return m.DeploymentAlarms(
        names=tuple(str(n) for n in d.get("names") or ()),
        enable=enable,
        rollback=bool(d.get("rollback", enable)),
    )


# --- as CreateService/UpdateService take them ---------------------------------------------


def _drop_none(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in d.items() if v is not None}


def service_connect_api(sc: m.ServiceConnect) -> dict[str, Any]:
    services = [
        _drop_none(
            {
                "portName": s.port_name,
                "discoveryName": s.discovery_name,
                "clientAliases": [
                    _drop_none({"port": a.port, "dnsName": a.dns_name}) for a in s.client_aliases
                ]
                or None,
                "ingressPortOverride": s.ingress_port_override,
                "timeout": s.timeout,
                "tls": s.tls,
            }
        )
        for s in sc.services
    ]
    return _drop_none(
        {
            "enabled": sc.enabled,
            "namespace": sc.namespace,
            "services": services or None,
            "logConfiguration": sc.log_configuration,
            "accessLogConfiguration": sc.access_log_configuration,
        }
    )


def registries_api(registries: tuple[m.ServiceRegistry, ...]) -> list[dict[str, Any]]:
    return [
        _drop_none(
            {
                "registryArn": r.registry_arn,
                "port": r.port,
                "containerName": r.container_name,
                "containerPort": r.container_port,
            }
        )
        for r in registries
    ]


def volumes_api(volumes: tuple[m.VolumeConfiguration, ...]) -> list[dict[str, Any]]:
    return [_drop_none({"name": v.name, "managedEBSVolume": v.managed_ebs_volume}) for v in volumes]


def alarms_api(alarms: m.DeploymentAlarms) -> dict[str, Any]:
    return {
        "alarmNames": list(alarms.names),
        "enable": alarms.enable,
        "rollback": alarms.rollback,
    }


# --- compared with the live service ---------------------------------------------------------


def _pruned(value: Any) -> Any:
    """None, [] and {} members dropped at any depth: ECS reads them as absent."""
    if isinstance(value, Mapping):
        pruned = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _sorted(items: Any, key: str) -> list[Any]:
    found = [i for i in items or [] if isinstance(i, Mapping)]
    return sorted(found, key=lambda i: str(i.get(key)))


def comparable_service_connect(value: Any) -> dict[str, Any]:
    """A ServiceConnectConfiguration as compared: every member present (None when
    absent, services []), services by port name, each one's aliases by port, and a
    discoveryName equal to the port name (ECS's default) left out."""
    sc = _pruned(value) if isinstance(value, Mapping) else {}
    services = []
    for s in _sorted(sc.get("services"), "portName"):
        s = dict(s)
        if s.get("discoveryName") == s.get("portName"):
            s.pop("discoveryName", None)
        if "clientAliases" in s:
            s["clientAliases"] = sorted(
                s["clientAliases"], key=lambda a: (int(a.get("port") or 0), str(a.get("dnsName")))
            )
        services.append(s)
    out: dict[str, Any] = {name: sc.get(name) for name in SERVICE_CONNECT_MEMBERS}
    out["enabled"] = bool(sc.get("enabled", False))
    out["services"] = services
    return out


def comparable_registries(value: Any) -> list[Any]:
    items = [_pruned(i) for i in value or [] if isinstance(i, Mapping)]
    return sorted(
        items,
        key=lambda r: (
            str(r.get("registryArn")),
            str(r.get("containerName")),
            int(r.get("containerPort") or 0),
            int(r.get("port") or 0),
        ),
    )


def comparable_volumes(value: Any) -> list[Any]:
    return [_pruned(v) for v in _sorted(value, "name")]


def comparable_alarms(value: Any) -> dict[str, Any]:
    """deploymentConfiguration.alarms: absent is off, with no alarm; names in order."""
    alarms = value if isinstance(value, Mapping) else {}
    return {
        "alarmNames": sorted(str(n) for n in alarms.get("alarmNames") or []),
        "enable": bool(alarms.get("enable", False)),
        "rollback": bool(alarms.get("rollback", False)),
    }
