"""Pre-flight findings: what the zero-downtime checks found, as data a plan carries.

`verify` produces them, a plan records them and its views show them; `apply`
refuses exactly the findings the plan marks as blocking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "note"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "note")


@dataclass(frozen=True)
class Finding:
    """One thing the pre-flight found: how bad, where, what, why it matters, how to fix it.

    A *downtime* finding means traffic would be dropped (no load balancer, every
    task may stop, no health check); `--allow-downtime` accepts those. Any other
    error means the deployment would fail or stall half-way, and always blocks.
    """

    severity: Severity
    service: str  # the service's key in deploy.yaml
    message: str
    why: str
    fix: str | None = None
    rule: str = ""  # a stable identifier, documented in docs/verify.md
    downtime: bool = False

    @property
    def blocking(self) -> bool:
        """An error: apply refuses it unless it is a downtime finding and downtime is allowed."""
        return self.severity == "error"

    def blocks(self, *, allow_downtime: bool) -> bool:
        return self.blocking and not (allow_downtime and self.downtime)

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "service": self.service,
            "rule": self.rule,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
            "downtime": self.downtime,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        severity = data["severity"]
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        return cls(
            severity=severity,
            service=str(data["service"]),
            message=str(data["message"]),
            why=str(data.get("why") or ""),
            fix=data.get("fix"),
            rule=str(data.get("rule") or ""),
            downtime=bool(data.get("downtime")),
        )


def blocking(findings: Iterable[Finding], *, allow_downtime: bool = False) -> list[Finding]:
    """The findings that stop apply."""
    return [f for f in findings if f.blocks(allow_downtime=allow_downtime)]
