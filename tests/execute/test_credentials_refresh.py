"""Short-lived credentials are refreshed from their source during a long apply.

A real `credential_process` (an AWS config file profile) hands out a new access key
on every call, each valid for 5 minutes: inside botocore's 10-minute mandatory
refresh window, so every request must fetch new keys before it is signed. A client
that froze its first credentials, or was made with static keys and cached, would
sign all its requests with one key; the sandbox counts requests by the access key
id that signed them, so it would see one key for all the polls of a rollout.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.apps import App, read_until, spawn
from tests.execute.conftest import break_web

LIFETIME_SECONDS = 300  # < botocore's mandatory refresh window (10 min): always refreshed

CREDENTIAL_PROCESS = """\
import datetime, json, os, secrets, sys

log, lifetime = sys.argv[1], float(sys.argv[2])
if os.path.exists(log + ".revoked"):  # the source itself lapsed, as an SSO login does
    sys.exit("the SSO session has expired; log in again")
issued = {
    "Version": 1,
    "AccessKeyId": "ASIA" + secrets.token_hex(8).upper(),
    "SecretAccessKey": "shortlived-secret-" + secrets.token_hex(16),
    "SessionToken": "shortlived-token-" + secrets.token_hex(16),
    "Expiration": (
        datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
    ).isoformat(),
}
with open(log, "a") as f:
    f.write(json.dumps(issued) + "\\n")
print(json.dumps(issued))
"""


def _issued(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def short_lived_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """AWS_PROFILE names a profile whose credential_process issues 5-minute keys; no
    static keys in the environment. Returns the log of what the process issued."""
    script = tmp_path / "credential_process.py"
    script.write_text(CREDENTIAL_PROCESS)
    log = tmp_path / "issued.jsonl"
    command = shlex.join([sys.executable, str(script), str(log), str(LIFETIME_SECONDS)])
    config = tmp_path / "aws-config"
    config.write_text(f"[profile short]\ncredential_process = {command}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_PROFILE", "short")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return log


def test_apply_refreshes_short_lived_credentials(
    app: App, sandbox: Any, short_lived_profile: Path
) -> None:
    sandbox.control.reset_calls()  # the seeding's requests, signed with static keys

    result = app.run("apply", "--yes", "--allow-downtime")

    assert result.exit_code == 0, result.output
    assert "Apply complete: 2 of 2 services ok." in result.output
    issued = _issued(short_lived_profile)
    assert len(issued) > 1, "the credential process ran once: credentials were never refreshed"
    keys = {i["AccessKeyId"] for i in issued}
    seen = sandbox.control.access_keys()
    # Every request of the apply was signed with a key the process issued ...
    assert set(seen) <= keys, f"requests signed with keys not from the process: {sorted(seen)}"
    signed = sum(n for ops in seen.values() for n in ops.values())
    assert signed == sum(sandbox.control.calls().values())
    # ... and the polls of the rollouts, made by one client, with several keys: that
    # client took fresh ones as its first expired instead of keeping them.
    polls = [k for k, ops in seen.items() if ops.get("ecs:DescribeServices")]
    assert len(polls) > 1, f"one access key signed every DescribeServices: {polls}"
    for credentials in issued:
        for field in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
            assert credentials[field] not in result.output


def test_a_source_that_lapses_during_the_wait_fails_the_apply_with_a_hint(
    app: App, sandbox: Any, short_lived_profile: Path
) -> None:
    break_web(app, "SANDBOX_START_SECONDS", "3000")  # a slow start: ~5 s of polling
    proc = spawn(app, "apply", "--yes", "--allow-downtime", "--service", "web")
    try:
        out = read_until(proc, "waiting for the rollout of quickstart-web:2")
        Path(f"{short_lived_profile}.revoked").touch()
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    out += rest
    assert proc.returncode == 1, out
    # The next refresh fails: the service fails with botocore's reason and what to do;
    # nothing is rolled back (ECS goes on with the rollout).
    assert re.search(
        r"web: error: \S+ failed: Error when retrieving credentials from custom-process: "
        r"the SSO session has expired; log in again\n.*web: error:   hint: renew the "
        r"credentials' source \(e\.g\. `aws sso login`\), then run the command again\n",
        out,
    ), out
    assert "Apply failed: 0 of 1 service ok." in out
    assert "rolling back" not in out
    assert "Traceback" not in out
    for credentials in _issued(short_lived_profile):
        for field in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
            assert credentials[field] not in out

    # Logged in again, a new apply picks the rollout up and finishes it.
    Path(f"{short_lived_profile}.revoked").unlink()
    again = app.run("apply", "--yes", "--allow-downtime", "--service", "web")
    assert again.exit_code == 0, again.output
    assert "its release is waited for, checked and recorded" in again.output
    assert "deployed quickstart-web:2: rollout completed, checks passed" in again.output
    assert "Apply complete: 1 of 1 service ok." in again.output


def test_an_expired_session_token_says_exported_keys_cannot_be_renewed() -> None:
    from botocore.exceptions import ClientError

    from ecsdeploy.adapters.aws import call
    from ecsdeploy.errors import OperationError

    def expired(**_: Any) -> None:
        error = {"Code": "ExpiredTokenException", "Message": "The security token is expired"}
        raise ClientError({"Error": error}, "DescribeServices")

    with pytest.raises(OperationError) as caught:
        call("ecs:DescribeServices", expired)
    assert caught.value.message == (
        "ecs:DescribeServices failed: ExpiredTokenException: The security token is expired"
    )
    assert caught.value.hint == (
        "the session token expired; keys exported as AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN "
        "cannot be renewed: use a profile or role that can (SSO, credential_process, "
        "web identity)"
    )
