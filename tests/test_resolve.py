"""ECSDEPLOY_RESOLVE's parsing and mapping (pure logic; the CLI and the sandbox are
covered in tests/execute/test_resolve.py)."""

from __future__ import annotations

import pytest

from ecsdeploy.errors import ExitStatus, InputError
from ecsdeploy.resolve import Resolver


def test_unset_or_empty_maps_nothing() -> None:
    for env in ({}, {"ECSDEPLOY_RESOLVE": ""}, {"ECSDEPLOY_RESOLVE": " , ,"}):
        resolver = Resolver.from_env(env)
        assert not resolver
        assert resolver.url("https://shop.example.com/healthz") == (
            "https://shop.example.com/healthz",
            None,
        )
        assert resolver.registry_base("registry.example.com") is None


def test_url_keeps_path_and_query_and_gives_the_host_header() -> None:
    resolver = Resolver.parse("shop.example.com=http://127.0.0.1:4566")
    assert resolver.url("https://shop.example.com/healthz?deep=1") == (
        "http://127.0.0.1:4566/healthz?deep=1",
        "shop.example.com",
    )
    # A host without a port maps every port; the Host header keeps the port.
    assert resolver.url("https://shop.example.com:8443/") == (
        "http://127.0.0.1:4566/",
        "shop.example.com:8443",
    )
    assert resolver.url("https://SHOP.example.com/x")[0] == "http://127.0.0.1:4566/x"
    assert resolver.url("https://api.example.com/x") == ("https://api.example.com/x", None)


def test_a_host_with_a_port_maps_that_port_only() -> None:
    resolver = Resolver.parse(
        "127.0.0.1:5556=http://127.0.0.1:4566, tutum.co=https://mirror.internal:8443"
    )
    assert resolver.registry_base("127.0.0.1:5556") == "http://127.0.0.1:4566"
    assert resolver.registry_base("127.0.0.1:5557") is None
    assert resolver.registry_base("tutum.co") == "https://mirror.internal:8443"
    assert resolver.push_host("tutum.co") == "mirror.internal:8443"
    assert resolver.push_host("127.0.0.1:5556") == "127.0.0.1:4566"


def test_notes_name_only_the_mapped_hosts_used() -> None:
    resolver = Resolver.parse(
        "registry.example.com=http://127.0.0.1:4566,shop.example.com=http://127.0.0.1:4566/"
    )
    assert resolver.notes(
        ["registry.example.com", "ghcr.io"],
        ["https://shop.example.com/healthz", "https://shop.example.com/ready", "https://x.io/"],
    ) == [
        "registry registry.example.com goes to http://127.0.0.1:4566 (ECSDEPLOY_RESOLVE)",
        "checks for shop.example.com go to http://127.0.0.1:4566 (ECSDEPLOY_RESOLVE)",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("registry.example.com", "bad pair `registry.example.com`: it is not HOST=URL"),
        ("=http://127.0.0.1", "bad pair `=http://127.0.0.1`: `` is not a host name"),
        ("a.example.com/x=http://127.0.0.1", "`a.example.com/x` is not a host name"),
        ("a.example.com=127.0.0.1:4566", "`127.0.0.1:4566` is not an http:// or https:// URL"),
        ("a.example.com=http://", "`http://` is not an http:// or https:// URL"),
        ("a.example.com=http://127.0.0.1:4566/v2", "has a path or query"),
        ("a.example.com=http://127.0.0.1:99999", "`http://127.0.0.1:99999` has a bad port"),
        ("a.example.com=http://u:pw@127.0.0.1", "`http://…@127.0.0.1` holds credentials"),
        ("a.example.com=http://x,A.example.com=http://y", "`a.example.com` is mapped twice"),
    ],
)
def test_malformed_values_are_input_errors(value: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        Resolver.from_env({"ECSDEPLOY_RESOLVE": value})
    assert caught.value.exit_status == ExitStatus.INVALID
    text = "\n".join(caught.value.lines())
    assert message in text
    assert text.startswith("ECSDEPLOY_RESOLVE: bad pair")
    assert "pw@" not in text


def test_every_bad_pair_is_named_at_once() -> None:
    with pytest.raises(InputError) as caught:
        Resolver.parse("a.example.com,b.example.com=ftp://x,c.example.com=http://ok")
    assert len(caught.value.problems) == 2
