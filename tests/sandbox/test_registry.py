"""The sandbox's Docker registry (Registry HTTP API V2), over real sockets: the Docker
engine's `docker push`, ecsdeploy's RegistryClient, and the API's corners by hand."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import requests

from ecsdeploy.adapters.credentials import Credentials
from ecsdeploy.adapters.registry import ACCEPT, RegistryClient
from ecsdeploy.errors import OperationError
from ecsdeploy.resolve import Resolver
from ecsdeploy.sandbox.control import SandboxClient
from tests.fixtures.sandbox import SandboxHandle

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Api:
    """Plain HTTP against the sandbox's registry (no proxy: it is on 127.0.0.1)."""

    def __init__(self, base: str, auth: tuple[str, str] | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = auth

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        return self.session.request(method, url, timeout=10, **kwargs)

    def blob(self, name: str, data: bytes) -> str:
        digest = _digest(data)
        answer = self("POST", f"/v2/{name}/blobs/uploads/", params={"digest": digest}, data=data)
        assert answer.status_code == 201, answer.text
        return digest


def _error(answer: requests.Response) -> str:
    errors = answer.json()["errors"]
    assert len(errors) == 1
    return str(errors[0]["code"])


@pytest.fixture
def api(sandbox: SandboxHandle) -> Api:
    return Api(sandbox.endpoint_url)


def _image_manifest(api: Api, name: str, media_type: str = DOCKER_V2, seed: bytes = b"") -> bytes:
    config = api.blob(name, b'{"architecture":"amd64","os":"linux"}' + seed)
    layer = api.blob(name, b"layer bytes" + seed)
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": "application/octet-stream", "size": 1, "digest": config},
            "layers": [{"mediaType": "application/octet-stream", "size": 1, "digest": layer}],
        }
    ).encode()


# -- the version check and auth ---------------------------------------------------------


def test_version_check_is_open_without_users(api: Api) -> None:
    answer = api("GET", "/v2/")
    assert answer.status_code == 200
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert answer.json() == {}


def test_basic_auth_required_once_users_are_set(sandbox: SandboxHandle, api: Api) -> None:
    client = SandboxClient(sandbox.endpoint_url)
    client.registry_users({"deploy": "s3cret"})
    answer = api("GET", "/v2/")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="ecsdeploy-sandbox"'
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert _error(answer) == "UNAUTHORIZED"
    wrong = api("GET", "/v2/shop/web/tags/list", auth=("deploy", "nope"))
    assert wrong.status_code == 401 and _error(wrong) == "UNAUTHORIZED"
    assert "wrong user or password" in wrong.json()["errors"][0]["message"]
    unknown = api("GET", "/v2/", auth=("someone", "s3cret"))
    assert unknown.status_code == 401
    assert api("GET", "/v2/", auth=("deploy", "s3cret")).status_code == 200
    # The control side lists users, never passwords.
    described = client.registry()
    assert described["users"] == ["deploy"] and "s3cret" not in json.dumps(described)
    client.registry_users({})  # replaced by none: open again
    assert api("GET", "/v2/").status_code == 200


def test_aws_calls_still_reach_moto(sandbox: SandboxHandle) -> None:
    """Registry paths are taken only for unsigned requests; AWS goes on as before."""
    sandbox.control.put_image("shop/web", "main")
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName="shop")
    assert ecs.list_clusters()["clusterArns"][0].endswith("cluster/shop")


# -- ecsdeploy's RegistryClient ---------------------------------------------------------


def test_registry_client_digest_retag_and_put_manifest(sandbox: SandboxHandle) -> None:
    control = SandboxClient(sandbox.endpoint_url)
    digest = control.put_image("shop/web", "main")
    assert control.put_image("shop/web", "main") == digest  # the same bytes every time
    assert control.put_image("shop/worker", "main") != digest  # unique per repository
    control.registry_users({"deploy": "s3cret"})
    resolver = Resolver.parse(f"registry.example.com={sandbox.endpoint_url}")
    client = RegistryClient(
        "registry.example.com", credentials=Credentials("deploy", "s3cret"), resolver=resolver
    )
    assert client.digest("shop/web", "main") == digest
    assert client.digest("shop/web", "bbbbbbb") is None
    assert client.retag("shop/web", "main", "bbbbbbb") == digest
    assert client.digest("shop/web", "bbbbbbb") == digest
    manifest = client.get_manifest("shop/web", digest)
    assert manifest.media_type == DOCKER_V2 and _digest(manifest.body) == digest
    assert client.put_manifest("shop/web", "release-2", manifest) == digest
    tags = control.registry()["repositories"]["shop/web"]["tags"]
    assert tags == {"bbbbbbb": digest, "main": digest, "release-2": digest}


