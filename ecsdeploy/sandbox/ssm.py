"""Container instances as hosts: SSM Run Command runs the real script, the ECS agent restarts.

moto's SendCommand runs nothing and says `Success`. Here `AWS-RunShellScript`
commands sent to sandbox instances really run: with `bash`, in a subprocess per
instance (bounded time), in a scratch folder standing in for the instance. The
folder holds the instance's `ecs.config` (pre-filled with `ECS_CLUSTER=<cluster>`,
named by `ECS_CONFIG_FILE`), and PATH holds only shims and a short list of
ordinary tools:

- `aws`: answers `aws ssm get-parameter --name N --with-decryption` from the
  sandbox's SSM (boto3 against the sandbox endpoint), nothing else;
- `systemctl` (Amazon Linux 2/2023) or `stop`/`start` (Amazon Linux 1, upstart):
  record that the ECS agent restarted. After the script the agent is
  disconnected (`agentConnected` false) for `AGENT_RESTART_SECONDS` simulated
  seconds, then reconnects, if the ecs.config it would read is valid.

Nothing but `bash` with these shims is run: the host's own `systemctl`, `aws` or
`/etc` are out of reach (PATH is the shims and a folder of links to the tools
below; a script that does not use `ECS_CONFIG_FILE` is not run and keeps moto's
answer: `Success`, no output). Status, stdout, stderr and exit code are written
into moto's invocation records, so GetCommandInvocation and ListCommandInvocations
answer as SSM does.

Also here: ECS ListAttributes filtered by name (moto filters on a value nobody
gave and answers nothing), and the agentConnected overlay of DescribeContainerInstances.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecsdeploy.sandbox.api import Call, Forward, Reply, json_reply
from ecsdeploy.sandbox.simulation import Simulation

AGENT_RESTART_SECONDS = 10.0  # simulated seconds an agent restart keeps it disconnected
MAX_SCRIPT_SECONDS = 120.0  # real seconds: no script runs longer, whatever it asks
STDOUT_LIMIT = 24000  # what GetCommandInvocation returns at most, as SSM
STDERR_LIMIT = 8000
# The tools a script may call besides the shims: links to these, nothing else, on PATH.
TOOLS = (
    "awk",
    "basename",
    "cat",
    "chmod",
    "cmp",
    "cp",
    "cut",
    "date",
    "dirname",
    "grep",
    "head",
    "id",
    "ls",
    "mkdir",
    "mktemp",
    "mv",
    "rm",
    "sed",
    "sleep",
    "sort",
    "tail",
    "touch",
    "tr",
    "wc",
)
# systemd: Amazon Linux 2/2023; upstart: Amazon Linux 1; none: an instance whose init
# the script does not know (a way to make a roll-out fail on purpose).
INITS = ("systemd", "upstart", "none")

_AWS_SHIM = '''"""The sandbox's `aws`: only `aws ssm get-parameter`, from the sandbox's SSM."""
import os, sys

def main(argv):
    args = list(argv)
    if args[:2] != ["ssm", "get-parameter"]:
        sys.stderr.write("aws (sandbox): only `aws ssm get-parameter` is available here\\n")
        return 2
    opts, flags, i = {}, set(), 2
    while i < len(args):
        a = args[i]
        if a in ("--with-decryption", "--no-with-decryption"):
            flags.add(a); i += 1
        elif a.startswith("--") and i + 1 < len(args):
            opts[a] = args[i + 1]; i += 2
        else:
            sys.stderr.write("aws (sandbox): unexpected argument %s\\n" % a); return 2
    if "--name" not in opts:
        sys.stderr.write("aws: error: the following arguments are required: --name\\n")
        return 2
    import boto3, botocore.exceptions
    client = boto3.client("ssm", region_name=opts.get("--region") or os.environ["AWS_REGION"],
                          endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    try:
        resp = client.get_parameter(Name=opts["--name"],
                                    WithDecryption="--with-decryption" in flags)
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        sys.stderr.write("\\nAn error occurred (%s) when calling the GetParameter operation: %s\\n"
                         % (err.get("Code"), err.get("Message")))
        return 254
    query, output = opts.get("--query"), opts.get("--output", "json")
    value = {"Parameter": resp["Parameter"]}
    if query:
        for part in query.split("."):
            value = value[part]
    if output == "text" and isinstance(value, str):
        sys.stdout.write(value + "\\n")
    else:
        import json
        sys.stdout.write(json.dumps(value, default=str, indent=4) + "\\n")
    return 0

sys.exit(main(sys.argv[1:]))
'''

_INIT_SHIM = """#!{bash}
# The sandbox's {name}: records what it was asked to do to the ECS agent.
case "$*" in
  *ecs*) echo "{name} $*" >> "$SANDBOX_AGENT_LOG"; exit 0 ;;
  *) echo "{name} (sandbox): only the ecs service exists here" >&2; exit 1 ;;
