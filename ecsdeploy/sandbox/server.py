"""The sandbox server: moto's WSGI app wrapped with the simulation, fault injection,
call counting and the `/_sandbox/*` control endpoints; `Sandbox` starts and stops it.

Every request passes through `SandboxApp`: `/_sandbox/*` is the control side; a
request whose Host is a routed check host is answered by the check responder
(`responder.py`), one to the Docker registry API (`/v2/…`, `registry.py`) by the
registry; any other is identified (`ecs:DescribeServices`), counted, possibly
answered with an injected fault, then either answered or augmented by the
simulation (`api.Api`) or passed to moto unchanged.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import random
import re
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from ecsdeploy.sandbox.api import Api, Call, Reply, json_reply
from ecsdeploy.sandbox.backends import MotoBackends
from ecsdeploy.sandbox.clock import SimClock
from ecsdeploy.sandbox.registry import Registry, is_registry_path
from ecsdeploy.sandbox.registry import Request as RegistryRequest
from ecsdeploy.sandbox.responder import Responder
from ecsdeploy.sandbox.simulation import Simulation

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
CONTROL_PREFIX = "/_sandbox"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_CREDENTIAL = re.compile(
    r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request"
)


@dataclass(frozen=True)
class FaultConfig:
    """Which requests get an injected error: shares of the eligible ones, seeded."""

    throttle: float = 0.0  # share answered HTTP 400 ThrottlingException
    error: float = 0.0  # share answered HTTP 500
    seed: int = 0
    operations: tuple[str, ...] = ()  # "ecs:DescribeServices" or "ecs:*"; empty: all
    limit: int | None = None  # at most this many faults, then none

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["operations"] = list(self.operations)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        limit = data.get("limit")
        return cls(
            throttle=float(data.get("throttle") or 0.0),
            error=float(data.get("error") or 0.0),
            seed=int(data.get("seed") or 0),
            operations=tuple(str(o) for o in data.get("operations") or ()),
            limit=None if limit is None else int(limit),
        )

    def applies_to(self, key: str) -> bool:
        if not self.operations:
            return True
        service = key.split(":")[0]
        return key in self.operations or f"{service}:*" in self.operations


class Stalls:
    """Holds back the answer to the Nth call of an operation, after the call was carried
    out: the client sees a request that never returns, as if the network or the process
    died right after AWS acted. Tests kill the client meanwhile, then run it again, to
    prove a re-run converges from that exact step."""

    HOLD_SECONDS = 300.0  # a held answer is let go after this, whatever happens

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, int] = {}  # "ecs:RegisterTaskDefinition" -> calls to let by
        self.stalled = threading.Event()  # set once an answer is held
        self.held: str | None = None  # which operation's answer is held
        self._release = threading.Event()

    def arm(self, operation: str, nth: int = 1) -> None:
        if nth < 1:
            raise ValueError("nth counts from 1")
        with self._lock:
            self._armed[operation] = nth
            self.stalled.clear()
            self._release.clear()
            self.held = None

    def should_hold(self, operation: str) -> bool:
        with self._lock:
            left = self._armed.get(operation)
            if left is None:
                return False
            if left > 1:
                self._armed[operation] = left - 1
                return False
            del self._armed[operation]
            self.held = operation
            return True

    def hold(self) -> None:
        self.stalled.set()
        self._release.wait(self.HOLD_SECONDS)

    def release(self) -> None:
        with self._lock:
            self._armed.clear()
        self._release.set()


class Faults:
    """Decides, request by request, whether to inject a fault (repeatable by seed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._rng = random.Random(0)  # noqa: S311 (repeatable test faults, not secrets)
        self.injected = 0

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)  # noqa: S311
            self.injected = 0

    def decide(self, key: str) -> str | None:
        with self._lock:
            c = self.config
            if (c.throttle <= 0 and c.error <= 0) or not c.applies_to(key):
                return None
            if c.limit is not None and self.injected >= c.limit:
                return None
            draw = self._rng.random()
            kind = (
                "throttle"
                if draw < c.throttle
                else "error"
                if draw < c.throttle + c.error
                else None
            )
            if kind:
                self.injected += 1
            return kind