def test_registry_client_refused_without_or_with_wrong_credentials(
    sandbox: SandboxHandle,
) -> None:
    sandbox.control.put_image("shop/web", "main")
    sandbox.control.registry_users({"deploy": "s3cret"})
    host = f"127.0.0.1:{sandbox.control.port}"
    anonymous = RegistryClient(host, insecure=True)
    with pytest.raises(OperationError) as caught:
        anonymous.digest("shop/web", "main")
    assert f"looking up shop/web:main: {host} answered 401 Unauthorized" in caught.value.message
    assert "needs credentials" in str(caught.value.hint)
    wrong = RegistryClient(host, insecure=True, credentials=Credentials("deploy", "nope"))
    with pytest.raises(OperationError) as caught:
        wrong.digest("shop/web", "main")
    assert "401 Unauthorized" in caught.value.message
    assert "refused the credentials" in str(caught.value.hint)


def test_unknown_manifests_and_repositories(sandbox: SandboxHandle, api: Api) -> None:
    sandbox.control.put_image("shop/web", "main")
    unknown_tag = api("GET", "/v2/shop/web/manifests/nope", headers={"Accept": ACCEPT})
    assert unknown_tag.status_code == 404 and _error(unknown_tag) == "MANIFEST_UNKNOWN"
    unknown_repo = api("GET", "/v2/shop/nothing/manifests/main")
    assert unknown_repo.status_code == 404 and _error(unknown_repo) == "NAME_UNKNOWN"
    assert api("GET", "/v2/shop/nothing/tags/list").status_code == 404
    missing_blob = api("HEAD", f"/v2/shop/web/blobs/{_digest(b'never')}")
    assert missing_blob.status_code == 404 and missing_blob.content == b""
    assert _error(api("GET", f"/v2/shop/web/blobs/{_digest(b'never')}")) == "BLOB_UNKNOWN"
    client = RegistryClient(f"127.0.0.1:{sandbox.control.port}", insecure=True)
    assert client.digest("shop/web", "nope") is None
    with pytest.raises(OperationError, match=r"shop/web:nope does not exist"):
        client.get_manifest("shop/web", "nope")


# -- the API by hand ----------------------------------------------------------------------


def test_chunked_upload_and_digest_checks(api: Api) -> None:
    start = api("POST", "/v2/shop/web/blobs/uploads/")
    assert start.status_code == 202
    location = start.headers["Location"]
    assert location.startswith("/v2/shop/web/blobs/uploads/")
    assert start.headers["Range"] == "0-0" and start.headers["Docker-Upload-UUID"]
    first = api("PATCH", location, data=b"hello ", headers={"Content-Range": "0-5"})
    assert first.status_code == 202 and first.headers["Range"] == "0-5"
    out_of_order = api("PATCH", location, data=b"x", headers={"Content-Range": "3-3"})
    assert out_of_order.status_code == 416
    # A chunked request body (no Content-Length), as the Docker engine sends it.
    second = api("PATCH", location, data=iter([b"wor", b"ld"]))
    assert second.status_code == 202 and second.headers["Range"] == "0-10"
    assert api("GET", location).status_code == 204
    wrong = api("PUT", location, params={"digest": _digest(b"other")})
    assert wrong.status_code == 400 and _error(wrong) == "DIGEST_INVALID"
    # A failed completion ends the upload, as distribution does.
    assert _error(api("GET", location)) == "BLOB_UPLOAD_UNKNOWN"

    again = api("POST", "/v2/shop/web/blobs/uploads/").headers["Location"]
    api("PATCH", again, data=b"hello ")
    done = api("PUT", again, params={"digest": _digest(b"hello world")}, data=b"world")
    assert done.status_code == 201
    assert done.headers["Docker-Content-Digest"] == _digest(b"hello world")
    assert done.headers["Location"] == f"/v2/shop/web/blobs/{_digest(b'hello world')}"
    blob = api("GET", done.headers["Location"])
    assert blob.content == b"hello world"
    head = api("HEAD", done.headers["Location"])
    assert head.status_code == 200 and head.headers["Content-Length"] == "11"
    assert head.content == b""


