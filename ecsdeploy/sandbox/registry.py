"""A Docker registry in the sandbox: the Registry HTTP API V2, in memory, on the same port.

Enough of the API (distribution's docs/spec/api.md, the OCI distribution spec)
for `docker push` through a Docker engine and for ecsdeploy's own registry client:
the version check, manifests (GET/HEAD/PUT/DELETE by tag or digest, with Accept
negotiation), blobs (HEAD/GET/DELETE), uploads (chunked, monolithic, cross-mount),
the tag list and the catalog; errors in the registry's JSON error format. With
users configured every request needs HTTP Basic auth; otherwise it is open.

Blobs are linked per repository, as distribution does: a blob uploaded to one
repository is not visible in another until it is uploaded or mounted there.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import io
import json
import re
import tarfile
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

from ecsdeploy.sandbox.api import Reply

API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
REALM = "ecsdeploy-sandbox"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX)
LISTS = (DOCKER_LIST, OCI_INDEX)
FOREIGN_LAYERS = (
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
)
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

# distribution's reference grammar: path components of lower-case alphanumerics
# separated by `.`, `_`, `__` or dashes; tags up to 128 word characters, `.` and `-`.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")

_MANIFESTS = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_UPLOADS = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/?(?P<uuid>[^/]*)$")
_BLOBS = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)$")
_TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")
_CATALOG = "/v2/_catalog"

STATUS = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "TAG_INVALID": 400,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED": 405,
}


def is_registry_path(path: str) -> bool:
    """Whether a request path is the registry API's (`/v2/`, or below it by the spec)."""
    if path in ("/v2", "/v2/", _CATALOG):
        return True
    return any(p.match(path) for p in (_MANIFESTS, _UPLOADS, _BLOBS, _TAGS))


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


