"""Rendering a configuration: image references first, then each service's task definition."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecsdeploy.api_model import ShapeProblem
from ecsdeploy.config.model import Config, Service
from ecsdeploy.errors import InputError, Location, Problem

from .checks import secret_literals, task_definition_problems
from .gitinfo import GitInfo, GitSource, LazyGit
from .regions import RegionProblem, region_problems
from .shapes import to_register_input
from .templates import make_environment, parse_rendered, render_file, render_string, template_kind

# Docker's rule for a tag.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class ImageRef:
    """An image of deploy.yaml with its tag rendered; templates see these as `images.NAME`."""

    key: str
    registry: str  # the registry's URL (host[:port]), as templates want it
    registry_key: str
    repository: str
    tag: str
    promote: str | None = None
    local: str | None = None

    @property
    def uri(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"

    @property
    def source(self) -> str | None:
        """What the revision tag is made from: the promoted tag's URI or the local image."""
        if self.promote is not None:
            return f"{self.registry}/{self.repository}:{self.promote}"
        return self.local


@dataclass(frozen=True)
class RenderedService:
    key: str
    template: Path
    task_definition: dict[str, Any]  # a RegisterTaskDefinition input
    images: tuple[str, ...]  # keys of the images its template refers to
    # What is worth a look but not wrong (a secret written as a literal), with the
    # template and the key path.
    warnings: tuple[Problem, ...] = ()

    @property
    def family(self) -> str:
        family: str = self.task_definition["family"]
        return family


class _ImagesContext(Mapping[str, ImageRef]):
    """`images` in a template: records which images a service uses."""

    def __init__(self, refs: Mapping[str, ImageRef]) -> None:
        self._refs = refs
        self.used: list[str] = []

    def __getitem__(self, key: str) -> ImageRef:
        ref = self._refs[key]
        if key not in self.used:
            self.used.append(key)
        return ref

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)


def _display(path: Path) -> str:
    """A path relative to the working folder when it is inside it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def default_region(config: Config, override: str | None = None) -> str | None:
    """--region, then deploy.yaml, then the AWS environment (no boto3 import)."""
    return (
        override
        or config.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )


class Renderer:
    """Renders a Config; every method raises InputError with all problems it found."""

    def __init__(
        self,
        config: Config,
        *,
        revision: str | None = None,
        region: str | None = None,
        git: GitSource | None = None,
    ) -> None:
        self.config = config
        self.region = default_region(config, region)
        self.git = git or GitSource(config.base_dir, revision)
        self._env = make_environment(config.base_dir)
        self._images: dict[str, ImageRef] | None = None

    def _where(self, *path: str | int) -> Location:
        if self.config.positions is not None:
            return self.config.positions.locate(tuple(path))
        return Location(self.config.path.name, path=".".join(str(p) for p in path))

    def _base_context(self) -> dict[str, Any]:
        return {
            "vars": dict(self.config.vars),
            "env": self.config.environment,
            "git": LazyGit(self.git),
            "region": self.region,
        }

    def git_info(self) -> GitInfo:
        return self.git.info()

    def images(self) -> dict[str, ImageRef]:
        """Every image with its tag rendered (tags default to the Git short SHA)."""
        if self._images is not None:
            return self._images
        refs: dict[str, ImageRef] = {}
        problems: list[Problem] = []
        context = self._base_context()
        for key, image in self.config.images.items():
            where = self._where("images", key, "tag")
            try:
                tag = render_string(self._env, image.tag, context, where).strip()
            except InputError as exc:
                problems += exc.problems
                continue
            if not _TAG.match(tag):
                problems.append(
                    Problem(
                        f"the tag renders to {tag!r}, which is not a valid Docker tag",
                        where,
                        "up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
                    )
                )
                continue
            registry = self.config.registries[image.registry]
            refs[key] = ImageRef(
                key=key,
                registry=registry.url,
                registry_key=registry.key,
                repository=image.repository,
                tag=tag,
                promote=image.promote,
                local=image.local,
            )
        if problems:
            raise InputError(problems)
        self._images = refs
        return refs

    def _context(self, service: Service, images: _ImagesContext) -> dict[str, Any]:
        cluster = self.config.clusters[service.cluster]
        return {
            **self._base_context(),
            "vars": dict(service.vars),
            "images": images,
            # desired_count only when deploy.yaml sets it: otherwise the count is the
            # live service's (or an autoscaler's), unknown here, and a template that
            # reads it fails with a hint instead of rendering "None".
            "service": {"key": service.key, "name": service.name}
            | ({} if service.desired_count is None else {"desired_count": service.desired_count}),
            "cluster": {"key": cluster.key, "name": cluster.name},
        }

    def render_service(self, key: str) -> RenderedService:
        service = self.config.services[key]
        images = _ImagesContext(self.images())
        base = self.config.base_dir
        name = service.task_definition.relative_to(base).as_posix()
        display = _display(service.task_definition)
        text = render_file(self._env, name, display, self._context(service, images))
        doc = parse_rendered(text, display, template_kind(service.task_definition))
        if not isinstance(doc, dict):
            raise InputError(
                Problem(
                    f"the rendered template is a {type(doc).__name__}, "
                    "not a task definition object",
                    Location(display, 1, 1),
                )
            )
        td = to_register_input(doc)

        def located(found: list[ShapeProblem]) -> list[Problem]:
            # A problem about the service as a whole has no path in the template.
            return [
                Problem(p.message, Location(display, path=p.path or f"services.{key}"), p.hint)
                for p in found
            ]

        problems = located(task_definition_problems(td, service))
        problems += [
            Problem(p.message, _line_of(service.task_definition, display, key, p), p.hint)
            for p in region_problems(td)
        ]
        if problems:
            raise InputError(problems)
        return RenderedService(
            key=key,
            template=service.task_definition,
            task_definition=td,
            images=tuple(images.used),
            warnings=tuple(located(secret_literals(td))),
        )

    def render_all(self, keys: list[str] | None = None) -> dict[str, RenderedService]:
        """Render the services asked for (all by default), reporting every failure at once."""
        keys = list(self.config.services) if keys is None else keys
        unknown = [k for k in keys if k not in self.config.services]
        if unknown:
            defined = ", ".join(self.config.services)
            raise InputError(
                [Problem(f"unknown service `{k}`", hint=f"defined: {defined}") for k in unknown]
            )
        self.images()
        results: dict[str, RenderedService] = {}
        problems: list[Problem] = []
        for key in keys:
            try:
                results[key] = self.render_service(key)
            except InputError as exc:
                problems += exc.problems
        if problems:
            raise InputError(problems)
        return results


def _line_of(template: Path, display: str, key: str, problem: RegionProblem) -> Location:
    """The template line holding a bad region: its text, else the one line naming its
    option; no line when that is ambiguous."""
    try:
        lines = template.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for needle in (problem.value, problem.option):
        found = [n for n, text in enumerate(lines, 1) if needle and needle in text]
        if len(found) == 1:
            return Location(display, found[0], None, f"services.{key}")
    return Location(display, path=f"services.{key}")


def render_service(
    config: Config, key: str, *, revision: str | None = None, region: str | None = None
) -> RenderedService:
    """Render one service's task definition (a convenience over Renderer)."""
    return Renderer(config, revision=revision, region=region).render_service(key)
