"""The search-language subset of our ``eventtypes.conf`` (test support).

Supported: ``field=value`` (``*`` wildcards; ``"quoted values"``), ``field IN (v1, v2)``,
``NOT``, ``AND`` (also implicit between terms), ``OR`` and parentheses. Values
match case-insensitively, field names case-sensitively, and a multivalue field
matches when any value does (Splunk's search semantics). A term on a missing
field is false, so ``NOT field=x`` matches events without ``field``.

ASSUMPTION: ``field=*`` matches only a non-empty value (an empty extracted
value counts as absent). The renderer uses ``field=*`` only where the Python
mapper's own rule is "non-empty".
"""

from __future__ import annotations

import re
from typing import Any, Callable, List, Mapping, Tuple

from . import SplError

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>!=|=|\(|\)|,)|(?P<word>[^\s()=,!"]+))')


def _tokens(text: str) -> List[Tuple[str, str]]:
    out: List[Tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SplError(f"search: cannot read {text[pos:pos + 30]!r}")
        pos = m.end()
        if m.group("str") is not None:
            out.append(("value", re.sub(r'\\(["\\])', r"\1", m.group("str")[1:-1])))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            out.append(("word", m.group("word")))
    out.append(("end", ""))
    return out


def _wildcard(value: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in value), re.IGNORECASE | re.DOTALL)


def _values(fields: Mapping[str, Any], name: str) -> List[str]:
    v = fields.get(name)
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def _term(name: str, value: str) -> Predicate:
    if value == "*":
        return lambda f: any(v != "" for v in _values(f, name))
    rx = _wildcard(value)
    return lambda f: any(rx.fullmatch(v) is not None for v in _values(f, name))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> Tuple[str, str]:
        return self.toks[self.i]

    def word(self, w: str) -> bool:
        k, v = self.peek()
        return k == "word" and v == w

    def parse(self) -> Predicate:
        p = self.or_()
        if self.peek()[0] != "end":
            raise SplError(f"search: trailing input at token {self.peek()!r} in {self.text!r}")
        return p

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.word("OR"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda f: any(p(f) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while True:
            k, v = self.peek()
            if k == "end" or (k == "op" and v == ")") or (k == "word" and v == "OR"):
                break
            if k == "word" and v == "AND":
                self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else (lambda f: all(p(f) for p in parts))

    def not_(self) -> Predicate:
        if self.word("NOT"):
            self.i += 1
            inner = self.not_()
            return lambda f: not inner(f)
        return self.atom()

    def atom(self) -> Predicate:
        k, v = self.peek()
        if k == "op" and v == "(":
            self.i += 1
            inner = self.or_()
            if self.peek() != ("op", ")"):
                raise SplError(f"search: missing ')' in {self.text!r}")
            self.i += 1
            return inner
        if k != "word":
            raise SplError(f"search: expected a field at {self.peek()!r} in {self.text!r}")
        name = v
        self.i += 1
        k2, v2 = self.peek()
        if k2 == "op" and v2 == "=":
            self.i += 1
            kv, vv = self.peek()
            if kv not in ("word", "value"):
                raise SplError(f"search: expected a value after {name}= in {self.text!r}")
            self.i += 1
            return _term(name, vv)
        if k2 == "word" and v2 == "IN":
            self.i += 1
            if self.peek() != ("op", "("):
                raise SplError(f"search: expected '(' after IN in {self.text!r}")
            self.i += 1
            terms = []
            while True:
                kv, vv = self.peek()
                if kv not in ("word", "value"):
                    raise SplError(f"search: expected a value in IN (...) in {self.text!r}")
                terms.append(_term(name, vv))
                self.i += 1
                if self.peek() == ("op", ","):
                    self.i += 1
                    continue
                if self.peek() == ("op", ")"):
                    self.i += 1
                    break
                raise SplError(f"search: malformed IN list in {self.text!r}")
            return lambda f: any(t(f) for t in terms)
        raise SplError(f"search: only field=value and field IN (...) terms are modelled, got {name!r} in {self.text!r}")


def parse_search(text: str) -> Predicate:
    """A predicate over an event's fields for one eventtype ``search``."""
    return _Parser(text).parse()
