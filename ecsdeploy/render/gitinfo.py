"""The `git` template context: revision, branch, tag and dirtiness of the checkout.

Discovered lazily, on a template's first use of `git.*`, so configurations that
never mention Git never import GitPython. `--revision` (or ECSDEPLOY_REVISION)
stands in for CI checkouts without a `.git` folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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


def discover(start: Path) -> GitInfo:
    """Read the repository holding `start`; GitUnavailable says why it cannot."""
    try:
        import git
    except ImportError as exc:  # GitPython raises ImportError when the git binary is missing
        raise GitUnavailable(
            f"cannot read Git information: {exc}",
            hint="install git, or pass --revision SHA (or set ECSDEPLOY_REVISION)",
        ) from None
    try:
        repo = git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitUnavailable(
            f"no Git repository at {start} or above it",
            hint="templates use `git.*`: run inside the repository, or pass --revision SHA "
            "(or set ECSDEPLOY_REVISION) in CI checkouts without .git",
        ) from None
    try:
        with repo:
            sha = repo.head.commit.hexsha
            short = repo.git.rev_parse("--short=7", "HEAD")
            try:
                branch: str | None = repo.active_branch.name
            except TypeError:  # detached HEAD, as CI checkouts often are
                branch = None
            tags = repo.git.tag("--points-at", "HEAD").split()
            dirty = repo.is_dirty(untracked_files=False)
    except ValueError:
        raise GitUnavailable(
            f"the Git repository at {repo.working_dir} has no commits yet",
            hint="commit first, or pass --revision SHA",
        ) from None
    return GitInfo(
        sha=sha, short_sha=short, branch=branch, tag=tags[0] if tags else None, dirty=dirty
    )


class GitSource:
    """Finds the revision once, on first use."""

    def __init__(self, start: Path, revision: str | None = None) -> None:
        self._start = start
        self._revision = revision
        self._info: GitInfo | None = None

    def info(self) -> GitInfo:
        if self._info is None:
            self._info = from_revision(self._revision) if self._revision else discover(self._start)
        return self._info


class LazyGit:
    """What templates see as `git`: attributes resolve on first access."""

    def __init__(self, source: GitSource) -> None:
        self._source = source

    @property
    def sha(self) -> str:
        return self._source.info().sha

    @property
    def short_sha(self) -> str:
        return self._source.info().short_sha

    @property
    def branch(self) -> str | None:
        return self._source.info().branch

    @property
    def tag(self) -> str | None:
        return self._source.info().tag

    @property
    def dirty(self) -> bool:
        return self._source.info().dirty