esac
"""


@dataclass
class Host:
    """One instance's folder and agent."""

    instance_id: str
    cluster: str | None
    folder: Path
    init: str = "systemd"
    agent_restarts: int = 0
    disconnected_until: float | None = None  # simulated time; inf: until a good restart
    agent_error: str | None = None
    agent_broken: bool = False  # break_agent(): it never comes back after a restart
    aws_cli: bool = True  # set_init(..., aws=False): an instance without the AWS CLI
    # Commands run here: {"command_id", "started", "ended" (epoch seconds), "status"}.
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def config_file(self) -> Path:
        return self.folder / "ecs.config"


class Hosts:
    """The sandbox's instances as hosts (one per EC2 instance id), in a temporary folder."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.endpoint_url = ""
        self._lock = threading.Lock()
        self._hosts: dict[str, Host] = {}
        self._threads: list[threading.Thread] = []
        self.root = Path(tempfile.mkdtemp(prefix="ecsdeploy-sandbox-hosts-"))
        self._bash = shutil.which("bash") or "/bin/bash"
        self._write_shims()

    # -- the folders ------------------------------------------------------------------

    def _write_shims(self) -> None:
        tools = self.root / "tools"
        tools.mkdir(exist_ok=True)
        for name in TOOLS:
            found = shutil.which(name)
            if found and not (tools / name).exists():
                (tools / name).symlink_to(found)
        (self.root / "aws_shim.py").write_text(_AWS_SHIM)
        inits: tuple[tuple[str, tuple[str, ...]], ...] = (
            ("systemd", ("systemctl",)),
            ("upstart", ("stop", "start")),
            ("none", ()),
        )
        for (init, names), with_aws in ((i, a) for i in inits for a in (True, False)):
            folder = self.root / _bin_name(init, with_aws)
            folder.mkdir(exist_ok=True)
            if with_aws:
                aws = folder / "aws"
                aws.write_text(
                    f'#!{self._bash}\nexec "{sys.executable}" "{self.root / "aws_shim.py"}" "$@"\n'
                )
                aws.chmod(0o755)
            for name in names:
                shim = folder / name
                shim.write_text(_INIT_SHIM.format(bash=self._bash, name=name))
                shim.chmod(0o755)

    def _cluster_of(self, account: str, region: str, instance_id: str) -> str | None:
        from moto.backends import get_backend

        ecs = get_backend("ecs")[account][region]
        for cluster, instances in list(ecs.container_instances.items()):
            for ci in list(instances.values()):
                if ci.ec2_instance_id == instance_id and ci.status != "INACTIVE":
                    return str(cluster)
        return None

    def host(self, instance_id: str, account: str = "", region: str = "") -> Host:
        """The instance's host, its folder made (ecs.config with ECS_CLUSTER) on first use."""
        with self._lock:
            found = self._hosts.get(instance_id)
            if found is not None:
                return found
        cluster = self._cluster_of(account, region, instance_id) if account else None
        folder = self.root / "instances" / instance_id
        folder.mkdir(parents=True, exist_ok=True)
        created = Host(instance_id, cluster, folder)
        if not created.config_file.exists():
            created.config_file.write_text(f"ECS_CLUSTER={cluster}\n" if cluster else "")
        with self._lock:
            return self._hosts.setdefault(instance_id, created)

    def set_init(self, instance_id: str, init: str, *, aws: bool = True) -> None:
        """Make an instance look like Amazon Linux 1 (`upstart`) or 2/2023 (`systemd`), or
        like one whose agent the script cannot restart (`none`); `aws=False`: an instance
        without the AWS CLI."""
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}")
        host = self._known(instance_id)
        host.init = init
        host.aws_cli = aws

    def break_agent(self, instance_id: str, broken: bool = True) -> None:
        """Make the instance's agent fail to come back after its next restart."""
        self._known(instance_id).agent_broken = broken

    def write_ecs_config(self, instance_id: str, text: str) -> None:
        """Set an instance's ecs.config as someone might have left it (tests, demos)."""
        self._known(instance_id).config_file.write_text(text)

    def _known(self, instance_id: str) -> Host:
        with self._lock:
            found = self._hosts.get(instance_id)
        if found is not None:
            return found
        account, region = self._locate(instance_id)
        return self.host(instance_id, account, region)

    def _locate(self, instance_id: str) -> tuple[str, str]:
        from moto.backends import get_backend

        for account, regions in get_backend("ec2").items():
            for region, backend in regions.items():
                try:
                    backend.get_instance(instance_id)
                except Exception:  # noqa: S112 (not in this region)
                    continue
                return account, region
        raise KeyError(f"no EC2 instance {instance_id} in the sandbox")

    def ecs_config(self, instance_id: str) -> str:
        """The instance's /etc/ecs/ecs.config as the scripts left it."""
        return self._known(instance_id).config_file.read_text()

    def describe(self) -> dict[str, dict[str, Any]]:
        """Every instance a command reached (or a test looked at): its file and agent."""
        with self._lock:
            hosts = list(self._hosts.values())
        return {
            h.instance_id: {
                "cluster": h.cluster,
                "init": h.init,
                "ecs_config": h.config_file.read_text() if h.config_file.exists() else "",
                "agent_connected": self.agent_connected(h.instance_id) is not False,
                "agent_restarts": h.agent_restarts,
                "agent_error": h.agent_error,
                "runs": [dict(r) for r in h.runs],
            }
            for h in hosts
        }

    def wait(self, timeout: float = MAX_SCRIPT_SECONDS) -> None:
        """Wait for the scripts under way (tests)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def reset(self) -> None:
        self.wait()
        with self._lock:
            self._hosts.clear()
            self._threads.clear()
        shutil.rmtree(self.root / "instances", ignore_errors=True)

    def close(self) -> None:
        self.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the agent --------------------------------------------------------------------

    def agent_connected(self, instance_id: str) -> bool | None:
        """False while a restarted agent is away; None for an instance never touched."""
        with self._lock:
            h = self._hosts.get(instance_id)
        if h is None or h.disconnected_until is None:
            return None
        with self.sim.synced() as sim:
            return sim.now >= h.disconnected_until

    def _agent_restarted(self, h: Host, log: str) -> None:
        actions = [line.split() for line in log.splitlines() if line.strip()]
        if not actions:
            return
        started = any(
            (a[0] == "systemctl" and len(a) > 1 and a[1] in ("restart", "start")) or a[0] == "start"
            for a in actions
        )
        problem = _config_problem(h.config_file.read_text(), h.cluster) if started else None
        with self.sim.synced() as sim:
            now = sim.now
        h.agent_restarts += 1
        if not started:
            problem = "the ECS agent was stopped and not started again"
        elif h.agent_broken and problem is None:
            problem = "the ECS agent does not start (break_agent)"
        h.agent_error = problem
        h.disconnected_until = float("inf") if problem else now + AGENT_RESTART_SECONDS

    # -- SendCommand ------------------------------------------------------------------

    def send_command(self, call: Call, forward: Forward) -> Reply:
        reply = forward(None)
        if reply.status != 200 or call.params.get("DocumentName") != "AWS-RunShellScript":
            return reply
        from moto.backends import get_backend

        data = reply.json()
        command_id = str(data["Command"]["CommandId"])
        backend = get_backend("ssm")[call.account][call.region]
        command = backend.get_command_by_id(command_id)
        requested = [str(i) for i in call.params.get("InstanceIds") or []]
        if not call.params.get("Targets"):
            # moto adds every instance of the region when no Targets are given.
            command.instance_ids = requested
            command.invocations = [i for i in command.invocations if i["InstanceId"] in requested]
            command.target_count = len(requested)
            data["Command"]["InstanceIds"] = requested
            data["Command"]["TargetCount"] = len(requested)
        parameters = call.params.get("Parameters") or {}
        script = "\n".join(str(c) for c in parameters.get("commands") or [])
        try:
            limit = float((parameters.get("executionTimeout") or ["3600"])[0])
        except ValueError:
            limit = 3600.0
        limit = min(limit, MAX_SCRIPT_SECONDS)
        if "ECS_CONFIG_FILE" not in script:
            # Not a script that writes ecs.config through ECS_CONFIG_FILE: not run, so
            # nothing can reach the host's /etc; moto's answer stands (Success, no output).
            return json_reply(data)
        command.status = "InProgress"
        command.status_details = "InProgress"
        for invocation in command.invocations:
            invocation.update(Status="InProgress", StatusDetails="InProgress", ResponseCode=-1)
            thread = threading.Thread(
                target=self._run,
                args=(call, command, invocation, script, limit),
                name=f"sandbox-ssm-{invocation['InstanceId']}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        data["Command"]["Status"] = "InProgress"
        data["Command"]["StatusDetails"] = "InProgress"
        return json_reply(data)

    def _run(
        self, call: Call, command: Any, invocation: dict[str, Any], script: str, limit: float
    ) -> None:
        instance_id = str(invocation["InstanceId"])
        try:
            self._locate(instance_id)
        except KeyError:
            _finish(invocation, "Failed", "Undeliverable", -1, "", "")
            _settle(command)
            return
        h = self.host(instance_id, call.account, call.region)
        run: dict[str, Any] = {"command_id": command.command_id, "started": time.time()}
        h.runs.append(run)
        work = h.folder / "commands" / command.command_id
        work.mkdir(parents=True, exist_ok=True)
        (work / "_script.sh").write_text(script + "\n")
        agent_log = work / "agent.log"
        agent_log.touch()
        env = {
            "PATH": f"{self.root / _bin_name(h.init, h.aws_cli)}:{self.root / 'tools'}",
            "HOME": str(h.folder),
            "TMPDIR": str(work),
            "LANG": "C",
            "ECS_CONFIG_FILE": str(h.config_file),
            "SANDBOX_AGENT_LOG": str(agent_log),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": call.region,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
        }
        try:
            done = subprocess.run(
                [self._bash, str(work / "_script.sh")],
                cwd=work,
                env=env,
                capture_output=True,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            self._agent_restarted(h, agent_log.read_text())
            _finish(
                invocation,
                "TimedOut",
                "ExecutionTimedOut",
                -1,
                _text(exc.stdout),
                _text(exc.stderr),
            )
        else:
            # The agent's state first: a caller that sees the command end sees the restart.
            self._agent_restarted(h, agent_log.read_text())
            ok = done.returncode == 0
            _finish(
                invocation,
                "Success" if ok else "Failed",
                "Success" if ok else "Failed",
                done.returncode,
                _text(done.stdout),
                _text(done.stderr),
            )
        run.update(ended=time.time(), status=invocation["Status"])
        _settle(command)

    # -- ECS attributes -----------------------------------------------------------------

    def list_attributes(self, call: Call, forward: Forward) -> Reply | None:
        """ListAttributes of container instances, filtered by name (and value) as ECS does."""
        from moto.backends import get_backend

        p = call.params
        if p.get("targetType") != "container-instance":
            return None
        ecs = get_backend("ecs")[call.account][call.region]
        cluster = str(p.get("cluster") or "default").split("/")[-1]
        name, value = p.get("attributeName"), p.get("attributeValue")
        rows = []
        for ci in list(ecs.container_instances.get(cluster, {}).values()):
            for key, val in list(ci.attributes.items()):
                if name and key != name:
                    continue
                if value is not None and val != value:
                    continue
                row = {"name": key, "targetId": ci.container_instance_arn}
                if val is not None:
                    row["value"] = val
                rows.append(row)
        start = int(p.get("nextToken") or 0)
        size = int(p.get("maxResults") or 100)
        out: dict[str, Any] = {"attributes": rows[start : start + size]}
        if start + size < len(rows):
            out["nextToken"] = str(start + size)
        return json_reply(out)

    def overlay_agent(self, container_instance: dict[str, Any]) -> None:
        """DescribeContainerInstances: agentConnected as the simulated agent is."""
        connected = self.agent_connected(str(container_instance.get("ec2InstanceId", "")))
        if connected is not None:
            container_instance["agentConnected"] = connected


def _bin_name(init: str, with_aws: bool) -> str:
    return f"bin-{init}" + ("" if with_aws else "-no-aws")


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _finish(
    invocation: dict[str, Any], status: str, details: str, code: int, out: str, err: str
) -> None:
    invocation.update(
        Status=status,
        StatusDetails=details,
        ResponseCode=code,
        StandardOutputContent=out[:STDOUT_LIMIT],
        StandardErrorContent=err[:STDERR_LIMIT],
    )


def _settle(command: Any) -> None:
    """The command's status from its invocations, once all have ended."""
    statuses = [i["Status"] for i in command.invocations]
    if any(s in ("Pending", "InProgress") for s in statuses):
        return
    failed = [s for s in statuses if s != "Success"]
    command.status = "Success" if not failed else failed[0]
    command.status_details = command.status
    command.error_count = len(failed)


def _config_problem(text: str, cluster: str | None) -> str | None:
    """Why the ECS agent would not come back with this ecs.config, or None."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "=" not in stripped:
            return f"ecs.config line without `=`: {stripped[:40]!r}"
        key, value = stripped.split("=", 1)
        settings[key.strip()] = value
    if cluster is not None and settings.get("ECS_CLUSTER") != cluster:
        return f"ECS_CLUSTER is {settings.get('ECS_CLUSTER')!r}, not {cluster!r}"
    auth_type = settings.get("ECS_ENGINE_AUTH_TYPE")
    if auth_type is not None and auth_type not in ("dockercfg", "docker"):
        return f"unknown ECS_ENGINE_AUTH_TYPE {auth_type!r}"
    data = settings.get("ECS_ENGINE_AUTH_DATA")
    if data is not None:
        try:
            parsed = json.loads(data)
        except ValueError:
            return "ECS_ENGINE_AUTH_DATA is not JSON"
        if not isinstance(parsed, dict):
            return "ECS_ENGINE_AUTH_DATA is not a JSON object"
    return None
