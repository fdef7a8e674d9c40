"""AWS region names in a rendered task definition, checked before any AWS call.

A log group's `awslogs-region` and the ARNs of secrets name regions that the
pre-flight makes clients for; a value that is not a region name (a typo, or
another tool's placeholder such as ecspresso's ``{{ must_env `AWS_REGION` }}``
left literally in a template) is bad input, said where it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Every AWS region so far: us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1,
# us-isob-east-1, ap-southeast-7...
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def is_region(name: str) -> bool:
    return bool(REGION.match(name))


def _regions(td: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(container label, where in it, region) for every region the task definition names."""
    for i, c in enumerate(td.get("containerDefinitions") or []):
        if not isinstance(c, dict):
            continue
        name = c.get("name")
        label = f"container {name!r}" if isinstance(name, str) and name else f"container #{i + 1}"
        log = c.get("logConfiguration")
        options = log.get("options") if isinstance(log, dict) else None
        if isinstance(options, dict) and "awslogs-region" in options:
            yield label, "logConfiguration.options.awslogs-region", str(options["awslogs-region"])
        arns: list[tuple[str, Any]] = []
        for j, s in enumerate(c.get("secrets") or []):
            if isinstance(s, dict):
                arns.append((f"secrets[{j}].valueFrom", s.get("valueFrom")))
        log_secrets = log.get("secretOptions") if isinstance(log, dict) else None
        for j, s in enumerate(log_secrets or []):
            if isinstance(s, dict):
                arns.append((f"logConfiguration.secretOptions[{j}].valueFrom", s.get("valueFrom")))
        creds = c.get("repositoryCredentials")
        if isinstance(creds, dict):
            parameter = creds.get("credentialsParameter")
            arns.append(("repositoryCredentials.credentialsParameter", parameter))
        for where, value in arns:
            parts = str(value or "").split(":")
            if str(value or "").startswith("arn:") and len(parts) >= 6 and parts[3]:
                yield label, f"{where} (the ARN's region)", parts[3]


@dataclass(frozen=True)
class RegionProblem:
    message: str
    hint: str
    value: str  # the text that is not a region, to find in the template
    option: str  # the option or field that holds it


def region_problems(td: dict[str, Any]) -> list[RegionProblem]:
    """Each region name in the task definition that is not one."""
    found: list[RegionProblem] = []
    for label, where, region in _regions(td):
        if is_region(region):
            continue
        hint = "a region name such as us-east-1; `{{ region }}` in a template is the deploy's"
        if "{{" in region or "${" in region or "must_env" in region:
            hint = (
                "it looks like another tool's placeholder, left as text: ecsdeploy's templates "
                "are Jinja, with `{{ region }}` for the deploy's region and `vars:` for the rest"
            )
        message = f"{label}: {where} {region!r} is not a valid AWS region name"
        option = where.split(" ", 1)[0].rsplit(".", 1)[-1]
        found.append(RegionProblem(message, hint, region, option))
    return found
