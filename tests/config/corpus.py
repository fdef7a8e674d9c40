"""A corpus of broken inputs: each must exit 3 with its location, before any AWS call.

A case is a deploy.yaml (and templates), the command line, and what the error
must say. Positions are 1-based `line:column` as editors show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEMPLATE = """{
  "family": "web",
  "containerDefinitions": [
    {
      "name": "web",
      "image": "{{ images.web.uri }}",
      "memory": 256,
      "portMappings": [{"containerPort": 8080}]
    }
  ]
}
"""

BASE = """version: 1
registries:
  ecr: {type: ecr, url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}
images:
  web: {registry: ecr, repository: shop/web, promote: latest}
clusters:
  main: {name: shop}
services:
  web:
    cluster: main
    task_definition: web.json.j2
    desired_count: 2
"""


@dataclass(frozen=True)
class Case:
    id: str
    expect: tuple[str, ...]  # substrings of stderr, the location among them
    yaml: str | bytes = BASE
    files: dict[str, str] = field(default_factory=lambda: {"web.json.j2": TEMPLATE})
    argv: tuple[str, ...] = ("validate",)
    git: bool = False  # make the folder a Git repository
    revision: str | None = "0123456789abcdef0123456789abcdef01234567"


def _with(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _tpl(old: str, new: str) -> dict[str, str]:
    return {"web.json.j2": _with(TEMPLATE, old, new)}


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)

CASES: list[Case] = [
    # --- YAML ---------------------------------------------------------------------------
    Case(
        "yaml-tab",
        ("deploy.yaml:10:1", "tab character", "indent with spaces"),
        yaml=_with(BASE, "    cluster: main", "\tcluster: main"),
    ),
    Case(
        "yaml-duplicate-key",
        ("deploy.yaml:12:5", "duplicate key `cluster`"),
        yaml=BASE.replace("    desired_count: 2\n", "    cluster: other\n"),
    ),
    Case("yaml-empty", ("deploy.yaml:1:1", "is empty"), yaml=""),
    Case("yaml-comments-only", ("deploy.yaml:1:1", "is empty"), yaml="# nothing\n"),
    Case(
        "yaml-top-list", ("deploy.yaml:1:1", "top level must be a mapping"), yaml="- version: 1\n"
    ),
    Case(
        "yaml-two-documents",
        ("deploy.yaml:13:1", "single YAML document"),
        yaml=BASE + "---\nversion: 1\n",
    ),
    Case(
        "yaml-python-tag",
        ("deploy.yaml:2:", "custom YAML tag", "plain data only"),
        yaml="version: 1\nx: !!python/object/apply:os.system ['true']\n",
    ),
    Case(
        "yaml-custom-tag",
        ("deploy.yaml:12:20", "custom YAML tag !Ref"),
        yaml=_with(BASE, "desired_count: 2", "desired_count: !Ref Count"),
    ),
    Case("yaml-alias-bomb", ("more than 200000 nodes", "alias"), yaml=BOMB),
    Case("yaml-not-utf8", ("not UTF-8",), yaml=b"version: 1\nx: \xff\xfe\n"),
    Case(
        "yaml-unclosed-flow",
        ("deploy.yaml:4:7", "invalid YAML"),
        yaml=_with(BASE, "url: 123456789012.dkr.ecr.us-east-1.amazonaws.com}", "url: x"),
    ),
    Case(
        "yaml-non-string-key",
        ("deploy.yaml:", "keys must be strings"),
        yaml=_with(BASE, "    desired_count: 2", "    1: 2"),
    ),
    Case(
        "yaml-date-value",
        ("deploy.yaml:", "unsupported value", "quote it"),
        yaml=BASE + "vars: {release: 2024-01-01}\n",
    ),
    # --- schema -------------------------------------------------------------------------
    Case(
        "schema-missing-version",
        ("deploy.yaml:1:1", "missing required key `version`"),
        yaml=BASE.replace("version: 1\n", ""),
    ),
    Case(
        "schema-version-2",
        ("deploy.yaml:1:10", "version", "must be 1"),
        yaml=_with(BASE, "version: 1", "version: 2"),
    ),
    Case(
        "schema-unknown-top-key",
        ("deploy.yaml:13:1", "unknown key `servics`", "did you mean `services`?"),
        yaml=BASE + "servics: {}\n",
    ),
    Case(
        "schema-unknown-service-key",
        ("deploy.yaml:12:5", "services.web.desired_cout", "did you mean `desired_count`?"),
        yaml=_with(BASE, "desired_count: 2", "desired_cout: 2"),
    ),
    Case(
        "schema-wrong-type",
        ("deploy.yaml:12:20", "services.web.desired_count", "integer"),
        yaml=_with(BASE, "desired_count: 2", 'desired_count: "two"'),
    ),
    Case(
        "schema-percent-range",
        ("deploy.yaml:14:32", "services.web.deployment.minimum_healthy_percent", "100"),
        yaml=BASE + "    deployment:\n      minimum_healthy_percent: 150\n",
    ),
    Case(
        "schema-registry-type",
        ("deploy.yaml:3:15", "'gcr' is not one of: ecr, docker"),
        yaml=_with(BASE, "type: ecr", "type: gcr"),
    ),
    Case(
        "schema-promote-and-local",
        (
            "deploy.yaml:5:8",
            "images.web",
            "cannot be used together: `promote`, `local`",
            "give one, or neither",
        ),
        yaml=_with(BASE, "promote: latest}", "promote: latest, local: 'web:1'}"),
    ),
    Case(
        "schema-username-without-password",
        ("deploy.yaml:", "password_env"),
        yaml=_with(
            BASE,
            "registries:\n",
            "registries:\n  hub:\n    type: docker\n"
            "    url: registry.example.com\n    auth: {username_env: HUB_USER}\n",
        ),
    ),
    Case(
        "schema-bad-duration",
        ("deploy.yaml:14:16", "services.web.deployment.timeout", "not a duration", "15m"),
        yaml=BASE + "    deployment:\n      timeout: 15 minutes\n",
    ),
    Case(
        "schema-bad-service-name",
        ("deploy.yaml:9:3", "invalid name 'web app'"),
        yaml=_with(BASE, "  web:\n    cluster", "  web app:\n    cluster"),
    ),
    Case(
        "schema-port-range",
        ("deploy.yaml:", "services.web.load_balancer.port", "65535"),
        yaml=BASE + "    load_balancer: {target_group: tg, container: web, port: 70000}\n",
    ),
    Case(
        "schema-missing-task-definition",
        ("deploy.yaml:9:3", "missing required key `task_definition`"),
        yaml=BASE.replace("    task_definition: web.json.j2\n", ""),
    ),
    Case(
        "schema-ecr-with-auth",
        ("deploy.yaml:3:", "`auth` is not allowed here", "GetAuthorizationToken"),
        yaml=_with(
            BASE, "amazonaws.com}", "amazonaws.com, auth: {username_env: U, password_env: P}}"
        ),
    ),
    Case(
        "schema-bad-regex",
        ("services.web.load_balancer.checks.http.body", "regex"),
        yaml=BASE
        + "    load_balancer:\n      target_group: tg\n      container: web\n      port: 8080\n"
        "      checks: {http: {url: 'http://127.0.0.1/', body: '(unclosed'}}\n",
    ),
    Case(
        "schema-reserved-agent-setting",
        ("deploy.yaml:7:", "invalid name 'ECS_CLUSTER'"),
        yaml=_with(
            BASE,
            "main: {name: shop}",
            "main: {name: shop, ecs_config: {settings: {ECS_CLUSTER: x}}}",
        ),
    ),
    # --- credentials --------------------------------------------------------------------
    Case(
        "literal-password",
        (
            "deploy.yaml:7:36",
            "registries.hub.auth.password",
            "literal credential",
            "password_env: HUB_PASSWORD",
        ),
        yaml=_with(
            BASE,
            "images:\n",
            "  hub:\n    type: docker\n    url: r.example.com\n"
            "    auth: {username_env: HUB_USER, password: hunter2}\nimages:\n",
        ),
    ),
    Case(
        "literal-password-in-environment",
        ("environments.prod.registries.hub.auth.password", "literal credential"),
        yaml=BASE + "environments:\n  prod:\n    registries:\n      hub:\n"
        "        auth: {password: hunter2}\n",
    ),
    # --- references ---------------------------------------------------------------------
    Case(
        "ref-unknown-cluster",
        ("deploy.yaml:10:14", "unknown cluster `mian`", "did you mean `main`?"),
        yaml=_with(BASE, "cluster: main", "cluster: mian"),
    ),
    Case(
        "ref-unknown-registry",
        ("deploy.yaml:5:19", "unknown registry `ecs`"),
        yaml=_with(BASE, "registry: ecr", "registry: ecs"),
    ),
    Case(
        "ref-depends-on-unknown",
        ("deploy.yaml:13:18", "unknown service `wroker`"),
        yaml=BASE + "    depends_on: [wroker]\n",
    ),
    Case(
        "ref-depends-on-self",
        ("deploy.yaml:13:18", "cannot depend on itself"),
        yaml=BASE + "    depends_on: [web]\n",
    ),
    Case(
        "ref-depends-on-cycle",
        ("depends_on forms a cycle", "web -> worker -> web"),
        yaml=BASE + "    depends_on: [worker]\n  worker:\n    cluster: main\n"
        "    task_definition: web.json.j2\n    depends_on: [web]\n",
    ),
    Case(
        "ref-max-below-min",
        (
            "deploy.yaml:15:24",
            "maximum_percent (50) is below minimum_healthy_percent (100)",
            "at least 100",
        ),
        yaml=BASE + "    deployment:\n      minimum_healthy_percent: 100\n"
        "      maximum_percent: 50\n",
    ),
    Case(
        "ref-template-missing", ("deploy.yaml:11:22", "template not found: web.json.j2"), files={}
    ),
    Case(
        "ref-template-outside",
        ("deploy.yaml:11:22", "outside deploy.yaml's folder"),
        yaml=_with(BASE, "task_definition: web.json.j2", "task_definition: ../web.json.j2"),
    ),
    # --- templates ----------------------------------------------------------------------
    Case(
        "tpl-undefined",
        ("web.json.j2:7", "undefined", "memory"),
        files=_tpl('"memory": 256', '"memory": {{ vars.memory }}'),
    ),
    Case(
        "tpl-syntax",
        ("web.json.j2:6", "template syntax error"),
        files=_tpl('"{{ images.web.uri }}"', '"{{ images.web.uri }"'),
    ),
    Case(
        "tpl-sandbox-escape",
        ("web.json.j2:6", "refused by the template sandbox"),
        files=_tpl('"{{ images.web.uri }}"', "\"{{ ''.__class__.__mro__[1].__subclasses__() }}\""),
    ),
    Case(
        "tpl-invalid-json",
        ("web.json.j2:8:", "not valid JSON"),
        files=_tpl('"memory": 256,', '"memory": 256'),
    ),
    Case(
        "tpl-no-family",
        ("web.json.j2: family: required field is missing",),
        files=_tpl('"family": "web",', ""),
    ),
    Case(
        "tpl-no-image",
        (
            "web.json.j2: containerDefinitions[web].image: required field is missing",
            "{{ images.NAME.uri }}",
        ),
        files=_tpl('"image": "{{ images.web.uri }}",', ""),
    ),
    Case(
        "tpl-no-memory-ec2",
        ("web.json.j2: containerDefinitions[web]: no `memory` or `memoryReservation`",),
        files=_tpl('"memory": 256,', ""),
    ),
    Case(
        "tpl-unknown-field",
        ("web.json.j2: Tags: unknown field (did you mean tags?)",),
        files=_tpl('"family": "web",', '"family": "web", "Tags": [],'),
    ),
    Case(
        "tpl-lb-container",
        ("services.web", "load_balancer.container 'app'"),
        yaml=BASE + "    load_balancer: {target_group: tg, container: app, port: 8080}\n",
    ),
    Case(
        "tpl-lb-port",
        ("services.web", "does not map load_balancer.port 9090"),
        yaml=BASE + "    load_balancer: {target_group: tg, container: web, port: 9090}\n",
    ),
    Case(
        "tpl-bad-image-tag",
        ("deploy.yaml:5:", "images.web.tag", "not a valid Docker tag"),
        yaml=_with(BASE, "promote: latest}", 'promote: latest, tag: "a b"}'),
    ),
    Case(
        "tpl-no-git-default-tag",
        ("deploy.yaml:5:8", "images.web.tag", "no Git repository", "--revision"),
        revision=None,
    ),
    Case(
        "tpl-no-git",
        ("web.json.j2:6", "no Git repository", "--revision"),
        revision=None,
        yaml=_with(BASE, "promote: latest}", "promote: latest, tag: v1}"),
        files=_tpl('"{{ images.web.uri }}"', '"web:{{ git.short_sha }}"'),
    ),
    Case("tpl-git-no-commits", ("has no commits yet",), revision=None, git=True),
    # --- command line -------------------------------------------------------------------
    Case("cli-bad-var", ("--var 'novalue'", "NAME=VALUE"), argv=("--var", "novalue", "validate")),
    Case(
        "cli-unknown-env",
        ("unknown environment `prod`", "no `environments:`"),
        argv=("-e", "prod", "validate"),
    ),
    Case(
        "cli-render-unknown-service",
        ("unknown service `wbe`", "defined: web"),
        argv=("render", "wbe"),
    ),
    Case(
        "cli-unknown-option",
        ("No such option '--bogus'", "ecsdeploy validate --help"),
        argv=("validate", "--bogus"),
    ),
    Case("cli-unknown-command", ("No such command 'deploi'",), argv=("deploi",)),
    Case(
        "cli-missing-file",
        ("nowhere.yaml not found", "-f FILE"),
        argv=("-f", "nowhere.yaml", "validate"),
    ),
]
