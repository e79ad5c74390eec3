"""URL policy: https everywhere, plain http only for loopback, nothing else."""

from __future__ import annotations

import pytest

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