class RegistryError(Exception):
    def __init__(self, code: str, message: str, detail: Any = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status or STATUS[code]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass
class Repository:
    blobs: set[str] = field(default_factory=set)  # digests linked here
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # digest -> type, body
    tags: dict[str, str] = field(default_factory=dict)  # tag -> manifest digest

    @property
    def empty(self) -> bool:
        return not (self.blobs or self.manifests or self.tags)


@dataclass
class Upload:
    name: str
    data: bytearray = field(default_factory=bytearray)


class Registry:
    """The sandbox's registry: thread-safe, in memory, forgotten on reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, str] = {}
        self._blobs: dict[str, bytes] = {}
        self._repos: dict[str, Repository] = {}
        self._uploads: dict[str, Upload] = {}

    # -- control ----------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._users.clear()
            self._blobs.clear()
            self._repos.clear()
            self._uploads.clear()

    def set_users(self, users: Mapping[str, str]) -> None:
        """Replace the users; none: the registry is open."""
        for name, password in users.items():
            if not isinstance(name, str) or not isinstance(password, str) or not name:
                raise ValueError("users must map non-empty names to password strings")
            if ":" in name:
                raise ValueError(f"a user name cannot hold ':' ({name!r})")
        with self._lock:
            self._users = dict(users)

    def put_image(self, repository: str, tag: str) -> str:
        """Store a small made-up image (a config and one layer, unique per repository,
        the same bytes every time) as `repository:tag`; returns its manifest digest."""
        if not NAME.match(repository):
            raise ValueError(f"invalid repository name {repository!r}")
        if not TAG.match(tag):
            raise ValueError(f"invalid tag {tag!r}")
        layer, diff_id = _made_up_layer(repository)
        config = _canonical(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Cmd": ["/sandbox-image"], "Env": [f"SANDBOX_IMAGE={repository}"]},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "history": [{"created_by": f"ecsdeploy sandbox image of {repository}"}],
            }
        )
        manifest = _canonical(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {
                    "mediaType": DOCKER_CONFIG,
                    "size": len(config),
                    "digest": digest_of(config),
                },
                "layers": [
                    {"mediaType": DOCKER_LAYER, "size": len(layer), "digest": digest_of(layer)}
                ],
            }
        )
        digest = digest_of(manifest)
        with self._lock:
            repo = self._repos.setdefault(repository, Repository())
            for blob in (config, layer):
                self._blobs[digest_of(blob)] = blob
                repo.blobs.add(digest_of(blob))
            repo.manifests[digest] = (DOCKER_MANIFEST, manifest)
            repo.tags[tag] = digest
        return digest

    def describe(self) -> dict[str, Any]:
        """Repositories with their tags (name -> digest), for debugging and tests."""
        with self._lock:
            return {
                "auth": bool(self._users),
                "users": sorted(self._users),
                "repositories": {
                    name: {
                        "tags": dict(sorted(repo.tags.items())),
                        "manifests": len(repo.manifests),
                        "blobs": len(repo.blobs),
                    }
                    for name, repo in sorted(self._repos.items())
                    if not repo.empty
                },
            }

    # -- the API ----------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        try:
            self._authorize(request)
            return self._route(request)
        except RegistryError as exc:
            return _error(exc, request.method)

    def _authorize(self, request: Request) -> None:
        with self._lock:
            users = dict(self._users)
        if not users:
            return
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                name, sep, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                name, sep, password = "", "", ""
            known = users.get(name)
            if sep and known is not None and hmac.compare_digest(known, password):
                return
            raise RegistryError("UNAUTHORIZED", "authentication required: wrong user or password")
        raise RegistryError("UNAUTHORIZED", "authentication required")

    def _route(self, r: Request) -> Reply:
        if r.path in ("/v2", "/v2/"):
            if r.method not in ("GET", "HEAD"):
                raise RegistryError("UNSUPPORTED", "the operation is unsupported")
            return _json(r.method, {})
        if r.path == _CATALOG and r.method == "GET":
            with self._lock:
                names = sorted(n for n, repo in self._repos.items() if not repo.empty)
            return _json(r.method, {"repositories": names})
        found = _MANIFESTS.match(r.path)
        if found:
            return self._manifest(r, _name(found["name"]), found["ref"])
        found = _UPLOADS.match(r.path)
        if found:
            return self._upload(r, _name(found["name"]), found["uuid"])
        found = _BLOBS.match(r.path)
        if found:
            return self._blob(r, _name(found["name"]), found["digest"])
        found = _TAGS.match(r.path)
        if found and r.method == "GET":
            return self._tags(r, _name(found["name"]))
        raise RegistryError("UNSUPPORTED", f"the operation is unsupported: {r.method} {r.path}")

    # -- manifests --------------------------------------------------------------------

    def _manifest(self, r: Request, name: str, ref: str) -> Reply:
        by_digest = ref.startswith(("sha256:", "sha512:"))
        if by_digest and not DIGEST.match(ref):
            raise RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content")
        if not by_digest and not TAG.match(ref):
            raise RegistryError("TAG_INVALID", "manifest tag did not match URI", {"tag": ref})
        if r.method in ("GET", "HEAD"):
            return self._get_manifest(r, name, ref, by_digest)
        if r.method == "PUT":
            return self._put_manifest(r, name, ref, by_digest)
        if r.method == "DELETE":
            with self._lock:
                repo = self._repo(name)
                if by_digest:
                    if ref not in repo.manifests:
                        raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", {"digest": ref})
                    del repo.manifests[ref]
                    for tag in [t for t, d in repo.tags.items() if d == ref]:
                        del repo.tags[tag]
                else:
                    if ref not in repo.tags:
                        raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", {"tag": ref})
                    del repo.tags[ref]
            return _reply(202, r.method)
        raise RegistryError("UNSUPPORTED", "the operation is unsupported")

    def _get_manifest(self, r: Request, name: str, ref: str, by_digest: bool) -> Reply:
        accept = _accepted(r.headers.get("accept", ""))
        with self._lock:
            repo = self._repo(name)
            digest = ref if by_digest else repo.tags.get(ref)
            if digest is None or digest not in repo.manifests:
                detail = {"digest": ref} if by_digest else {"tag": ref}
                raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", detail)
            media_type, body = repo.manifests[digest]
            if accept is not None and media_type not in accept:
                # A tag on a list, for a client that takes no lists: the linux/amd64
                # image (else the first), as distribution answers old clients.
                child = _default_child(body) if media_type in LISTS and not by_digest else None
                known = repo.manifests.get(child) if child is not None else None
                if child is not None and known is not None and known[0] in accept:
                    digest = child
                    media_type, body = known
                if media_type not in accept:
                    raise RegistryError(
                        "MANIFEST_UNKNOWN",
                        f"manifest of type {media_type} found, but the Accept header "
                        "does not take it",
                        {"tag": ref} if not by_digest else {"digest": ref},
                    )
        headers = (
            ("Content-Type", media_type),
            ("Docker-Content-Digest", digest),
            ("ETag", f'"{digest}"'),
        )
        return _reply(200, r.method, body, headers)

    def _put_manifest(self, r: Request, name: str, ref: str, by_digest: bool) -> Reply:
        body = r.body
        try:
            data = json.loads(body)
        except ValueError:
            raise RegistryError("MANIFEST_INVALID", "manifest invalid: not JSON") from None
        if not isinstance(data, dict):
            raise RegistryError("MANIFEST_INVALID", "manifest invalid: not a JSON object")
        media_type = r.headers.get("content-type", "").split(";")[0].strip()
        if media_type not in MANIFEST_TYPES:
            declared = data.get("mediaType")
            if isinstance(declared, str) and declared in MANIFEST_TYPES:
                media_type = declared
            elif data.get("schemaVersion") == 2 and "manifests" in data:
                media_type = OCI_INDEX
            elif data.get("schemaVersion") == 2 and "config" in data:
                media_type = OCI_MANIFEST
            else:
                raise RegistryError(
                    "MANIFEST_INVALID",
                    "manifest invalid: only schema 2 (Docker v2, OCI) manifests and lists",
                )
        if data.get("schemaVersion") != 2:
            raise RegistryError("MANIFEST_INVALID", "manifest invalid: schemaVersion must be 2")
        algorithm = ref.split(":", 1)[0] if by_digest else "sha256"
        digest = digest_of(body, algorithm)
        if by_digest and digest != ref:
            raise RegistryError(
                "DIGEST_INVALID", "provided digest did not match uploaded content", {"digest": ref}
            )
        with self._lock:
            repo = self._repos.setdefault(name, Repository())
            for needed in _references(data, media_type):
                have = repo.manifests if media_type in LISTS else repo.blobs
                if needed not in have:
                    raise RegistryError(
                        "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", {"digest": needed}
                    )
            repo.manifests[digest] = (media_type, bytes(body))
            if not by_digest:
                repo.tags[ref] = digest
        headers = (
            ("Location", f"/v2/{name}/manifests/{digest}"),
            ("Docker-Content-Digest", digest),
        )
        return _reply(201, r.method, b"", headers)

    # -- blobs and uploads ------------------------------------------------------------

    def _blob(self, r: Request, name: str, digest: str) -> Reply:
        if not DIGEST.match(digest):
            raise RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content")
        with self._lock:
            repo = self._repos.get(name)
            data = self._blobs.get(digest) if repo is not None and digest in repo.blobs else None
            if data is None:
                raise RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
            if r.method == "DELETE":
                assert repo is not None
                repo.blobs.discard(digest)
                return _reply(202, r.method, b"", (("Docker-Content-Digest", digest),))
        if r.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED", "the operation is unsupported")
        headers = (
            ("Content-Type", "application/octet-stream"),
            ("Docker-Content-Digest", digest),
            ("ETag", f'"{digest}"'),
        )
        return _reply(200, r.method, data, headers)

    def _upload(self, r: Request, name: str, upload_id: str) -> Reply:
        query = {k: v[-1] for k, v in parse_qs(r.query, keep_blank_values=True).items()}
        if not upload_id:
            if r.method != "POST":
                raise RegistryError("UNSUPPORTED", "the operation is unsupported")
            return self._start_upload(r, name, query)
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None or upload.name != name:
                raise RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            if r.method == "GET":
                return self._upload_status(r.method, name, upload_id, upload, 204)
            if r.method == "DELETE":
                del self._uploads[upload_id]
                return _reply(204, r.method)
            if r.method == "PATCH":
                self._append(upload, r)
                return self._upload_status(r.method, name, upload_id, upload, 202)
            if r.method == "PUT":
                self._append(upload, r)
                digest = query.get("digest", "")
                del self._uploads[upload_id]
                return self._store(r.method, name, bytes(upload.data), digest)
        raise RegistryError("UNSUPPORTED", "the operation is unsupported")

    def _start_upload(self, r: Request, name: str, query: Mapping[str, str]) -> Reply:
        mount, source = query.get("mount"), query.get("from")
        with self._lock:
            if mount and source and DIGEST.match(mount):
                other = self._repos.get(source)
                if other is not None and mount in other.blobs and mount in self._blobs:
                    self._repos.setdefault(name, Repository()).blobs.add(mount)
                    return _blob_created(r.method, name, mount)
            if "digest" in query:  # monolithic: the whole blob in this request
                return self._store(r.method, name, r.body, query["digest"])
            upload_id = str(uuid.uuid4())
            upload = self._uploads[upload_id] = Upload(name)
            return self._upload_status(r.method, name, upload_id, upload, 202)

    @staticmethod
    def _append(upload: Upload, r: Request) -> None:
        content_range = r.headers.get("content-range", "")
        if content_range and r.body:
            start = content_range.split("-", 1)[0].strip()
            if not start.isdigit() or int(start) != len(upload.data):
                raise RegistryError(
                    "BLOB_UPLOAD_INVALID",
                    f"blob upload invalid: range {content_range} does not follow byte "
                    f"{len(upload.data)}",
                    status=416,
                )
        upload.data.extend(r.body)

    @staticmethod
    def _upload_status(
        method: str, name: str, upload_id: str, upload: Upload, status: int
    ) -> Reply:
        size = len(upload.data)
        headers = (
            ("Location", f"/v2/{name}/blobs/uploads/{upload_id}"),
            ("Range", f"0-{max(size - 1, 0)}"),
            ("Docker-Upload-UUID", upload_id),
        )
        return _reply(status, method, b"", headers)

    def _store(self, method: str, name: str, data: bytes, digest: str) -> Reply:
        """Keep a finished upload (called with the lock held)."""
        if not DIGEST.match(digest):
            raise RegistryError("DIGEST_INVALID", "digest missing or invalid", {"digest": digest})
        if digest_of(data, digest.split(":", 1)[0]) != digest:
            raise RegistryError(
                "DIGEST_INVALID",
                "provided digest did not match uploaded content",
                {"digest": digest},
            )
        self._blobs[digest] = data
        self._repos.setdefault(name, Repository()).blobs.add(digest)
        return _blob_created(method, name, digest)

    # -- tags -------------------------------------------------------------------------

    def _tags(self, r: Request, name: str) -> Reply:
        query = {k: v[-1] for k, v in parse_qs(r.query).items()}
        with self._lock:
            tags = sorted(self._repo(name).tags)
        last = query.get("last")
        if last:
            tags = [t for t in tags if t > last]
        headers: tuple[tuple[str, str], ...] = ()
        n = query.get("n", "")
        if n.isdigit():
            more = len(tags) > int(n)
            tags = tags[: int(n)]
            if more and tags:
                link = f"/v2/{name}/tags/list?n={n}&last={quote(tags[-1])}"
                headers = (("Link", f'<{link}>; rel="next"'),)
        return _json(r.method, {"name": name, "tags": tags}, headers)

    def _repo(self, name: str) -> Repository:
        repo = self._repos.get(name)
        if repo is None or repo.empty:
            raise RegistryError(
                "NAME_UNKNOWN", "repository name not known to registry", {"name": name}
            )
        return repo


# -- helpers ------------------------------------------------------------------------------


def _name(name: str) -> str:
    if not NAME.match(name) or len(name) > 255:
        raise RegistryError("NAME_INVALID", "invalid repository name", {"name": name})
    return name


def _accepted(header: str) -> frozenset[str] | None:
    """The manifest types an Accept header takes; None: anything (no header, */*)."""
    types = {part.split(";")[0].strip() for part in header.split(",") if part.strip()}
    if not types or "*/*" in types:
        return None
    return frozenset(types)


def _default_child(body: bytes) -> str | None:
    try:
        entries = json.loads(body).get("manifests") or []
    except (ValueError, AttributeError):
        return None
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return str(entry.get("digest"))
    return str(entries[0].get("digest")) if entries else None


def _references(data: dict[str, Any], media_type: str) -> list[str]:
    """What a manifest needs stored first: its config and layers, or a list's manifests."""
    if media_type in LISTS:
        return [str(m.get("digest")) for m in data.get("manifests") or [] if isinstance(m, dict)]
    found = []
    config = data.get("config")
    if isinstance(config, dict):
        found.append(str(config.get("digest")))
    for layer in data.get("layers") or []:
        if isinstance(layer, dict) and layer.get("mediaType") not in FOREIGN_LAYERS:
            found.append(str(layer.get("digest")))
    return found


def _reply(
    status: int, method: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()
) -> Reply:
    """A registry answer; a HEAD gets the headers of the GET (Content-Length too), no body."""
    head = [API_VERSION, *headers, ("Content-Length", str(len(body)))]
    return Reply(status, tuple(head), b"" if method == "HEAD" else body)


def _json(method: str, data: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    body = json.dumps(data).encode()
    return _reply(200, method, body, (("Content-Type", "application/json"), *headers))


def _blob_created(method: str, name: str, digest: str) -> Reply:
    headers = (("Location", f"/v2/{name}/blobs/{digest}"), ("Docker-Content-Digest", digest))
    return _reply(201, method, b"", headers)


def _error(exc: RegistryError, method: str) -> Reply:
    body = json.dumps(
        {"errors": [{"code": exc.code, "message": exc.message, "detail": exc.detail}]}
    ).encode()
    headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
    if exc.code == "UNAUTHORIZED":
        headers.append(("WWW-Authenticate", f'Basic realm="{REALM}"'))
    return _reply(exc.status, method, body, tuple(headers))


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _made_up_layer(repository: str) -> tuple[bytes, str]:
    """A gzipped tar with one small file naming the repository; the same bytes every
    time (no timestamps). Returns the layer and its diff id (the tar's digest)."""
    content = f"ecsdeploy sandbox image of {repository}\n".encode()
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("sandbox-image")
        info.size = len(content)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    raw = tar_bytes.getvalue()
    return gzip.compress(raw, mtime=0), digest_of(raw)
