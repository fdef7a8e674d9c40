"""AWS clients: one session, retries in botocore's adaptive mode, errors said plainly.

Every AWS call of the tool goes through clients made here, so throttling and
transient errors are retried the same way everywhere (botocore's adaptive mode
also rate-limits the client itself when the service throttles).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ecsdeploy import __version__
from ecsdeploy.errors import OperationError

T = TypeVar("T")

MAX_ATTEMPTS = 10
MAX_POOL = 64  # above the threads that may share a client (observe's 32 and more)


@dataclass(frozen=True)
class AwsSettings:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


class AwsClients:
    """Creates and caches one client per service; safe to share between threads."""

    def __init__(self, settings: AwsSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._region = ""

    def _make_session(self) -> Any:
        # botocore's session, not boto3's: the same credentials, regions and config
        # files, without importing boto3's resources and S3 transfer machinery.
        import botocore.exceptions
        import botocore.session

        session = botocore.session.Session(profile=self.settings.profile)
        # AWS_REGION is what the AWS SDKs and CLI v2 read first; botocore reads only
        # AWS_DEFAULT_REGION (and the config file), so it is applied here.
        region_asked = self.settings.region or os.environ.get("AWS_REGION")
        if region_asked:
            session.set_config_variable("region", region_asked)
        try:
            session.get_scoped_config()  # the profile's section: ProfileNotFound if none
            region = session.get_config_variable("region")
        except botocore.exceptions.ProfileNotFound as exc:
            raise OperationError(str(exc), hint="check --profile and ~/.aws/config") from None
        if not region:
            raise OperationError(
                "no AWS region is set",
                hint="set `region:` in deploy.yaml, pass --region, or set AWS_REGION",
            )
        self._region = str(region)
        return session

    @property
    def region(self) -> str:
        with self._lock:
            if self._session is None:
                self._session = self._make_session()
            return self._region

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                from botocore.config import Config

                if self._session is None:
                    self._session = self._make_session()
                config = Config(
                    retries={"mode": "adaptive", "max_attempts": max_attempts()},
                    max_pool_connections=MAX_POOL,
                    connect_timeout=10,
                    read_timeout=60,
                    user_agent_extra=f"ecsdeploy/{__version__}",
                )
                self._clients[service] = self._session.create_client(
                    service,
                    region_name=self._region,
                    endpoint_url=self.settings.endpoint_url,
                    config=config,
                )
            return self._clients[service]


def max_attempts() -> int:
    """Attempts per call: AWS_MAX_ATTEMPTS, botocore's own variable, else MAX_ATTEMPTS."""
    import os

    try:
        return max(1, int(os.environ.get("AWS_MAX_ATTEMPTS", "")))
    except ValueError:
        return MAX_ATTEMPTS


def call(what: str, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run one AWS call, turning SDK errors into one line a person can act on."""
    import botocore.exceptions

    try:
        return fn(**kwargs)
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        code = err.get("Code", "Error")
        message = err.get("Message", str(exc))
        hint = None
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            hint = "the credentials in use lack this permission"
        elif code in ("ExpiredTokenException", "ExpiredToken"):
            hint = "the session token expired; refresh your credentials"
        raise OperationError(f"{what} failed: {code}: {message}", hint=hint) from exc
    except botocore.exceptions.NoCredentialsError:
        raise OperationError(
            f"{what} failed: no AWS credentials found",
            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or run against the sandbox (`ecsdeploy sandbox`)",
        ) from None
    except botocore.exceptions.EndpointConnectionError as exc:
        raise OperationError(
            f"{what} failed: cannot reach {exc.kwargs.get('endpoint_url')} "
            f"(attempts: {max_attempts()})",
            hint="check the network, --region and --endpoint-url / AWS_ENDPOINT_URL",
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise OperationError(f"{what} failed: {exc}") from None


def error_code(exc: BaseException) -> str | None:
    """The AWS error code behind an OperationError raised by `call`, if any."""
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None