def test_cross_repository_mount(api: Api) -> None:
    digest = api.blob("shop/web", b"shared layer")
    # Blobs are linked per repository: not visible in another until mounted there.
    assert api("HEAD", f"/v2/shop/api/blobs/{digest}").status_code == 404
    mounted = api(
        "POST", "/v2/shop/api/blobs/uploads/", params={"mount": digest, "from": "shop/web"}
    )
    assert mounted.status_code == 201
    assert mounted.headers["Location"] == f"/v2/shop/api/blobs/{digest}"
    assert api("HEAD", f"/v2/shop/api/blobs/{digest}").status_code == 200
    absent = _digest(b"absent")
    fallback = api(
        "POST", "/v2/shop/api/blobs/uploads/", params={"mount": absent, "from": "shop/web"}
    )
    assert fallback.status_code == 202  # an ordinary upload starts instead
    assert "/blobs/uploads/" in fallback.headers["Location"]


def test_manifest_put_get_delete(api: Api) -> None:
    manifest = _image_manifest(api, "shop/web")
    digest = _digest(manifest)
    put = api(
        "PUT", "/v2/shop/web/manifests/v1", data=manifest, headers={"Content-Type": DOCKER_V2}
    )
    assert put.status_code == 201 and put.headers["Docker-Content-Digest"] == digest
    for ref in ("v1", digest):
        got = api("GET", f"/v2/shop/web/manifests/{ref}", headers={"Accept": ACCEPT})
        assert got.status_code == 200 and got.content == manifest
        assert got.headers["Content-Type"] == DOCKER_V2
        assert got.headers["Docker-Content-Digest"] == digest
    head = api("HEAD", "/v2/shop/web/manifests/v1", headers={"Accept": ACCEPT})
    assert head.headers["Content-Length"] == str(len(manifest)) and head.content == b""
    # By digest, the body must match it.
    bad = api(
        "PUT",
        f"/v2/shop/web/manifests/{_digest(b'x')}",
        data=manifest,
        headers={"Content-Type": DOCKER_V2},
    )
    assert bad.status_code == 400 and _error(bad) == "DIGEST_INVALID"
    # Every blob a manifest names must be in the repository first.
    orphan = json.loads(manifest)
    orphan["layers"][0]["digest"] = _digest(b"not uploaded")
    missing = api(
        "PUT",
        "/v2/shop/web/manifests/v2",
        data=json.dumps(orphan).encode(),
        headers={"Content-Type": DOCKER_V2},
    )
    assert missing.status_code == 400 and _error(missing) == "MANIFEST_BLOB_UNKNOWN"
    assert _error(api("PUT", "/v2/shop/web/manifests/v3", data=b"{oops")) == "MANIFEST_INVALID"
    api("PUT", "/v2/shop/web/manifests/v2", data=manifest, headers={"Content-Type": DOCKER_V2})
    assert api("GET", "/v2/shop/web/tags/list").json() == {"name": "shop/web", "tags": ["v1", "v2"]}
    assert api("DELETE", "/v2/shop/web/manifests/v1").status_code == 202  # the tag only
    assert api("GET", "/v2/shop/web/tags/list").json()["tags"] == ["v2"]
    assert api("DELETE", f"/v2/shop/web/manifests/{digest}").status_code == 202
    assert api("GET", "/v2/shop/web/tags/list").json()["tags"] == []
    gone = api("GET", f"/v2/shop/web/manifests/{digest}")
    assert gone.status_code == 404 and _error(gone) == "MANIFEST_UNKNOWN"