@dataclass
class CallCounter:
    """Requests received, by `service:Operation`; faults and retries count too. Also
    by the access key id that signed them (the id is in the Authorization header;
    the secret key never reaches a server), so a test can see a client refresh its
    credentials."""

    counts: Counter[str] = field(default_factory=Counter)
    keys: dict[str, Counter[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, access_key: str | None = None) -> None:
        with self.lock:
            self.counts[key] += 1
            if access_key:
                self.keys.setdefault(access_key, Counter())[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(sorted(self.counts.items()))

    def access_keys(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {k: dict(sorted(c.items())) for k, c in sorted(self.keys.items())}

    def reset(self) -> dict[str, int]:
        with self.lock:
            before = dict(sorted(self.counts.items()))
            self.counts.clear()
            self.keys.clear()
            return before


def access_key_id(environ: dict[str, Any]) -> str | None:
    """The access key id a SigV4-signed request names, if it is signed."""
    m = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return m.group("key") if m else None


def identify(environ: dict[str, Any], body: bytes) -> Call:
    """Which AWS service and operation a request is, from its signature and body."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    m = _CREDENTIAL.search(auth)
    region, signing = (m.group("region"), m.group("service")) if m else (DEFAULT_REGION, "")
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    params: dict[str, Any] = {}
    operation = ""
    if target:
        operation = target.split(".")[-1]
        try:
            loaded = json.loads(body or b"{}")
            params = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            params = {}
    else:
        form = body.decode("utf-8", "replace") if body else ""
        ctype = str(environ.get("CONTENT_TYPE", ""))
        pairs = parse_qsl(str(environ.get("QUERY_STRING", "")))
        if ctype.startswith("application/x-www-form-urlencoded"):
            pairs += parse_qsl(form)
        params = dict(pairs)
        operation = str(params.get("Action", ""))
    service = signing or "unknown"
    if signing == "elasticloadbalancing":
        service = "elbv2" if params.get("Version") == "2015-12-01" else "elb"
    if not operation:
        operation = f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"
    return Call(service, operation, region, DEFAULT_ACCOUNT, body, params, bool(target))


def internal_error(call: Call, message: str) -> Reply:
    """A 500 that says what broke, instead of werkzeug's HTML page."""
    code = "InternalFailure"
    if call.json_protocol:
        return Reply(
            500,
            (("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)),
            json.dumps({"__type": code, "message": message}).encode(),
        )
    xml = (
        f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Reply(500, (("Content-Type", "text/xml"),), xml.encode())


def fault_reply(kind: str, call: Call) -> Reply:
    """An injected error in the wire format of the call's protocol."""
    request_id = str(uuid.uuid4())
    if kind == "throttle":
        status, code, message = 400, "ThrottlingException", "Rate exceeded"
    else:
        status, code, message = 500, "InternalFailure", "We encountered an internal error."
    if call.json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = (
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        )
        return Reply(status, headers, body)
    query_code = "Throttling" if kind == "throttle" else "InternalFailure"
    if call.service == "ec2":
        query_code = "RequestLimitExceeded" if kind == "throttle" else "InternalError"
        xml = (
            f"<Response><Errors><Error><Code>{query_code}</Code><Message>{message}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        xml = (
            f"<ErrorResponse><Error><Type>{'Sender' if status == 400 else 'Receiver'}</Type>"
            f"<Code>{query_code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return Reply(status, (("Content-Type", "text/xml"),), xml.encode())


class SandboxApp:
    """WSGI middleware in front of moto's `DomainDispatcherApplication`."""

    def __init__(self, moto_app: WsgiApp, sandbox: Sandbox) -> None:
        self.moto_app = moto_app
        self.sandbox = sandbox
        self.api = Api(sandbox.simulation, sandbox.hosts)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", "/"))
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._send(self._control(environ, path), start_response)
        method = str(environ.get("REQUEST_METHOD", "GET"))
        host = str(environ.get("HTTP_HOST", ""))
        if self.sandbox.responder.find(host) is not None:
            self._read_body(environ)
            return self._send(self.sandbox.responder.answer(host, method), start_response)
        signed = str(environ.get("HTTP_AUTHORIZATION", "")).startswith("AWS4-")
        if not signed and is_registry_path(path):
            request = RegistryRequest(
                method=method,
                path=path,
                query=str(environ.get("QUERY_STRING", "")),
                headers=_headers(environ),
                body=self._read_body(environ),
            )
            return self._send(self.sandbox.registry.handle(request), start_response)
        body = self._read_body(environ)
        if path.startswith("/moto-api"):
            reply = self._forward(environ, body)
            if path.rstrip("/") == "/moto-api/reset":
                self.sandbox.simulation.reset()
            return self._send(reply, start_response)
        call = identify(environ, body)
        key = f"{call.service}:{call.operation}"
        self.sandbox.counter.add(key, access_key_id(environ))
        kind = self.sandbox.faults.decide(key)
        if kind is not None:
            return self._send(fault_reply(kind, call), start_response)

        def forward(replacement: bytes | None) -> Reply:
            return self._forward(environ, body if replacement is None else replacement)

        try:
            handled = self.api.handle(call, forward)
        except Exception as exc:
            log.exception("sandbox: %s failed", key)
            handled = internal_error(call, f"sandbox: {key} failed: {type(exc).__name__}: {exc}")
        reply = forward(None) if handled is None else handled
        if reply.status == 200 and self.sandbox.stalls.should_hold(key):
            self.sandbox.stalls.hold()  # carried out; the answer waits (see Stalls)
        return self._send(reply, start_response)

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        if environ.get("wsgi.input_terminated"):  # chunked (a `docker push` PATCH): to EOF
            return bytes(stream.read())
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body: bytes = stream.read(length) if length > 0 else b""
        return body

    def _forward(self, environ: dict[str, Any], body: bytes) -> Reply:
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        env["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers
            return lambda data: None

        result = self.moto_app(env, start_response)
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = tuple(
            (k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"
        )
        return Reply(int(captured.get("status", 500)), headers, data)

    @staticmethod
    def _send(reply: Reply, start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]
        given = [v for k, v in reply.headers if k.lower() == "content-length"]
        # A HEAD answer carries the GET's length and no body (the registry's, the checks').
        length = given[0] if given and not reply.body else str(len(reply.body))
        headers.append(("Content-Length", length))
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Status"
        start_response(f"{reply.status} {phrase}", headers)
        return [reply.body]

    # -- control endpoints --------------------------------------------------------

    def _control(self, environ: dict[str, Any], path: str) -> Reply:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        raw = self._read_body(environ)
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return json_reply({"error": "body must be JSON"}, 400)
        if not isinstance(data, dict):
            return json_reply({"error": "body must be a JSON object"}, 400)
        sb = self.sandbox
        name = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            if name == "" and method == "GET":
                return json_reply(sb.status())
            if name == "calls":
                if method == "GET":
                    return json_reply({"calls": sb.calls()})
                return json_reply({"calls": sb.reset_calls()})
            if name == "access-keys" and method == "GET":
                return json_reply({"access_keys": sb.access_keys()})
            if name == "faults":
                if method != "GET":
                    sb.set_faults(FaultConfig.from_json(data))
                return json_reply(sb.faults.config.to_json())
            if name == "stall" and method == "POST":
                sb.stall(str(data["operation"]), int(data.get("nth", 1)))
                return json_reply({"armed": data["operation"]})
            if name == "stall" and method == "GET":
                return json_reply({"stalled": sb.stalls.stalled.is_set(), "held": sb.stalls.held})
            if name == "release" and method == "POST":
                sb.release_stalls()
                return json_reply({"released": True})
            if name == "reset" and method == "POST":
                sb.reset()
                return json_reply(sb.status())
            if name == "clock":
                if method != "GET":
                    if "speed" in data:
                        sb.speed = float(data["speed"])
                    if "advance" in data:
                        sb.advance(float(data["advance"]))
                return json_reply(sb.clock_status())
            if name == "state" and method == "GET":
                return json_reply(sb.state())
            if name == "instances" and method == "GET":
                return json_reply({"instances": sb.hosts.describe()})
            if name == "break" and method == "POST":
                sb.break_service(str(data["service"]))
                return json_reply({"broken": data["service"]})
            if name == "shutdown" and method == "POST":
                sb.shutdown_requested.set()
                return json_reply({"stopping": True})
            if name == "settle" and method == "POST":
                settled = sb.settle(float(data.get("max_seconds", 3600)))
                return json_reply({"settled": settled, **sb.clock_status()})
            if name == "registry" and method == "GET":
                return json_reply(sb.registry.describe())
            if name == "registry/users" and method == "POST":
                users = data.get("users")
                if not isinstance(users, dict):
                    raise ValueError('body must be {"users": {"name": "password"}}')
                sb.registry_users(users)
                return json_reply({"users": sorted(users)})
            if name == "registry/images" and method == "POST":
                digest = sb.put_image(str(data["repository"]), str(data["tag"]))
                return json_reply({"digest": digest})
            if name == "http" and method == "POST":
                if "rule" in data:
                    sb.http_route_rule(str(data["host"]), str(data["rule"]))
                else:
                    sb.http_route(str(data["host"]), str(data["cluster"]), str(data["service"]))
                return json_reply({"routes": sb.responder.routes()})
            if name == "http" and method == "GET":
                return json_reply({"routes": sb.responder.routes()})
            if name == "hooks" and method == "POST":
                sb.hook_verdict(str(data["function"]), str(data["verdict"]))
                return json_reply({"verdicts": sb.hook_verdicts()})
            if name == "hooks" and method == "GET":
                return json_reply({"verdicts": sb.hook_verdicts()})
            if name == "rules" and method == "POST":
                return json_reply({"history": sb.rule_history(str(data["rule"]))})
            if name == "rules" and method == "GET":
                return json_reply({"rules": sb.rule_histories()})
        except KeyError as exc:
            return json_reply({"error": f"missing field {exc}"}, 400)
        except (TypeError, ValueError) as exc:
            return json_reply({"error": str(exc)}, 400)
        return json_reply({"error": f"no such control endpoint: {method} {path}"}, 404)


class Sandbox:
    """A local ECS: moto's server on 127.0.0.1 plus the deployment simulation.

    `Sandbox(port=0, speed=60)` picks a free port; use it as a context manager
    or call `start()`/`stop()`. The control methods mirror the HTTP endpoints.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        speed: float = 60.0,
        host: str = "127.0.0.1",
        seed: int | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._initial_speed = speed
        self.clock = SimClock(speed)
        self.backends = MotoBackends()
        self.simulation = Simulation(self.clock, self.backends, seed=seed)
        self.faults = Faults()
        self.stalls = Stalls()
        self.counter = CallCounter()
        from ecsdeploy.sandbox.ssm import Hosts

        # Container instances as hosts: SSM Run Command really runs (docs/sandbox.md).
        self.hosts = Hosts(self.simulation)
        # A Docker registry and the HTTP checks' responder, on the same port.
        self.registry = Registry()
        self.responder = Responder(self.simulation)
        self._server: Any = None
        self._port: int | None = None
        # Set by POST /_sandbox/shutdown: `ecsdeploy sandbox` stops when it is.
        self.shutdown_requested = threading.Event()

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        for name in ("werkzeug", "moto", "flask"):
            logging.getLogger(name).setLevel(logging.ERROR)
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        _cache_moto_module_list()
        sandbox = self

        class _Handler(MotoRequestHandler):
            def log_error(self, format: str, *args: Any) -> None:
                # A Docker engine tries TLS first on a registry it may also reach over
                # plain HTTP (127.0.0.0/8): its handshake is not an error worth a line.
                if getattr(self, "raw_requestline", b"").startswith(b"\x16"):
                    return
                super().log_error(format, *args)

        class _Server(ThreadedMotoServer):
            error: OSError | None = None

            def _server_entry(self) -> None:
                app = SandboxApp(DomainDispatcherApplication(create_backend_app), sandbox)
                try:
                    self._server = make_server(
                        self._ip_address,
                        self._port,
                        app,
                        True,
                        request_handler=_Handler,
                    )
                except (OSError, SystemExit) as exc:
                    # werkzeug exits on a busy port, and moto's start() waits for this
                    # event: without it the sandbox would hang instead of failing.
                    self.error = (
                        exc
                        if isinstance(exc, OSError)
                        else OSError(errno.EADDRINUSE, "Address already in use")
                    )
                    self._server_ready_event.set()
                    return
                self._server_ready_event.set()
                self._server.serve_forever()

        if self._requested_port:
            _check_port_free(self.host, self._requested_port)
        server = _Server(ip_address=self.host, port=self._requested_port, verbose=False)
        server.start()
        if server.error is not None:
            raise server.error
        self._server = server
        self._port = int(server.get_host_and_port()[1])
        self.hosts.endpoint_url = self.endpoint_url
        self.simulation.start()
        threading.Thread(target=_warm_up, name="sandbox-warm-up", daemon=True).start()
        return self

    def stop(self) -> None:
        self.simulation.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.hosts.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox is not started")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- control -------------------------------------------------------------------

    @property
    def speed(self) -> float:
        return self.clock.speed

    @speed.setter
    def speed(self, value: float) -> None:
        with self.simulation.lock:
            self.simulation.sync()
            self.clock.set_speed(value)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward at once (works with the clock paused, speed 0)."""
        self.simulation.advance(seconds)

    def settle(self, max_seconds: float = 3600.0) -> bool:
        """Advance simulated time until every deployment is done; False if one never is."""
        return self.simulation.settle(max_seconds)

    def calls(self) -> dict[str, int]:
        return self.counter.snapshot()

    def reset_calls(self) -> dict[str, int]:
        return self.counter.reset()

    def access_keys(self) -> dict[str, dict[str, int]]:
        """Requests received by the access key id that signed them, then by
        `service:Operation` (ids only: a server never sees a secret key); reset
        with the call counts."""
        return self.counter.access_keys()

    def set_faults(self, config: FaultConfig | None = None, **kwargs: Any) -> None:
        if config is None:
            config = FaultConfig(**kwargs)
        self.faults.configure(config)

    def clear_faults(self) -> None:
        self.faults.configure(FaultConfig())

    def stall(self, operation: str, nth: int = 1) -> None:
        """Hold back the answer to the `nth` next call of `operation` (e.g.
        "ecs:UpdateService") once it is carried out, until `release_stalls`."""
        self.stalls.arm(operation, nth)

    def wait_stalled(self, timeout: float = 60.0) -> bool:
        return self.stalls.stalled.wait(timeout)

    def release_stalls(self) -> None:
        self.stalls.release()

    def break_service(self, name: str) -> None:
        """Make the next release of service `name` crash: the essential containers of
        the next new task definition its deployments use exit as they start, as
        `SANDBOX_CRASH=1` would make them (its rollback, to an older one, runs)."""
        with self.simulation.lock:
            self.simulation.break_next.add(name)

    def reset(self) -> None:
        """Forget everything: moto's resources, the simulation, counts, faults, speed."""
        with self.simulation.lock:
            self.backends.reset()
            self.simulation.reset()
            self.clock.set_speed(self._initial_speed)
        self.counter.reset()
        self.clear_faults()
        self.release_stalls()
        self.hosts.reset()
        self.registry.reset()
        self.responder.reset()

    def registry_users(self, users: Mapping[str, str]) -> None:
        """Replace the registry's users: with any, every request needs HTTP Basic auth."""
        self.registry.set_users(users)

    def put_image(self, repository: str, tag: str) -> str:
        """Store a small made-up image as `repository:tag` in the registry; returns its
        manifest digest (the same for the same repository every time)."""
        return self.registry.put_image(repository, tag)

    def http_route(self, host: str, cluster: str, service: str) -> None:
        """Answer requests for `host` (the Host header) as the service's healthy tasks would."""
        self.responder.route(host, cluster, service)

    def http_route_rule(self, host: str, rule_arn: str) -> None:
        """Answer requests for `host` as the ALB listener rule `rule_arn` (or NLB listener)
        forwards them now: by its weights, to healthy tasks of its target groups."""
        self.responder.route_rule(host, rule_arn)

    def hook_verdict(self, function: str, verdict: str) -> None:
        """What the AWS_LAMBDA lifecycle hooks of `function` (a name or ARN) answer from
        now on: SUCCEEDED (the default), FAILED (the deployment rolls back) or
        IN_PROGRESS (ECS asks again every 30 s, until the hook's timeout)."""
        from ecsdeploy.sandbox.bluegreen import VERDICTS, function_name

        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        name = function_name(function)
        if not name:
            raise ValueError("a hook verdict needs a Lambda function name or ARN")
        with self.simulation.lock:
            if verdict == "SUCCEEDED":
                self.simulation.hook_verdicts.pop(name, None)
            else:
                self.simulation.hook_verdicts[name] = verdict

    def hook_verdicts(self) -> dict[str, str]:
        with self.simulation.lock:
            return dict(self.simulation.hook_verdicts)

    def rule_history(self, rule_arn: str) -> list[dict[str, Any]]:
        """Every change ECS made to the weights of listener rule `rule_arn`, oldest first:
        `{"time": simulated seconds, "timestamp": epoch seconds, "weights": {target group
        ARN: weight}, "stage": lifecycle stage (or ROLLBACK), "cluster", "service",
        "serviceDeploymentArn"}`."""
        with self.simulation.synced() as sim:
            return [
                {**entry, "timestamp": round(sim.wall(entry["time"]), 3)}
                for entry in sim.rule_history.get(rule_arn, [])
            ]

    def rule_histories(self) -> dict[str, list[dict[str, Any]]]:
        with self.simulation.lock:
            arns = list(self.simulation.rule_history)
        return {arn: self.rule_history(arn) for arn in arns}

    def clock_status(self) -> dict[str, Any]:
        with self.simulation.synced() as sim:
            now = sim.now
            return {"now": now, "timestamp": sim.wall(now), "speed": self.clock.speed}

    def state(self) -> dict[str, Any]:
        """The simulation at a glance (for debugging: `curl .../_sandbox/state`)."""
        with self.simulation.synced() as sim:
            services = []
            for svc in sim.services.values():
                services.append(
                    {
                        "region": svc.region,
                        "cluster": svc.cluster_name,
                        "service": svc.name,
                        "desired": svc.desired_count,
                        "steady": svc.steady,
                        "deployments": [
                            {
                                "id": d.id,
                                "status": d.status,
                                "rolloutState": d.rollout_state,
                                "taskDefinition": d.spec.arn,
                                "failedTasks": d.failed_tasks,
                            }
                            | ({} if d.shift is None else {"lifecycleStage": d.shift.stage})
                            for d in svc.deployments
                        ],
                        "tasks": [
                            {
                                "id": t.id,
                                "deployment": t.deployment_id,
                                "lastStatus": t.last_status,
                                "desiredStatus": t.desired_status,
                                "targets": [x.state for x in t.targets],
                            }
                            for t in svc.tasks
                            if t.in_use
                        ],
                    }
                )
            return {"now": sim.now, "services": services}

    def status(self) -> dict[str, Any]:
        with self.simulation.synced() as sim:
            services = len(sim.services)
            tasks = sum(1 for t in sim.tasks.values() if t.in_use)
        return {
            "endpoint_url": self.endpoint_url,
            "services": services,
            "tasks": tasks,
            **self.clock_status(),
        }


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers, by lower-case name."""
    found = {
        k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            found[key.replace("_", "-").lower()] = str(environ[key])
    return found


def _check_port_free(host: str, port: int) -> None:
    """Fail with one clear OSError (werkzeug would print its own advice first)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _cache_moto_module_list() -> None:
    """moto's server lists and stats its ~170 module folders for every request, to
    see whether the Host header names a service (never, here): once is enough."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def cached() -> tuple[str, ...]:
        return modules

    cached.cached = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = cached


def _warm_up() -> None:
    # moto loads each backend on first use (about a second for ECS); doing it
    # here keeps the first real call fast without slowing start().
    try:
        from moto.backends import get_backend

        for name in ("ecs", "ec2", "elbv2", "ecr"):
            get_backend(name)
    except Exception:  # noqa: S110 (warming is an optimisation only)
        pass
