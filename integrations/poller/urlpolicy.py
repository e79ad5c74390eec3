"""URL policy for every outbound HTTP endpoint the package talks to.

Consumes a URL string from configuration; produces the same URL normalised
(scheme and host lower-cased, port as a plain number, trailing ``/`` removed)
or raises :class:`~integrations.errors.ConfigError` naming the setting. Used by
the AccuKnox API client and reusable by sinks (HEC, Elasticsearch) so the rule
is written once:

* ``https://`` with a host is accepted;
* plain ``http://`` only for loopback hosts (``127.0.0.0/8``, ``::1``,
  ``localhost``) – the fake servers of the test suite and a local relay;
* everything else is refused: another scheme (``ftp:``, ``file:``), ``http://``
  to another host, credentials in the URL (``user:password@host``), a query or
  fragment, and a malformed authority – a missing host, text after a bracketed
  IPv6 address (``[::1]12``), brackets around anything but an IPv6 address, a
  host name with empty labels or characters DNS does not allow, a numeric host
  that is not a dotted-quad IPv4 address, an empty port (``host:``) or a port
  that is not a number from 1 to 65535.

The URL is split with the generic regular expression of RFC 3986 (appendix B),
which never fails, and the authority (the part between ``//`` and the next
``/``, ``?`` or ``#``) is then checked piece by piece, so each message names the
exact problem.

Messages never repeat a password that was put in the URL by mistake: when the
URL contains ``@`` no part of it is quoted except a host that passed the checks.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Optional, Tuple

from integrations.errors import ConfigError

__all__ = ["check_url", "is_loopback_host"]

#: RFC 3986 appendix B: scheme, authority, path, query, fragment (groups 2, 4, 5, 7, 9).
_URI_RE = re.compile(r"^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$", re.DOTALL)
#: RFC 6874 zone id after ``%25`` inside brackets (unreserved characters).
_ZONE_RE = re.compile(r"[A-Za-z0-9._~-]+")
_HOST_CHARS = "letters, digits, '-', '_' and '.'"


class _Malformed(ValueError):
    """The authority breaks the URL syntax; the message names the problem."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and IP literals in 127.0.0.0/8 or ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_ipv6_literal(literal: str) -> None:
    """The text between ``[`` and ``]``: an IPv6 address, optionally ``%25`` + zone id."""
    address, sep, zone = literal.partition("%25")
    if "%" in address:
        raise _Malformed("a zone id in an IPv6 address must follow '%25' (RFC 6874), as in [fe80::1%25eth0]")
    if sep and not _ZONE_RE.fullmatch(zone):
        raise _Malformed("the zone id after '%25' in the IPv6 address is empty or has invalid characters")
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        raise _Malformed("the text between '[' and ']' is not an IPv6 address") from None


def _check_host_name(host: str) -> None:
    """A DNS name (letters, digits, ``-``, ``_``; labels of 1-63 characters) or a dotted-quad IPv4."""
    name = host[:-1] if host.endswith(".") else host  # a fully-qualified name may end with '.'
    if len(name) > 253:
        raise _Malformed("the host name is longer than 253 characters")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise _Malformed("the host name has an empty label (a leading '.' or '..')")
        if len(label) > 63:
            raise _Malformed("a label of the host name is longer than 63 characters")
        if not all(c.isalnum() or c in "-_" for c in label):
            raise _Malformed(f"the host name contains characters not allowed in a host name ({_HOST_CHARS})")
        if label[0] == "-" or label[-1] == "-":
            raise _Malformed("a label of the host name starts or ends with '-'")
    if labels[-1].isascii() and labels[-1].isdigit():
        # A name ending in a number is read as an IPv4 address by resolvers and browsers.
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            raise _Malformed("the host is not a valid IPv4 address (four numbers from 0 to 255)") from None


def _split_authority(authority: str) -> Tuple[str, Optional[int]]:
    """``host[:port]`` -> (host lower-cased, without brackets; port or ``None``). Raises :class:`_Malformed`."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _Malformed("the IPv6 address has no closing ']'")
        host, rest = authority[1:end], authority[end + 1:]
        _check_ipv6_literal(host)
        if rest and not rest.startswith(":"):
            raise _Malformed("unexpected text after the bracketed IPv6 address (only ':port' may follow ']')")
        port_text: Optional[str] = rest[1:] if rest else None
    else:
        if "[" in authority or "]" in authority:
            raise _Malformed("brackets are only allowed around a whole IPv6 address, as in https://[2001:db8::1]:443")
        if authority.count(":") > 1:
            raise _Malformed("more than one ':' in the host and port (write an IPv6 address in brackets)")
        host, sep, port_text_ = authority.partition(":")
        port_text = port_text_ if sep else None
        if host:
            _check_host_name(host)
    port: Optional[int] = None
    if port_text is not None:
        if not port_text:
            raise _Malformed("the port after ':' is empty")
        if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
            raise _Malformed("the port must be a number from 1 to 65535")
        port = int(port_text)
    return host.lower(), port


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
    # '@' may introduce a user name and password: then quote nothing of the URL.
    secret = "@" in raw
    shown = "" if secret else f" ({raw!r})"
    match = _URI_RE.match(raw)
    if match is None:  # cannot happen: every group of the RFC 3986 expression is optional
        raise ConfigError(f"{setting}: not a valid URL{shown}")
    scheme = (match.group(2) or "").lower()
    authority = match.group(4)
    if authority is not None and "@" in authority:
        host_part = authority.rpartition("@")[2]
        try:
            host_shown = _split_authority(host_part)[0] or "?"
        except _Malformed:
            host_shown = "?"
        raise ConfigError(
            f"{setting}: credentials in the URL are not allowed; configure the token separately "
            f"(scheme={scheme if scheme in ('https', 'http') else '?'}, host={host_shown})"
        )
    if scheme not in ("https", "http"):
        if secret:
            got = "another scheme (the URL is not shown because it contains '@')"
        else:
            got = scheme + ":" if scheme else "no scheme"
        raise ConfigError(f"{setting}: only https:// URLs are accepted, got {got}{shown}")
    if not authority:
        raise ConfigError(f"{setting}: the URL has no host{shown}")
    try:
        host, port = _split_authority(authority)
    except _Malformed as exc:
        raise ConfigError(f"{setting}: not a valid URL: {exc}{shown}") from None
    if not host:
        raise ConfigError(f"{setting}: the URL has no host{shown}")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    if scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"{setting}: plain http:// is only allowed for loopback hosts (127.0.0.1, ::1, localhost); "
            f"use https://{netloc}"
        )
    if match.group(7) or match.group(9):
        raise ConfigError(f"{setting}: the URL must not carry a query string or fragment{shown}")
    return f"{scheme}://{netloc}{match.group(5).rstrip('/')}"
