"""Jinja in a sandbox: render a template file or string, errors said with file and line."""

from __future__ import annotations

import json
import re
import traceback
from pathlib import Path
from typing import Any

from ecsdeploy.errors import EcsDeployError, InputError, Location, Problem

from .gitinfo import GitUnavailable


def make_environment(base_dir: Path) -> Any:
    """A sandboxed Jinja environment whose templates can only include files under base_dir."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(base_dir)),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": False}
    return env


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    """The template line an exception came from (Jinja rewrites tracebacks to templates)."""
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    target = Path(filename).resolve() if filename is not None else None
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        here = Path(frame.filename).resolve() if target is not None else frame.filename
        if here == (target if target is not None else "<template>"):
            line = frame.lineno
    return line


# Jinja's words for a missing attribute of `images` (renderer._ImagesContext).
_UNKNOWN_IMAGE = re.compile(r"_ImagesContext object'? has no attribute '([^']+)'")


def template_problem(
    exc: BaseException, display: str, filename: str | None, path: str | None = None
) -> Problem:
    """One Problem for anything a template raised, pointing at its file and line."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    line = _template_line(exc, filename)
    where = Location(display, line, None, path)
    if isinstance(exc, TemplateSyntaxError):
        hint = None
        if "'`'" in str(exc.message):  # {{ must_env `AWS_REGION` }}, {{ tfstate `...` }}
            hint = (
                "backquoted arguments are another tool's template syntax, such as "
                "ecspresso's must_env; ecsdeploy's templates are Jinja: `{{ region }}` is "
                "the deploy's region, `vars:` in deploy.yaml hold the rest"
            )
        return Problem(f"template syntax error: {exc.message}", where, hint)
    if isinstance(exc, UndefinedError):
        unknown = _UNKNOWN_IMAGE.search(str(exc.message))
        if unknown:
            return Problem(
                f"unknown image `{unknown.group(1)}` in template",
                where,
                "templates name images by their key under `images:` in deploy.yaml "
                "(e.g. `{{ images.web.uri }}`); add it there or fix the name",
            )
        if "'desired_count'" in str(exc.message):
            return Problem(
                f"undefined in template: {exc.message}",
                where,
                "deploy.yaml leaves desired_count out, so the count is the live service's "
                "(or its autoscaler's) and not known when rendering; set desired_count, or "
                "use `service.desired_count | default(1)`",
            )
        return Problem(
            f"undefined in template: {exc.message}",
            where,
            "the context has vars, env, git, images, service, cluster and region; "
            "give a default with `| default(...)` if it is optional",
        )
    if isinstance(exc, SecurityError):
        return Problem(
            f"refused by the template sandbox: {exc}",
            where,
            "templates may read the context, not Python internals",
        )
    if isinstance(exc, TemplateNotFound):
        return Problem(f"included template not found: {exc.name}", where)
    if isinstance(exc, GitUnavailable):
        return Problem(f"the template uses `git`, but {exc.message}", where, exc.hint)
    if isinstance(exc, EcsDeployError):
        return Problem(exc.message, where, exc.hint)
    return Problem(f"template error: {type(exc).__name__}: {exc}", where)


def render_file(env: Any, name: str, display: str, context: dict[str, Any]) -> str:
    """Render template `name` (relative to the environment's folder)."""
    from jinja2 import TemplateError

    filename: str | None = None
    try:
        template = env.get_template(name)
        filename = template.filename
        text: str = template.render(context)
        return text
    except (TemplateError, EcsDeployError, ArithmeticError, TypeError, ValueError) as exc:
        if filename is None:
            filename = getattr(exc, "filename", None)
        raise InputError(template_problem(exc, display, filename)) from None


def render_string(env: Any, source: str, context: dict[str, Any], where: Location) -> str:
    """Render a template kept inside deploy.yaml (an image tag), errors at its key."""
    from jinja2 import TemplateError

    try:
        text: str = env.from_string(source).render(context)
        return text
    except (TemplateError, EcsDeployError, ArithmeticError, TypeError, ValueError) as exc:
        problem = template_problem(exc, where.file or "deploy.yaml", None, where.path)
        raise InputError(Problem(problem.message, where, problem.hint)) from None


def parse_rendered(text: str, display: str, kind: str) -> Any:
    """JSON or YAML from a rendered template; errors quote the rendered line."""
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            lines = text.splitlines()
            shown = lines[exc.lineno - 1].strip() if 0 < exc.lineno <= len(lines) else ""
            raise InputError(
                Problem(
                    f"the rendered template is not valid JSON: {exc.msg}"
                    + (f" near `{shown[:80]}`" if shown else ""),
                    Location(display, exc.lineno, exc.colno),
                    "line and column are in the rendered output; `ecsdeploy render` shows it"
                    " when the JSON is valid, or use `| tojson` for values",
                )
            ) from None
    from ecsdeploy.config.loader import parse_yaml_text

    try:
        data, _ = parse_yaml_text(text, display)
    except InputError as exc:
        raise InputError(
            [
                Problem(f"the rendered template is not valid YAML: {p.message}", p.location, p.hint)
                for p in exc.problems
            ]
        ) from None
    return data


def template_kind(path: Path) -> str:
    """`json` or `yaml`, from the name once a Jinja suffix is taken off."""
    name = path.name.lower()
    for suffix in (".j2", ".jinja2", ".jinja"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return "yaml" if name.endswith((".yaml", ".yml")) else "json"
