"""Release records: what ecsdeploy writes on the task-definition revisions it registers.

Each revision it registers carries its Git revision and environment, and once its
rollout is judged, its outcome, as task-definition tags (`ecsdeploy:*`). Tags stay on
a revision after it is deregistered (INACTIVE), so the record outlives retention.
They never count as a difference between task definitions (`plan.normalize`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

# Every tag of ecsdeploy's own starts with this.
RELEASE_TAG_PREFIX = "ecsdeploy:"
GIT_REVISION = f"{RELEASE_TAG_PREFIX}git-revision"
ENVIRONMENT = f"{RELEASE_TAG_PREFIX}environment"
OUTCOME = f"{RELEASE_TAG_PREFIX}outcome"
FINISHED_AT = f"{RELEASE_TAG_PREFIX}finished-at"  # when the outcome was known, ISO 8601
# On the service: the revision numbers whose release failed there ("12 9"), newest first.
# DescribeServices returns it with the service, so every plan knows them for free.
FAILED_REVISIONS = f"{RELEASE_TAG_PREFIX}failed-revisions"
FAILED_KEPT = 30  # numbers kept in that tag (a tag value holds 256 characters)

Outcome = Literal["succeeded", "rolled_back", "failed"]
SUCCEEDED: Outcome = "succeeded"
ROLLED_BACK: Outcome = "rolled_back"
FAILED: Outcome = "failed"


def with_release_tags(
    td: Mapping[str, Any], revision: str | None, environment: str | None
) -> dict[str, Any]:
    """The RegisterTaskDefinition input with the release's tags added (the template's own
    tags kept; a template's `ecsdeploy:*` tags are replaced)."""
    out = copy.deepcopy(dict(td))
    tags = [
        t for t in out.get("tags") or [] if not str(t.get("key", "")).startswith(RELEASE_TAG_PREFIX)
    ]
    if revision:
        tags.append({"key": GIT_REVISION, "value": revision})
    if environment:
        tags.append({"key": ENVIRONMENT, "value": environment})
    if tags:
        out["tags"] = tags
    return out


def tag_map(td: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(t.get("key")): str(t.get("value", ""))
        for t in td.get("tags") or []
        if isinstance(t, dict)
    }


def outcome_of(td: Mapping[str, Any]) -> str | None:
    """The recorded outcome of a described revision (tags included), or None."""
    return tag_map(td).get(OUTCOME)


def failed_revisions(service: Mapping[str, Any] | None) -> set[int]:
    """Revision numbers recorded as failed on a service (DescribeServices' entry)."""
    value = tag_map(service or {}).get(FAILED_REVISIONS, "")
    return {int(n) for n in value.split() if n.isdigit()}


def with_failed(service: Mapping[str, Any] | None, revision: int) -> str:
    """The service's failed-revisions tag value with `revision` added, newest first."""
    numbers = sorted(failed_revisions(service) | {revision}, reverse=True)[:FAILED_KEPT]
    return " ".join(str(n) for n in numbers)
