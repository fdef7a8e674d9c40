"""AWS clients: one session, retries in botocore's adaptive mode, errors said plainly.

Every AWS call of the tool goes through clients made here, so throttling and
transient errors are retried the same way everywhere (botocore's adaptive mode
also rate-limits the client itself when the service throttles).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ecsdeploy import __version__
from ecsdeploy.errors import EcsDeployError, InputError, OperationError, Problem

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
        self._endpoint_checked = False
        self._endpoint_error: OperationError | None = None  # raised again for every client

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
                if not self._endpoint_checked:
                    self._endpoint_checked = True
                    try:
                        check_endpoint(self.settings.endpoint_url)
                    except OperationError as exc:
                        self._endpoint_error = exc
                if self._endpoint_error is not None:
                    raise OperationError(
                        self._endpoint_error.message, hint=self._endpoint_error.hint
                    )
                config = Config(
                    retries={"mode": "adaptive", "max_attempts": max_attempts()},
                    max_pool_connections=MAX_POOL,
                    connect_timeout=10,
                    read_timeout=60,
                    user_agent_extra=f"ecsdeploy/{__version__}",
                )
                self._clients[service] = self._create(service, config)
            return self._clients[service]

    def _create(self, service: str, config: Any) -> Any:
        import botocore.exceptions

        try:
            return self._session.create_client(
                service,
                region_name=self._region,
                endpoint_url=self.settings.endpoint_url,
                config=config,
            )
        except botocore.exceptions.BotoCoreError as exc:
            raise _sdk_error(f"cannot make an AWS client for {service}", exc) from None


ENDPOINT_PROBE_TIMEOUT = 2.0  # seconds; a slower endpoint is left to botocore's retries


def check_endpoint(url: str | None) -> None:
    """Fail at once when nothing can connect to a given endpoint (AWS_ENDPOINT_URL,
    --endpoint-url): botocore would retry a refused connection for some 20 seconds
    before saying anything. A time-out is left to botocore's retries, and so is an
    endpoint reached through a proxy."""
    from . import netcheck

    if not url or netcheck.proxied(url):
        return
    why = netcheck.refused(url, ENDPOINT_PROBE_TIMEOUT)
    if why is None:
        return
    from urllib.parse import urlsplit

    local = netcheck.is_loopback(urlsplit(url).hostname or "")
    raise OperationError(
        f"cannot connect to {url} ({why})",
        hint="is the sandbox running? start it with `ecsdeploy sandbox`, or unset "
        "AWS_ENDPOINT_URL to use AWS"
        if local
        else "check --endpoint-url / AWS_ENDPOINT_URL and the network",
    )


def _sdk_error(what: str, exc: Exception) -> EcsDeployError:
    """An SDK error raised outside a call (making a client): said as ours, never as
    botocore's class name."""
    import botocore.exceptions

    if isinstance(exc, botocore.exceptions.InvalidRegionError):
        region = exc.kwargs.get("region_name")
        return InputError(
            Problem(
                f"{region!r} is not a valid AWS region name",
                hint="check --region, AWS_REGION and `region:` in deploy.yaml",
            )
        )
    return OperationError(f"{what}: {exc}")


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
            hint = (
                "the session token expired; keys exported as AWS_ACCESS_KEY_ID/"
                "AWS_SESSION_TOKEN cannot be renewed: use a profile or role that can "
                "(SSO, credential_process, web identity)"
            )
        raise OperationError(f"{what} failed: {code}: {message}", hint=hint) from exc
    except (
        botocore.exceptions.CredentialRetrievalError,
        botocore.exceptions.TokenRetrievalError,
        botocore.exceptions.SSOError,
        botocore.exceptions.RefreshWithMFAUnsupportedError,
    ) as exc:
        # Refreshing short-lived credentials from their source failed (an SSO login
        # that lapsed, a credential_process that errs): botocore's message says which.
        raise OperationError(
            f"{what} failed: {str(exc).strip()}",  # a process's stderr ends with a newline
            hint="renew the credentials' source (e.g. `aws sso login`), then run the command again",
        ) from None
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


class RegionalClients:
    """Clients with the same settings in another region, each made once: `self(region)`
    (None or the clients' own region: the clients themselves)."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._lock = threading.Lock()
        self._regional: dict[str, AwsClients] = {}

    def __call__(self, region: str | None) -> AwsClients:
        if region is None or region == self._clients.region:
            return self._clients
        with self._lock:
            if region not in self._regional:
                self._regional[region] = AwsClients(replace(self._clients.settings, region=region))
            return self._regional[region]
