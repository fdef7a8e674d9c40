"""Plain HTTP(S) GETs for the load balancer's `http` check."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class HttpAnswer:
    status: int | None  # None: no answer at all
    body: str
    error: str | None = None


def get(url: str, timeout: float, host: str | None = None) -> HttpAnswer:
    """GET `url`; `host` is sent as the Host header instead of the URL's own (the
    check's host, when ECSDEPLOY_RESOLVE sent the request to another address)."""
    headers = {"User-Agent": "ecsdeploy-check"}
    if host is not None:
        headers["Host"] = host
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (http/https only, by schema)
            return HttpAnswer(resp.status, resp.read(65536).decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, exc.read(65536).decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        return HttpAnswer(None, "", str(reason))
