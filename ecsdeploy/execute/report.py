"""Progress of an apply as it happens: a live display on a terminal, timestamped lines
in CI logs, or JSON lines for machines. Every line goes through the redactor."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from ecsdeploy.secrets import redact

if TYPE_CHECKING:
    from .executor import ServiceResult

# The version of `apply --format json`'s lines (schemas/apply-output.schema.json).
OUTPUT_VERSION = 1


@dataclass(frozen=True)
class Event:
    kind: str  # step, done, ecs_event, progress, warning, error, summary
    service: str | None
    message: str
    data: dict[str, Any] = field(default_factory=dict)


class Reporter:
    """Plain timestamped lines (CI logs); the base of the other reporters."""

    def __init__(self, stream: TextIO | None = None, *, color: bool = False) -> None:
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._color = color
        self._last_progress: dict[str, str] = {}

    def emit(self, event: Event) -> None:
        if event.kind == "progress":
            # In a log, only say it when it changed.
            if self._last_progress.get(event.service or "") == event.message:
                return
            self._last_progress[event.service or ""] = event.message
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        who = f"{event.service}: " if event.service else ""
        prefix = {"error": "error: ", "warning": "warning: ", "ecs_event": "ecs: "}.get(
            event.kind, ""
        )
        self._write(f"{stamp} {who}{prefix}{event.message}")

    def _write(self, line: str) -> None:
        with self._lock:
            self._stream.write(redact(line) + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Stop any live display."""

    # Shorthands used by the executor.
    def step(self, service: str, message: str, **data: Any) -> None:
        self.emit(Event("step", service, message, data))

    def done(self, service: str, message: str, **data: Any) -> None:
        self.emit(Event("done", service, message, data))

    def ecs_event(self, service: str, message: str, **data: Any) -> None:
        self.emit(Event("ecs_event", service, message, data))

    def progress(self, service: str, message: str, **data: Any) -> None:
        self.emit(Event("progress", service, message, data))

    def warning(self, service: str | None, message: str, **data: Any) -> None:
        self.emit(Event("warning", service, message, data))

    def error(self, service: str | None, message: str, **data: Any) -> None:
        self.emit(Event("error", service, message, data))

    def summary(self, message: str, **data: Any) -> None:
        self.emit(Event("summary", None, message, data))

    def finish(self, results: Sequence[ServiceResult], status: str, exit_code: int) -> None:
        """How each service ended, then the whole apply."""
        for result in results:
            self.summary(f"{result.key}: {result.label}: {result.message}")
        if status == "interrupted":
            self.summary("Interrupted. Run `ecsdeploy apply` again to converge.")
            return
        ok = sum(1 for r in results if r.ok)
        verdict = "failed" if status == "failed" else "complete"
        self.summary(f"Apply {verdict}: {ok} of {len(results)} services ok.")


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def service_record(result: ServiceResult) -> dict[str, Any]:
    """A `service` line of `apply --format json`."""
    return {
        "version": OUTPUT_VERSION,
        "type": "service",
        "service": result.key,
        "status": result.status,
        "waited": result.waited,
        "old_revision": result.old_revision,
        "new_revision": result.new_revision,
        "revision": result.arn,
        "deployment_id": result.deployment_id,
        "started_at": _time(result.started_at),
        "ended_at": _time(result.ended_at),
        "reason": result.message,
        "details": list(result.details),
    }


def result_record(
    results: Sequence[ServiceResult], status: str, exit_code: int, message: str | None = None
) -> dict[str, Any]:
    """The last line of `apply --format json`."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {
        "version": OUTPUT_VERSION,
        "type": "result",
        "status": status,
        "exit_code": exit_code,
        "services": counts,
        "message": message,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }


class JsonReporter(Reporter):
    """One JSON object per line (schemas/apply-output.schema.json): `event` lines as
    things happen, a `service` line per service at the end, then one `result`."""

    def emit(self, event: Event) -> None:
        record = {
            "version": OUTPUT_VERSION,
            "type": "event",
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "kind": event.kind,
            "service": event.service,
            "message": event.message,
        }
        if event.data:
            record["data"] = event.data
        self._write(json.dumps(record, default=str))

    def finish(self, results: Sequence[ServiceResult], status: str, exit_code: int) -> None:
        for result in results:
            self._write(json.dumps(service_record(result), default=str))
        self._write(json.dumps(result_record(results, status, exit_code), default=str))


class LiveReporter(Reporter):
    """On a terminal: lines scroll above a live table of every service's state."""

    def __init__(self, services: list[str], *, color: bool = True) -> None:
        super().__init__(sys.stdout, color=color)
        from rich.console import Console
        from rich.live import Live

        self._console = Console(no_color=not color, highlight=False)
        self._states = {s: ("waiting", "", time.monotonic()) for s in services}
        self._live = Live(
            self._table(), console=self._console, refresh_per_second=4, transient=True
        )
        self._live.start()

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False, padding=(0, 2))
        now = time.monotonic()
        for service, (state, detail, since) in self._states.items():
            elapsed = int(now - since)
            table.add_row(
                f"[bold]{service}[/]", state, detail, f"{elapsed // 60}m{elapsed % 60:02d}s"
            )
        return table

    def emit(self, event: Event) -> None:
        with self._lock:
            if event.service in self._states:
                _, _, since = self._states[event.service]
                if event.kind in ("step", "done", "error"):
                    since = time.monotonic() if event.kind == "step" else since
                    state = {"step": "working", "done": "ok", "error": "failed"}[event.kind]
                    self._states[event.service] = (state, redact(event.message)[:60], since)
                elif event.kind == "progress":
                    self._states[event.service] = ("waiting", redact(event.message)[:60], since)
            if event.kind != "progress":
                stamp = datetime.now(UTC).strftime("%H:%M:%S")
                who = f"[bold]{event.service}[/]: " if event.service else ""
                style = {
                    "error": "red",
                    "warning": "magenta",
                    "ecs_event": "dim",
                    "done": "green",
                }.get(event.kind, "")
                from rich.markup import escape

                text = escape(redact(event.message))
                body = f"[{style}]{text}[/]" if style else text
                self._console.print(f"[dim]{stamp}[/] {who}{body}")
            self._live.update(self._table())

    def close(self) -> None:
        self._live.stop()


def make_reporter(fmt: str, services: list[str], *, color: bool, tty: bool) -> Reporter:
    if fmt == "json":
        return JsonReporter()
    if tty:
        return LiveReporter(services, color=color)
    return Reporter(color=color)
