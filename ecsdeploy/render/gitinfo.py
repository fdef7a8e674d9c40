"""The `git` template context: revision, branch, tag and dirtiness of the checkout.

Discovered lazily, on a template's first use of `git.*`, so configurations that
never mention Git never import GitPython. `--revision` (or ECSDEPLOY_REVISION)
stands in for CI checkouts without a `.git` folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecsdeploy.errors import EcsDeployError, ExitStatus

_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass(frozen=True)
class GitInfo:
    sha: str
    short_sha: str
    branch: str | None = None
    tag: str | None = None
    dirty: bool = False


class GitUnavailable(EcsDeployError):
    """No revision can be had: no repository and no --revision."""

    exit_status = ExitStatus.INVALID


def from_revision(revision: str) -> GitInfo:
    revision = revision.strip()
    short = revision[:7] if _HEX.match(revision) else revision
    return GitInfo(sha=revision, short_sha=short)


def _open_repo(start: Path) -> Any:
    try:
        import git
    except ImportError as exc:  # GitPython raises ImportError when the git binary is missing
        raise GitUnavailable(
            f"cannot read Git information: {exc}",
            hint="install git, or pass --revision SHA (or set ECSDEPLOY_REVISION)",
        ) from None
    try:
        return git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitUnavailable(
            f"no Git repository at {start} or above it",
            hint="templates use `git.*`: run inside the repository, or pass --revision SHA "
            "(or set ECSDEPLOY_REVISION) in CI checkouts without .git",
        ) from None


class GitSource:
    """The checkout's Git facts, each read on first use (a tag or dirty check costs a
    `git` process; most templates only need the revision)."""

    def __init__(self, start: Path, revision: str | None = None) -> None:
        self._start = start
        self._fixed = from_revision(revision) if revision else None
        self._repo: Any = None
        self._cache: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        """One fact (`sha`, `short_sha`, `branch`, `tag`, `dirty`), read on first use."""
        if self._fixed is not None:
            return getattr(self._fixed, name)
        if name not in self._cache:
            if self._repo is None:
                self._repo = _open_repo(self._start)
            repo = self._repo
            try:
                if name == "sha":
                    value: Any = repo.head.commit.hexsha
                elif name == "short_sha":
                    # Unique in this repository, 7 characters at least, like `git log`.
                    value = repo.git.rev_parse("--short=7", self.get("sha"))
                elif name == "branch":
                    try:
                        value = repo.active_branch.name
                    except TypeError:  # detached HEAD, as CI checkouts often are
                        value = None
                elif name == "tag":
                    tags = repo.git.tag("--points-at", "HEAD").split()
                    value = tags[0] if tags else None
                else:
                    value = repo.is_dirty(untracked_files=False)
            except GitUnavailable:
                raise
            except ValueError:
                raise GitUnavailable(
                    f"the Git repository at {repo.working_dir} has no commits yet",
                    hint="commit first, or pass --revision SHA",
                ) from None
            except Exception as exc:  # git's own failure (a broken repository, a lock)
                raise GitUnavailable(
                    f"git failed in {repo.working_dir}: {str(exc).strip().splitlines()[-1]}",
                    hint="check the repository, or pass --revision SHA",
                ) from None
            self._cache[name] = value
        return self._cache[name]

    def info(self) -> GitInfo:
        return GitInfo(
            sha=self.get("sha"),
            short_sha=self.get("short_sha"),
            branch=self.get("branch"),
            tag=self.get("tag"),
            dirty=self.get("dirty"),
        )

    def revision(self) -> str:
        """The full revision alone (what a plan records), without the slower facts."""
        value: str = self.get("sha")
        return value


class LazyGit:
    """What templates see as `git`: attributes resolve on first access."""

    def __init__(self, source: GitSource) -> None:
        self._source = source

    @property
    def sha(self) -> str:
        value: str = self._source.get("sha")
        return value

    @property
    def short_sha(self) -> str:
        value: str = self._source.get("short_sha")
        return value

    @property
    def branch(self) -> str | None:
        value: str | None = self._source.get("branch")
        return value

    @property
    def tag(self) -> str | None:
        value: str | None = self._source.get("tag")
        return value

    @property
    def dirty(self) -> bool:
        return bool(self._source.get("dirty"))