def test_accept_negotiation(api: Api) -> None:
    oci = _image_manifest(api, "shop/web", OCI_MANIFEST)
    api("PUT", "/v2/shop/web/manifests/oci", data=oci, headers={"Content-Type": OCI_MANIFEST})
    docker_only = api("GET", "/v2/shop/web/manifests/oci", headers={"Accept": DOCKER_V2})
    assert docker_only.status_code == 404 and _error(docker_only) == "MANIFEST_UNKNOWN"
    assert "does not take it" in docker_only.json()["errors"][0]["message"]
    assert api("GET", "/v2/shop/web/manifests/oci").status_code == 200  # no Accept: as stored

    amd64 = _image_manifest(api, "shop/web", seed=b"amd64")
    arm64 = _image_manifest(api, "shop/web", seed=b"arm64")
    for body in (amd64, arm64):
        api("PUT", f"/v2/shop/web/manifests/{_digest(body)}", data=body)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST,
            "manifests": [
                {
                    "mediaType": DOCKER_V2,
                    "digest": _digest(arm64),
                    "size": len(arm64),
                    "platform": {"os": "linux", "architecture": "arm64"},
                },
                {
                    "mediaType": DOCKER_V2,
                    "digest": _digest(amd64),
                    "size": len(amd64),
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
            ],
        }
    ).encode()
    put = api(
        "PUT", "/v2/shop/web/manifests/multi", data=index, headers={"Content-Type": DOCKER_LIST}
    )
    assert put.status_code == 201
    as_list = api("GET", "/v2/shop/web/manifests/multi", headers={"Accept": ACCEPT})
    assert as_list.headers["Content-Type"] == DOCKER_LIST and as_list.content == index
    # A client that takes no lists gets the linux/amd64 image, as from distribution.
    single = api("GET", "/v2/shop/web/manifests/multi", headers={"Accept": DOCKER_V2})
    assert single.status_code == 200 and single.content == amd64
    assert single.headers["Docker-Content-Digest"] == _digest(amd64)


def test_tag_list_pages(api: Api, sandbox: SandboxHandle) -> None:
    for tag in ("c", "a", "b"):
        sandbox.control.put_image("shop/web", tag)
    page = api("GET", "/v2/shop/web/tags/list", params={"n": 2})
    assert page.json()["tags"] == ["a", "b"]
    assert page.headers["Link"] == '</v2/shop/web/tags/list?n=2&last=b>; rel="next"'
    rest = api("GET", "/v2/shop/web/tags/list", params={"n": 2, "last": "b"})
    assert rest.json()["tags"] == ["c"] and "Link" not in rest.headers
    assert api("GET", "/v2/_catalog").json() == {"repositories": ["shop/web"]}
    assert _error(api("GET", "/v2/Shop/Web/tags/list")) == "NAME_INVALID"


def test_control_endpoints_refuse_bad_input(sandbox: SandboxHandle, api: Api) -> None:
    base = sandbox.endpoint_url + "/_sandbox/registry"
    bad_name = api("POST", f"{base}/images", json={"repository": "Shop/Web", "tag": "main"})
    assert bad_name.status_code == 400 and "invalid repository name" in bad_name.json()["error"]
    missing = api("POST", f"{base}/images", json={"repository": "shop/web"})
    assert missing.status_code == 400 and "tag" in missing.json()["error"]
    users = api("POST", f"{base}/users", json={"users": ["deploy"]})
    assert users.status_code == 400


# -- the Docker engine ---------------------------------------------------------------------


@pytest.mark.docker
def test_docker_push_and_pull(sandbox: SandboxHandle, docker_engine: Any, build_image: Any) -> None:
    """`docker push` of a FROM-scratch image to the sandbox (127.0.0.0/8 is an insecure
    registry to the engine, so plain HTTP), with basic auth; then pulled back, and a
    second repository gets its layer by cross-repository mount."""
    sandbox.control.registry_users({"deploy": "s3cret"})
    address = f"127.0.0.1:{sandbox.control.port}"
    build_image(f"{address}/shop/web:v1", f"{address}/shop/api:v1")
    auth = {"username": "deploy", "password": "s3cret"}
    client = docker_engine.client
    refused = list(client.images.push(f"{address}/shop/web", tag="v1", stream=True, decode=True))
    assert any("error" in line for line in refused), refused
    lines = list(
        client.images.push(
            f"{address}/shop/web", tag="v1", auth_config=auth, stream=True, decode=True
        )
    )
    assert not any("error" in line for line in lines), lines
    digest = next(line["aux"]["Digest"] for line in lines if "aux" in line)
    registry = RegistryClient(address, insecure=True, credentials=Credentials("deploy", "s3cret"))
    assert registry.digest("shop/web", "v1") == digest
    repo_digests = client.images.get(f"{address}/shop/web:v1").attrs["RepoDigests"]
    assert f"{address}/shop/web@{digest}" in repo_digests

    second = list(
        client.images.push(
            f"{address}/shop/api", tag="v1", auth_config=auth, stream=True, decode=True
        )
    )
    assert any(str(line.get("status", "")).startswith("Mounted from") for line in second), second
    assert registry.digest("shop/api", "v1") == digest

    client.images.remove(f"{address}/shop/web:v1")
    pulled = client.images.pull(f"{address}/shop/web", tag="v1", auth_config=auth)
    assert f"{address}/shop/web@{digest}" in pulled.attrs["RepoDigests"]
