"""Mutators: generic byte mutations plus JSON-, karmor- and config-aware ones (seeded, no I/O)."""

from __future__ import annotations

import random
import re
from typing import Callable, List

from tests.fuzz.corpus import HOSTILE_SCALARS

_NUM = re.compile(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_KEY = re.compile(rb'"([A-Za-z_.]+)"\s*:')
_STR = re.compile(rb'"([^"\\]{0,40})"')
_SCHEMES = [b"https://", b"http://", b"ftp://", b"file://", b"javascript:", b"HTTP://", b"http:/", b"//", b"h\x00ttp://",
            b"https://user:pw@", b"http://127.0.0.1.", b"http://[::1]", b"ws://", b""]
_HOSTS = [b"127.0.0.1", b"localhost", b"[::1]", b"example.com", b"0", b"127.1", b"2130706433", b"[::ffff:127.0.0.1]",
          b"xn--e1afmkfd.xn--p1ai", b"a" * 300, b"h\tost", b"h ost", b"%31%32%37.0.0.1", b"localhost.", b"..", b""]
_PATHS = [b"../../../../etc/passwd", b"/dev/zero", b"\\\\server\\share", b"C:\\x", b"~/.ssh/id_rsa", b"\x00",
          b"/tmp/" + b"a" * 5000, b"file:/etc", b"es:http://[::1", b"hec:", b"stdout", b"con"]
_KARMOR_KEYS = [b"ClusterName", b"HostName", b"Owner", b"ATags", b"HostPID", b"PID", b"Severity", b"Type",
                b"Operation", b"Resource", b"Data", b"Timestamp", b"UpdatedTime", b"Cluster Name", b"EventData"]


def _rand_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def flip(rng: random.Random, d: bytes) -> bytes:
    if not d:
        return _rand_bytes(rng, rng.randint(1, 8))
    b = bytearray(d)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def insert(rng: random.Random, d: bytes) -> bytes:
    i = rng.randint(0, len(d))
    piece = rng.choice([_rand_bytes(rng, rng.randint(1, 6)), b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\",
                        b"\n", b"\r\n", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b" " * 50])
    return d[:i] + piece + d[i:]


def delete(rng: random.Random, d: bytes) -> bytes:
    if len(d) < 2:
        return d
    i = rng.randrange(len(d))
    return d[:i] + d[i + rng.randint(1, min(64, len(d) - i)):]


def truncate(rng: random.Random, d: bytes) -> bytes:
    return d[: rng.randint(0, len(d))]


def duplicate_span(rng: random.Random, d: bytes) -> bytes:
    if not d:
        return d
    i = rng.randrange(len(d))
    j = min(len(d), i + rng.randint(1, 200))
    return d[:j] + d[i:j] * rng.randint(1, 3) + d[j:]


def number(rng: random.Random, d: bytes) -> bytes:
    spans = [m.span() for m in _NUM.finditer(d)]
    if not spans:
        return insert(rng, d)
    a, b = rng.choice(spans)
    return d[:a] + rng.choice(HOSTILE_SCALARS) + d[b:]


def value(rng: random.Random, d: bytes) -> bytes:
    spans = [m.span() for m in _STR.finditer(d)]
    if not spans:
        return number(rng, d)
    a, b = rng.choice(spans)
    return d[:a] + rng.choice(HOSTILE_SCALARS + [b'{"a": {"b": [1, {"c": null}]}}', b'[1, "2", [3]]',
                                                b'"' + b"x" * rng.randint(100, 5000) + b'"']) + d[b:]


def dup_key(rng: random.Random, d: bytes) -> bytes:
    keys = list(_KEY.finditer(d))
    if not keys:
        return insert(rng, d)
    m = rng.choice(keys)
    i = d.find(b"{")
    if i < 0:
        return d
    return d[: i + 1] + m.group(0) + rng.choice(HOSTILE_SCALARS) + b", " + d[i + 1:]


def nest(rng: random.Random, d: bytes) -> bytes:
    depth = rng.choice([10, 100, 127, 128, 129, 500, 5000])
    kind = rng.random()
    if kind < 0.4:
        return b"[" * depth + d + b"]" * depth
    if kind < 0.8:
        inner = b'{"a":' * depth + b"1" + b"}" * depth
        i = d.find(b"{")
        return d[: i + 1] + b'"Resource": ' + inner + b", " + d[i + 1:] if i >= 0 else inner
    return b"[" * depth  # never closed


def splice(rng: random.Random, d: bytes, other: bytes) -> bytes:
    i = rng.randint(0, len(d))
    j = rng.randint(0, len(other))
    return d[:i] + other[j:]


def karmor_line(rng: random.Random, d: bytes) -> bytes:
    lines = d.split(b"\n")
    i = rng.randrange(len(lines) + 1)
    new = rng.choice([
        rng.choice(_KARMOR_KEYS) + b": " + rng.choice(HOSTILE_SCALARS),
        rng.choice(_KARMOR_KEYS) + b": map[" + b"K:V " * rng.randint(0, 50),
        rng.choice(_KARMOR_KEYS) + b": [" + b"a " * rng.randint(0, 50) + b"]",
        b"== Alert / " + rng.choice([b"2023-03-22 06:40:00.241489", b"garbage", b"", b"9999-99-99 99:99:99"]) + b" ==",
        b"== Log /  ==", b"=====", b"### SOURCE: x", b"# comment", b"", b"WARN Failed to send a log=[Timestamp:1 ]",
        b'{"ClusterName": "x", "Timestamp": 1}', b"Key without colon", b":" * rng.randint(1, 5),
    ])
    lines.insert(i, new)
    return b"\n".join(lines)


def config_field(rng: random.Random, d: bytes) -> bytes:
    piece = rng.choice([
        rng.choice(_SCHEMES) + rng.choice(_HOSTS) + rng.choice([b"", b":443", b":0", b":99999", b":-1", b"/p", b"?q",
                                                                 b"#f", b"/../..", b":80@evil"]),
        rng.choice(_PATHS), rng.choice(HOSTILE_SCALARS), b"-1", b"0", b"1e9", b"10x", b"24 h", b"\xff\xfe",
        b"A=B", b"!=x", b"~=(", b"a" * rng.randint(0, 3000),
    ])
    lines = d.split(b"\n")
    i = rng.randrange(len(lines))
    line = lines[i]
    if b"=" in line and rng.random() < 0.7:
        k, _, _ = line.partition(b"=")
        quoted = rng.random() < 0.7
        lines[i] = k + b"= " + (b'"' + piece.replace(b'"', b"'") + b'"' if quoted else piece)
    else:
        lines[i] = piece
    return b"\n".join(lines)


GENERIC: List[Callable[[random.Random, bytes], bytes]] = [flip, insert, delete, truncate, duplicate_span, number,
                                                          value, dup_key, nest]


def mutate(rng: random.Random, d: bytes, target: str, pool: List[bytes]) -> bytes:
    """1-4 stacked mutations of ``d`` suited to ``target``."""
    ops = list(GENERIC)
    if target == "karmor_text" or (target == "parser" and d[:2] == b"=="):
        ops += [karmor_line] * 4
    if target.startswith("config"):
        ops += [config_field] * 6
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.08 and pool:
            d = splice(rng, d, rng.choice(pool))
        else:
            d = rng.choice(ops)(rng, d)
        if len(d) > 1 << 20:  # keep ordinary inputs small; the huge ones are made on purpose
            d = d[: 1 << 20]
    return d
