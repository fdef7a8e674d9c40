"""Connection failures said plainly, and found at once where they are certain.

A refused connection or a host name that does not resolve will not get better
within a command's retries: it is reported in a second, naming the URL, instead
of after the SDK's retries (throttling and time-outs are still retried there).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words: "connection refused", "host name not
    found", "timed out"; else the innermost error's own message."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    innermost: BaseException = exc
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        innermost = current
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "host name not found"
        if isinstance(current, (TimeoutError, socket.timeout)):
            return "timed out"
        # requests and urllib3 keep the cause in `reason` or in their arguments.
        nested = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        cause = getattr(current, "reason", None)
        stack += [current.__cause__, current.__context__, *nested]
        if isinstance(cause, BaseException):
            stack.append(cause)
    name = type(innermost).__name__
    return "timed out" if "timeout" in name.lower() else str(innermost) or name


def proxied(url: str) -> bool:
    """Whether the environment sends requests for `url` through a proxy (then only the
    proxy's answer tells whether the host can be reached)."""
    import urllib.request

    parts = urlsplit(url)
    if not urllib.request.getproxies().get(parts.scheme or "http"):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def refused(url: str, timeout: float = 2.0) -> str | None:
    """Why nothing can connect to `url`'s host and port, when that is certain (the
    connection is refused, or the host name does not resolve); None when a connection
    opens, or when it only times out (the caller's own retries judge that)."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror:
        return "host name not found"
    except OSError:
        return None
