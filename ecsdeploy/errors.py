"""The tool's own errors and the exit status each one maps to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes; CI scripts rely on these, so they never change."""

    OK = 0
    FAILED = 1  # the operation failed: a deployment rolled back, an AWS error
    CHANGES = 2  # plan has changes (only with --detailed-exitcode)
    INVALID = 3  # invalid input: deploy.yaml, schema, template, command line
    REFUSED = 4  # refused to act: stale plan, lock held, pre-flight failed, dirty tree
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)


@dataclass(frozen=True)
class Location:
    """Where in the user's files a problem is: file, 1-based line and column, key path."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.path:
            parts.append(self.path)
        return ": ".join(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, said so a person can act on it."""

    message: str
    location: Location = Location()
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if str(self.location) else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class EcsDeployError(Exception):
    """Base of every error the CLI turns into a message and an exit code."""

    exit_status: ExitStatus = ExitStatus.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        text = self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return [text]


class InputError(EcsDeployError):
    """deploy.yaml, a template or the command line is wrong (exit 3).

    Carries every problem found, so a user fixes them all in one round.
    """

    exit_status = ExitStatus.INVALID

    def __init__(self, problems: list[Problem] | Problem | str, *, hint: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems, hint=hint)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class RefusedError(EcsDeployError):
    """The tool declines to act: stale plan, lock held, pre-flight failed, dirty tree (exit 4)."""

    exit_status = ExitStatus.REFUSED


class OperationError(EcsDeployError):
    """An operation failed at run time: AWS error, failed deployment, registry error (exit 1)."""

    exit_status = ExitStatus.FAILED
