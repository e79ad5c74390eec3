"""URL policy: https everywhere, plain http only for loopback, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.errors import ConfigError
from integrations.poller.urlpolicy import check_url, is_loopback_host

ACCEPTED = [
    ("https://cwpp.demo.accuknox.com", "https://cwpp.demo.accuknox.com"),
    ("https://cwpp.demo.accuknox.com/", "https://cwpp.demo.accuknox.com"),
    ("HTTPS://CWPP.Demo.AccuKnox.com:8443/api/", "https://cwpp.demo.accuknox.com:8443/api"),
    ("  https://cwpp.dev.accuknox.com  ", "https://cwpp.dev.accuknox.com"),
    ("https://10.1.2.3", "https://10.1.2.3"),
    ("https://[2001:db8::1]:443", "https://[2001:db8::1]:443"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://127.8.9.10", "http://127.8.9.10"),
    ("http://localhost:9000/", "http://localhost:9000"),
    ("http://LOCALHOST", "http://localhost"),
    ("http://[::1]:5000", "http://[::1]:5000"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ("http://[::1]", "http://[::1]"),
    ("https://[2001:DB8::1]/api", "https://[2001:db8::1]/api"),
    ("https://[fe80::1%25eth0]:9200", "https://[fe80::1%25eth0]:9200"),
    ("https://cwpp.demo.accuknox.com:080", "https://cwpp.demo.accuknox.com:80"),
    ("https://cwpp.demo.accuknox.com:65535", "https://cwpp.demo.accuknox.com:65535"),
    ("https://es_node-1.internal", "https://es_node-1.internal"),
    ("https://cwpp.demo.accuknox.com./api", "https://cwpp.demo.accuknox.com./api"),
    ("https://kubernetes.default", "https://kubernetes.default"),
    ("https://cwpp.demo.accuknox.com/path/@v1", "https://cwpp.demo.accuknox.com/path/@v1"),
]

REFUSED = [
    ("", "required"),
    ("   ", "required"),
    ("cwpp.demo.accuknox.com", "only https"),
    ("ftp://cwpp.demo.accuknox.com", "only https"),
    ("file:///etc/passwd", "only https"),
    ("javascript:alert(1)", "only https"),
    ("http://cwpp.demo.accuknox.com", "loopback"),
    ("http://10.0.0.1", "loopback"),
    ("http://128.0.0.1", "loopback"),
    ("http://localhost.evil.com", "loopback"),
    ("http://[::2]", "loopback"),
    ("https://", "no host"),
    ("https:///path", "no host"),
    ("https://user:hunter2@cwpp.demo.accuknox.com", "credentials"),
    ("https://token@cwpp.demo.accuknox.com", "credentials"),
    ("https://cwpp.demo.accuknox.com?x=1", "query"),
    ("https://cwpp.demo.accuknox.com#frag", "fragment"),
    ("https://cwpp.demo.accuknox.com:99999", "not a valid URL"),
    ("https://cwpp.demo.accuknox.com:port", "not a valid URL"),
    ("https://cwpp.demo accuknox.com", "spaces or control"),
    ("https://cwpp.demo.accuknox.com/\x00", "spaces or control"),
    # malformed authorities: each message names the problem
    ("http://[::1]12", "unexpected text after the bracketed IPv6 address"),
    ("https://[::1]x:80", "unexpected text after the bracketed IPv6 address"),
    ("https://[::1]]", "unexpected text after the bracketed IPv6 address"),
    ("http://[::1", "no closing ']'"),
    ("http://::1]", "brackets are only allowed around a whole IPv6 address"),
    ("http://::1", "write an IPv6 address in brackets"),
    ("https://[127.0.0.1]", "not an IPv6 address"),
    ("https://[v1.x]", "not an IPv6 address"),
    ("https://[]", "not an IPv6 address"),
    ("https://[fe80::1%25]", "zone id"),
    ("https://[fe80::1%eth0]", "must follow '%25'"),
    ("https://:443", "no host"),
    ("https://:443/path", "no host"),
    ("https://cwpp.demo.accuknox.com:", "the port after ':' is empty"),
    ("https://cwpp.demo.accuknox.com:abc", "the port must be a number from 1 to 65535"),
    ("https://cwpp.demo.accuknox.com:99999", "the port must be a number from 1 to 65535"),
    ("https://cwpp.demo.accuknox.com:0", "the port must be a number from 1 to 65535"),
    ("https://cwpp.demo.accuknox.com:-1", "the port must be a number from 1 to 65535"),
    ("https://cwpp.demo.accuknox.com:+443", "the port must be a number from 1 to 65535"),
    ("https://cwpp.demo.accuknox.com:\u0664\u0664\u0663", "the port must be a number from 1 to 65535"),
    ("https://cwpp.demo.accuknox.com:8080:9090", "more than one ':'"),
    ("https://cwpp..accuknox.com", "empty label"),
    ("https://.accuknox.com", "empty label"),
    ("https://cwpp.demo%2eaccuknox.com", "characters not allowed in a host name"),
    ("https://cwpp.demo.accuknox.com\\.evil.com", "characters not allowed in a host name"),
    ("https://-cwpp.accuknox.com", "starts or ends with '-'"),
    ("https://" + "a" * 64 + ".com", "longer than 63"),
    ("https://999.1.2.3", "not a valid IPv4 address"),
    ("https://10.1.2", "not a valid IPv4 address"),
    ("https://cwpp.demo.accuknox.com :443", "spaces or control"),
    ("https://cwpp.demo.accuknox.com/a\tb", "spaces or control"),
    ("https://:hunter2@cwpp.demo.accuknox.com", "credentials"),
    ("https://user:hunter2@[::1]:8080", "credentials"),
    ("https://cwpp.demo.accuknox.com\\@evil.com", "credentials"),
    ("ftp://user:hunter2@cwpp.demo.accuknox.com", "credentials"),
]


@pytest.mark.parametrize(("url", "expected"), ACCEPTED)
def test_accepted(url: str, expected: str) -> None:
    assert check_url(url) == expected


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_refused(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_url(url, setting="api_url")
    message = str(err.value)
    assert message.startswith("api_url: ")
    assert reason in message


def test_password_in_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        check_url("https://admin:s3cr3t-pass@cwpp.demo.accuknox.com")
    assert "s3cr3t-pass" not in str(err.value)
    assert "cwpp.demo.accuknox.com" in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://admin:s3cr3t-pass@cwpp.demo.accuknox.com",
        "https://admin:s3cr3t-pass@cwpp.demo.accuknox.com:99999",
        "https://admin:s3cr3t-pass@[::1]12",
        "https://admin:s3cr3t-pass@",
        "ftp://admin:s3cr3t-pass@cwpp.demo.accuknox.com",
        "admin:s3cr3t-pass@cwpp.demo.accuknox.com",  # scheme forgotten: 'admin' parses as the scheme
        "https://admin:s3cr3t/pass@cwpp.demo.accuknox.com",  # '/' in the password ends the authority early
        "https://admin:s3cr3t-pass@cwpp.demo.accuknox.com?x=1",
        "http://admin:s3cr3t-pass@cwpp.demo.accuknox.com",
    ],
)
def test_userinfo_is_never_echoed(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_url(url, setting="api_url")
    message = str(err.value)
    assert message.startswith("api_url: ")
    assert "s3cr3t" not in message
    assert "admin" not in message


def test_ipv6_loopback_http_with_port_and_path() -> None:
    assert check_url("http://[::1]:8080/x", setting="hec_url") == "http://[::1]:8080/x"
    assert is_loopback_host("[::1]")


def test_http_refusal_suggests_a_bracketed_https_url() -> None:
    with pytest.raises(ConfigError, match=r"use https://\[2001:db8::1\]:8080"):
        check_url("http://[2001:db8::1]:8080")


_URL_PIECES = st.sampled_from([
    "https://", "http://", "HTTP://", "ftp://", "//", "[", "]", "::1", "[::1]", "127.0.0.1", "localhost", "example.com",
    ":", ":8080", ":0", ":99999", "@", "user:pw@", "/", "/x", "?", "#", "%25", ".", "..", "-", "_", " ", "\\", "\u00fc",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_URL_PIECES, max_size=8).map("".join))
def test_any_text_is_refused_cleanly_or_normalised_to_a_fixed_point(url: str) -> None:
    try:
        normalised = check_url(url, setting="api_url")
    except ConfigError as err:
        assert str(err).startswith("api_url: ")
        assert "pw" not in str(err)  # the password of 'user:pw@' is never repeated
        return
    assert normalised.startswith(("https://", "http://"))
    assert check_url(normalised) == normalised


def test_non_string_is_refused() -> None:
    with pytest.raises(ConfigError):
        check_url(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.255.255.254", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("10.0.0.1", False), ("example.com", False)],  # noqa: S104
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
