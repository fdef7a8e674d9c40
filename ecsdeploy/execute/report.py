"""Progress of an apply as it happens: a live display on a terminal, timestamped lines
in CI logs, or JSON lines for machines. Every line goes through the redactor."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from ecsdeploy.secrets import redact
from ecsdeploy.words import plural

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

    def finished(self, result: ServiceResult) -> None:
        """A service is done (its line of `finish` comes at the end); the live display
        shows how it ended and stops its clock."""

    def finish(self, results: Sequence[ServiceResult], status: str, exit_code: int) -> None:
        """How each service ended, then the whole apply."""
        for result in results:
            self.summary(f"{result.key}: {result.label}: {result.message}")
        if status == "interrupted":
            self.summary("Interrupted. Run `ecsdeploy apply` again to converge.")
            return
        ok = sum(1 for r in results if r.ok)
        verdict = "failed" if status == "failed" else "complete"
        self.summary(f"Apply {verdict}: {ok} of {plural(len(results), 'service')} ok.")


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


@dataclass
class _Row:
    """A service's line in the live table."""

    state: str
    detail: str
    since: float  # when its work began
    ended: float | None = None  # when it finished: its clock stops there


class LiveReporter(Reporter):
    """On a terminal: lines scroll above a live table of every service's state."""

    def __init__(
        self,
        services: list[str],
        *,
        color: bool = True,
        console: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(sys.stdout, color=color)
        from rich.console import Console
        from rich.live import Live

        self._console = console or Console(no_color=not color, highlight=False)
        self._clock = clock
        now = clock()
        self._rows = {s: _Row("queued", "", now) for s in services}
        self._started: set[str] = set()
        # The table is made afresh at each refresh, so running clocks tick between events.
        self._live = Live(
            console=self._console,
            refresh_per_second=4,
            transient=True,
            get_renderable=self._table,
        )
        self._live.start()

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False, padding=(0, 2))
        for service, (state, detail, elapsed) in self.rows().items():
            table.add_row(f"[bold]{service}[/]", state, detail, elapsed)
        return table

    def rows(self) -> dict[str, tuple[str, str, str]]:
        """service -> (state, detail, elapsed time) as the table shows them now."""
        now = self._clock()
        shown = {}
        for service, row in self._rows.items():
            elapsed = int((row.ended if row.ended is not None else now) - row.since)
            shown[service] = (row.state, row.detail, f"{elapsed // 60}m{elapsed % 60:02d}s")
        return shown

    def _update_row(self, event: Event) -> None:
        row = self._rows.get(event.service or "")
        if row is None or row.ended is not None:
            return
        detail = redact(event.message)[:60]
        if event.kind == "progress" and event.data.get("waiting_for"):
            row.state, row.detail = "waiting", detail  # for a service it depends on
            return
        if event.kind in ("step", "done", "progress"):
            if event.service not in self._started:  # its clock starts with its work
                self._started.add(event.service or "")
                row.since = self._clock()
            row.state = "working"
            row.detail = detail
        elif event.kind == "error":
            row.state, row.detail = "failing", detail

    def emit(self, event: Event) -> None:
        with self._lock:
            self._update_row(event)
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
            self._live.refresh()

    def finished(self, result: ServiceResult) -> None:
        with self._lock:
            row = self._rows.get(result.key)
            if row is None:
                return
            row.state = result.label
            row.detail = redact(result.message)[:60]
            row.ended = self._clock()
            self._live.refresh()

    def close(self) -> None:
        self._live.stop()


def make_reporter(fmt: str, services: list[str], *, color: bool, tty: bool) -> Reporter:
    if fmt == "json":
        return JsonReporter()
    if tty:
        return LiveReporter(services, color=color)
    return Reporter(color=color)
