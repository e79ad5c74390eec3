"""The PCRE subset used by our SPL, translated to Python ``re`` (test support).

Splunk evaluates ``match()``/``replace()`` regexes and ``REGEX =`` with PCRE.
Python's ``re`` agrees with PCRE on the constructs below once it is told to use
ASCII semantics for ``\\d``, ``\\w``, ``\\s`` and ``\\b`` (PCRE without UCP), and
once PCRE's ``\\z`` (absolute end) is written as Python's ``\\Z``. Everything
else is rejected with :class:`~tests.support.spl.SplError`, so a generated regex
can never rely on a construct whose meaning differs between the engines:

* supported: literals, ``.``, ``^``, ``$``, ``\\A``, ``\\z``, ``\\b``, ``\\B``,
  ``\\d \\D \\w \\W \\s \\S``, escaped punctuation, ``\\t \\n \\r \\f``,
  ``\\xhh``, character classes, ``(...)``, ``(?:...)``, ``(?i:...)``,
  ``(?s:...)``, look-ahead/behind, quantifiers ``* + ? {n} {n,} {n,m}`` and
  their lazy forms, ``|``, global flags ``(?i)``/``(?s)`` at the very start;
* rejected: ``\\Z`` (PCRE: end or before a final newline - say ``$`` or ``\\z``),
  ``\\v``/``\\h`` (classes in PCRE, characters in Python), ``\\x{...}``,
  ``\\p``, ``\\K``, ``\\G``, ``\\Q..\\E``, back-references, named groups,
  atomic groups, possessive quantifiers, recursion, mid-pattern global flags.

Replacement strings (``replace(x, re, "\\1")``) allow ``\\N`` back-references
and plain text; an unmatched group becomes empty text in both engines.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import List

from . import SplError

_SIMPLE_ESCAPES = set("dDwWsSbBtnrfA")
_PUNCT = set(r".^$*+?()[]{}|\/-,:=!<>#&~'\"%@`;_ ")


def translate(pattern: str) -> str:
    """The Python ``re`` source for a PCRE ``pattern`` (raises :class:`SplError` on unsupported syntax)."""
    out: List[str] = []
    i, n = 0, len(pattern)
    depth_class = False
    at_start = True
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise SplError(f"regex {pattern!r}: trailing backslash")
            e = pattern[i + 1]
            if e == "z":
                out.append(r"\Z")
                i += 2
            elif e == "x":
                hexdigits = pattern[i + 2:i + 4]
                if len(hexdigits) != 2 or not all(h in "0123456789abcdefABCDEF" for h in hexdigits):
                    raise SplError(f"regex {pattern!r}: only \\xhh escapes are supported")
                out.append(pattern[i:i + 4])
                i += 4
            elif e in _SIMPLE_ESCAPES:
                if depth_class and e in "bBA":
                    raise SplError(f"regex {pattern!r}: \\{e} inside a class")
                out.append(pattern[i:i + 2])
                i += 2
            elif e in _PUNCT:
                out.append(pattern[i:i + 2])
                i += 2
            else:
                raise SplError(f"regex {pattern!r}: unsupported escape \\{e}")
            at_start = False
            continue
        if depth_class:
            if c == "]":
                depth_class = False
            elif c == "[" and pattern[i + 1:i + 2] == ":":
                raise SplError(f"regex {pattern!r}: POSIX classes are not supported")
            out.append(c)
            i += 1
            continue
        if c == "[":
            depth_class = True
            out.append(c)
            i += 1
            # a leading ']' or '^]' is literal in both engines
            if pattern[i:i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i:i + 1] == "]":
                out.append(r"\]")
                i += 1
            at_start = False
            continue
        if c == "(":
            rest = pattern[i + 1:]
            if rest.startswith("?"):
                m = re.match(r"\?([is]+)\)", rest)
                if m:
                    if not at_start:
                        raise SplError(f"regex {pattern!r}: global flags must be at the start")
                    out.append("(?" + m.group(1) + ")")
                    i += 1 + m.end()
                    continue
                m = re.match(r"\?(?::|=|!|<=|<!|[is]+:)", rest)
                if not m:
                    raise SplError(f"regex {pattern!r}: unsupported group syntax at {pattern[i:i + 6]!r}")
                out.append("(" + m.group(0))
                i += 1 + m.end()
            else:
                out.append("(")
                i += 1
            at_start = False
            continue
        if c in "*+?}":
            out.append(c)
            i += 1
            if i < n and pattern[i] == "+":
                raise SplError(f"regex {pattern!r}: possessive quantifiers are not supported")
            at_start = False
            continue
        out.append(c)
        i += 1
        at_start = False
    if depth_class:
        raise SplError(f"regex {pattern!r}: unterminated character class")
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_pcre(pattern: str) -> re.Pattern[str]:
    """Compile a PCRE pattern with PCRE's (ASCII) semantics."""
    src = translate(pattern)
    try:
        return re.compile(src, re.ASCII)
    except re.error as exc:
        raise SplError(f"regex {pattern!r} does not compile: {exc}") from None


@lru_cache(maxsize=4096)
def translate_replacement(rep: str) -> str:
    """A Splunk ``replace()`` replacement (``\\N`` back-references) as a Python ``re.sub`` template."""
    out: List[str] = []
    i = 0
    while i < len(rep):
        c = rep[i]
        if c == "\\":
            nxt = rep[i + 1:i + 2]
            if nxt.isdigit():
                out.append(f"\\g<{nxt}>")
                i += 2
                continue
            raise SplError(f"replacement {rep!r}: only \\N back-references are supported")
        out.append(c)
        i += 1
    return "".join(out)
