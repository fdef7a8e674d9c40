"""Docker/OCI v2 registries: manifest digests, and re-tagging by manifest GET and PUT.

Written for this tool rather than taken from a library: python-dxf refuses
authentication over plain HTTP (local registries), needs `mediaType` inside
the manifest (OCI manifests may omit it) and decodes manifests to text; the
docker SDK has no manifest PUT. A re-tag must send the exact bytes it got
back with their media type, or the digest changes.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ecsdeploy.errors import OperationError
from ecsdeploy.resolve import Resolver

from .credentials import Credentials

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)

_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Manifest:
    body: bytes
    media_type: str
    digest: str


class RegistryClient:
    """One registry host; thread-safe; tokens are cached per repository scope."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
        timeout: float = 30.0,
        resolver: Resolver | None = None,
    ) -> None:
        """`resolver` (ECSDEPLOY_RESOLVE) may send the calls to `host`, and to its
        token server, to another address; messages keep naming `host`."""
        import requests

        self.host = host
        self._resolver = resolver or Resolver()
        mapped = self._resolver.registry_base(host)
        self._base = mapped or f"{'http' if insecure else 'https'}://{host}"
        # Said in "cannot reach" errors, so a mapped address is never a surprise.
        self._where = f" at {mapped} (ECSDEPLOY_RESOLVE)" if mapped else ""
        self._credentials = credentials
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "ecsdeploy"
        self._lock = threading.Lock()
        self._auth: dict[str, str] = {}  # scope -> Authorization header value

    def _fail(self, what: str, response: Any) -> OperationError:
        status = response.status_code
        if status == 401:
            hint = (
                "the registry refused the credentials: check the *_env variables or `docker login`"
                if self._credentials
                else "the registry needs credentials: set `auth:` on the registry or "
                "run `docker login`"
            )
            return OperationError(f"{what}: {self.host} answered 401 Unauthorized", hint=hint)
        if status == 403:
            return OperationError(f"{what}: {self.host} answered 403 Forbidden")
        detail = response.text[:200].strip()
        return OperationError(f"{what}: {self.host} answered {status} {detail}".rstrip())

    def _token(self, challenge: str, scope: str) -> str:
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", None)
        if realm is None:
            raise OperationError(f"{self.host}: a bearer challenge without a realm")
        query = {"service": params.get("service", ""), "scope": scope}
        auth = (
            (self._credentials.username, self._credentials.password) if self._credentials else None
        )
        realm, _ = self._resolver.url(realm)
        resp = self._session.get(realm, params=query, auth=auth, timeout=self._timeout)
        if resp.status_code != 200:
            raise self._fail(f"token for {scope}", resp)
        data = resp.json()
        token = data.get("token") or data.get("access_token")
        if not token:
            raise OperationError(f"{self.host}: the token endpoint gave no token")
        return f"Bearer {token}"

    def _request(
        self, method: str, repository: str, path: str, *, push: bool = False, **kwargs: Any
    ) -> Any:
        import requests

        scope = f"repository:{repository}:{'pull,push' if push else 'pull'}"
        url = f"{self._base}/v2/{repository}/{path}"
        headers = dict(kwargs.pop("headers", {}))
        with self._lock:
            auth = self._auth.get(scope)
        if auth:
            headers["Authorization"] = auth
        try:
            resp = self._session.request(
                method, url, headers=headers, timeout=self._timeout, **kwargs
            )
            if resp.status_code == 401:  # no auth yet, or a cached token expired
                challenge = resp.headers.get("WWW-Authenticate", "")
                if challenge.lower().startswith("bearer"):
                    auth = self._token(challenge, scope)
                elif self._credentials is not None:
                    auth = f"Basic {self._credentials.basic}"
                else:
                    return resp
                with self._lock:
                    self._auth[scope] = auth
                headers["Authorization"] = auth
                resp = self._session.request(
                    method, url, headers=headers, timeout=self._timeout, **kwargs
                )
        except requests.RequestException as exc:
            from .netcheck import reason

            why = reason(exc)
            failed = getattr(getattr(exc, "request", None), "url", None) or url
            if urlsplit(str(failed)).netloc != urlsplit(self._base).netloc:
                # Not the registry itself: its token server.
                target = urlsplit(str(failed))
                why = f"its token server {target.scheme}://{target.netloc}: {why}"
            if self._where:  # mapped: where it went, then why
                message = f"cannot reach registry {self.host}{self._where}: {why}"
            else:
                message = f"cannot reach registry {self.host} at {self._base} ({why})"
            raise OperationError(message) from None
        return resp

    def digest(self, repository: str, reference: str) -> str | None:
        """The manifest digest of a tag, or None when the tag does not exist."""
        resp = self._request(
            "HEAD", repository, f"manifests/{reference}", headers={"Accept": ACCEPT}
        )
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self._fail(f"looking up {repository}:{reference}", resp)
        found = resp.headers.get("Docker-Content-Digest")
        if found:
            return str(found)
        return self.get_manifest(repository, reference).digest

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        resp = self._request(
            "GET", repository, f"manifests/{reference}", headers={"Accept": ACCEPT}
        )
        if resp.status_code == 404:
            raise OperationError(f"{self.host}/{repository}:{reference} does not exist")
        if resp.status_code != 200:
            raise self._fail(f"reading {repository}:{reference}", resp)
        import hashlib

        body: bytes = resp.content
        digest = resp.headers.get("Docker-Content-Digest") or (
            "sha256:" + hashlib.sha256(body).hexdigest()
        )
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in MANIFEST_TYPES:
            import json

            media_type = json.loads(body).get("mediaType") or MANIFEST_TYPES[2]
        return Manifest(body=body, media_type=media_type, digest=digest)

    def put_manifest(self, repository: str, tag: str, manifest: Manifest) -> str:
        """Store `manifest` under `tag` (the exact bytes, so the digest is kept)."""
        resp = self._request(
            "PUT",
            repository,
            f"manifests/{tag}",
            push=True,
            data=manifest.body,
            headers={"Content-Type": manifest.media_type},
        )
        if resp.status_code not in (200, 201, 202):
            raise self._fail(f"tagging {repository}:{tag}", resp)
        return str(resp.headers.get("Docker-Content-Digest") or manifest.digest)

    def retag(self, repository: str, source: str, tag: str) -> str:
        """Give `source`'s manifest the tag `tag` without moving a layer; returns the digest."""
        return self.put_manifest(repository, tag, self.get_manifest(repository, source))

    def tags(self, repository: str) -> list[str]:
        """The repository's tags (GET /v2/NAME/tags/list, first page); [] when none."""
        resp = self._request("GET", repository, "tags/list")
        if resp.status_code == 404:
            return []
        if resp.status_code != 200:
            raise self._fail(f"listing the tags of {repository}", resp)
        return [str(t) for t in (resp.json().get("tags") or [])]
