"""URL policy for every outbound HTTP endpoint the package talks to.

Consumes a URL string from configuration; produces the same URL normalised
(scheme and host lower-cased, trailing ``/`` removed) or raises
:class:`~integrations.errors.ConfigError` naming the setting. Used by the
AccuKnox API client and reusable by sinks (HEC, Elasticsearch) so the rule is
written once:

* ``https://`` with a host is accepted;
* plain ``http://`` only for loopback hosts (``127.0.0.0/8``, ``::1``,
  ``localhost``) – the fake servers of the test suite and a local relay;
* everything else (``ftp:``, ``file:``, ``http://`` to another host, a missing
  host, credentials in the URL, a query or fragment, a bad port) is refused.

Messages never repeat a password that was put in the URL by mistake.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from integrations.errors import ConfigError

__all__ = ["check_url", "is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and IP literals in 127.0.0.0/8 or ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, setting: str = "base URL") -> str:
    """Validate ``url`` against the policy above and return it normalised.

    ``setting`` is the configuration name used in error messages
    (``api_url``, ``hec_url``, ...).
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{setting}: a URL is required (for example https://cwpp.demo.accuknox.com)")
    raw = url.strip()
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in raw):
        raise ConfigError(f"{setting}: the URL contains spaces or control characters")
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise ConfigError(f"{setting}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if "@" in parts.netloc:
        # Never echo the URL itself: the part before '@' may hold a password.
        raise ConfigError(
            f"{setting}: credentials in the URL are not allowed; configure the token separately "
            f"(scheme={scheme or '?'}, host={parts.hostname or '?'})"
        )
    host = parts.hostname or ""
    if scheme not in ("https", "http"):
        shown = scheme + ":" if scheme else "no scheme"
        raise ConfigError(f"{setting}: only https:// URLs are accepted, got {shown} ({raw!r})")
    if not host:
        raise ConfigError(f"{setting}: the URL has no host ({raw!r})")
    if scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"{setting}: plain http:// is only allowed for loopback hosts (127.0.0.1, ::1, localhost); "
            f"use https://{host}{'' if port is None else f':{port}'}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{setting}: the URL must not carry a query string or fragment ({raw!r})")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))
