"""SPL ``eval`` expressions as small immutable trees, printed as Splunk reads them.

Consumes nothing but Python values; produces expression objects that print as
SPL text (:meth:`Expr.spl`). The Splunk renderers build every ``EVAL-`` value
with the constructors below, which keep two invariants the translation relies on:

* constructors simplify only where the result is provably the same value
  (``coalesce`` drops nulls and everything after a constant, ``if`` with a
  constant condition picks its branch, ...);
* :attr:`Expr.nonempty` tells whether a value can be the empty string. The
  Python mapper treats ``""`` as "no value", Splunk's ``coalesce`` does not, so
  every value that may be empty is wrapped in ``nullif(x, "")``
  (:func:`nonempty`) before it meets a ``coalesce``;
* :class:`Switch` keeps a ``case()`` on one selector (the network form) as a
  structure, so conditions and transforms can be pushed into its branches
  (:func:`specialize`, :func:`assume`, :func:`lift`) and constants fold at render
  time - the same value, fewer repeated sub-expressions.

Escaping: SPL string literals unescape only ``\\\\`` and ``\\"``; any other
backslash reaches the function as written (``"\\d"`` is the regex ``\\d``), so
:func:`literal` doubles a backslash only where SPL would otherwise read an
escape. :func:`pcre_escape` quotes text for use inside a PCRE pattern.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

__all__ = [
    "FALSE", "NULL", "TRUE", "Expr", "Switch", "and_", "assume", "call", "case", "coalesce", "concat", "conjuncts",
    "constant_outputs", "eq", "field", "if_", "in_", "is_true_of", "isnotnull", "lift", "lit", "literal", "lower",
    "match", "nonempty", "or_", "pcre_escape", "replace", "specialize", "strip_nullif",
]

_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def looks_numeric(text: str) -> bool:
    """Text Splunk may compare as a number (``==`` on it is ambiguous; use ``match()``)."""
    return bool(_NUMERIC_TEXT.fullmatch(text))


def literal(text: str) -> str:
    """``text`` as an SPL double-quoted string literal."""
    if any(c in text for c in "\n\r\0"):
        raise ValueError(f"an SPL literal cannot hold control characters: {text!r}")
    out: List[str] = []
    for i, c in enumerate(text):
        if c == '"':
            out.append('\\"')
        elif c == "\\" and (i + 1 == len(text) or text[i + 1] in '\\"'):
            out.append("\\\\")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def pcre_escape(text: str) -> str:
    """``text`` as a PCRE (and Python ``re``) pattern that matches it literally."""
    out: List[str] = []
    for c in text:
        if c.isalnum() or c in "_,=:;%@!'\" <>&~`" or ord(c) > 127:
            out.append(c)
        elif c == "\n":
            out.append(r"\n")
        elif c == "\t":
            out.append(r"\t")
        elif c == "\r":
            out.append(r"\r")
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append("\\" + c)
    return "".join(out)


class Expr:
    """An SPL eval expression. ``nonempty``: never ``""``; ``numeric``: a number when not null."""

    __slots__ = ("nonempty", "numeric")
    prec = 9

    def __init__(self, nonempty: bool = False, numeric: bool = False) -> None:
        self.nonempty = nonempty
        self.numeric = numeric

    def spl(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        return self.spl()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and type(other) is type(self) and self.spl() == other.spl()

    def __hash__(self) -> int:
        return hash(self.spl())


class Lit(Expr):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"only text and integer literals are emitted, got {value!r}")
        super().__init__(nonempty=value != "", numeric=isinstance(value, int))
        self.value = value

    def spl(self) -> str:
        return literal(self.value) if isinstance(self.value, str) else str(self.value)


class Field(Expr):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if "'" in name:
            raise ValueError(f"field name with a quote: {name!r}")
        super().__init__()
        self.name = name

    def spl(self) -> str:
        return self.name if _BARE.fullmatch(self.name) else f"'{self.name}'"


class Call(Expr):
    __slots__ = ("fn", "args")

    def __init__(self, fn: str, args: Sequence[Expr], nonempty: bool = False, numeric: bool = False) -> None:
        super().__init__(nonempty=nonempty, numeric=numeric)
        self.fn = fn
        self.args: Tuple[Expr, ...] = tuple(args)

    def spl(self) -> str:
        return f"{self.fn}({', '.join(a.spl() for a in self.args)})"


_PREC = {"OR": 1, "AND": 2, "==": 4, "!=": 4, ">=": 4, "<=": 4, ">": 4, "<": 4, ".": 5}


class Op(Expr):
    """An operator applied to two or more operands (``AND``/``OR``/``.`` are n-ary)."""

    __slots__ = ("op", "args")

    def __init__(self, op: str, args: Sequence[Expr], nonempty: bool = False) -> None:
        super().__init__(nonempty=nonempty)
        self.op = op
        self.args = tuple(args)

    @property
    def prec(self) -> int:  # type: ignore[override]
        return _PREC[self.op]

    def spl(self) -> str:
        parts = []
        for a in self.args:
            text = a.spl()
            parts.append(f"({text})" if a.prec <= self.prec else text)
        sep = " . " if self.op == "." else f" {self.op} "
        return sep.join(parts)


NULL = Call("null", ())
TRUE = Call("true", ())


def lit(value: Any) -> Expr:
    """A constant; ``""`` is null (the mapper's "no value")."""
    if value is None or value == "":
        return NULL
    return Lit(value)


def field(name: str) -> Expr:
    """A raw field reference (may be empty text)."""
    return Field(name)


def call(fn: str, *args: Expr, nonempty: bool = False, numeric: bool = False) -> Expr:
    """``fn(args)``; a null argument makes these functions null, which we model by folding."""
    if fn in _NULL_STRICT and any(a is NULL for a in args):
        return NULL
    return Call(fn, args, nonempty=nonempty, numeric=numeric)


_NULL_STRICT = frozenset({"lower", "upper", "replace", "match", "tostring", "tonumber", "md5", "len", "split",
                          "mvjoin", "mvdedup", "nullif", "in"})


def nonempty(x: Expr) -> Expr:
    """``x`` with ``""`` turned into null."""
    if x.nonempty or x is NULL:
        return x
    return Call("nullif", (x, Lit("")), nonempty=True, numeric=x.numeric)


def coalesce(*xs: Expr) -> Expr:
    """The first non-null value; arguments after a constant are dropped."""
    args: List[Expr] = []
    for x in xs:
        parts = x.args if isinstance(x, Call) and x.fn == "coalesce" else (x,)
        for p in parts:
            if p is NULL or p in args:
                continue
            args.append(p)
            if isinstance(p, Lit):
                break
        if args and isinstance(args[-1], Lit):
            break
    if not args:
        return NULL
    if len(args) == 1:
        return args[0]
    merged: List[Expr] = []
    for a in args:
        prev = merged[-1] if merged else None
        if (isinstance(a, Switch) and isinstance(prev, Switch) and not a.condition and not prev.condition
                and a.ident == prev.ident):
            # consecutive switches on the same selector: one switch whose branches coalesce
            keys = list(dict.fromkeys([*prev.keys(), *a.keys()]))
            merged[-1] = Switch(prev.selector, [((k,), coalesce(prev.branch(k), a.branch(k))) for k in keys],
                                prev.guard)
        else:
            merged.append(a)
    args = merged
    if len(args) == 1:
        return args[0]
    return Call("coalesce", args, nonempty=all(a.nonempty for a in args), numeric=all(a.numeric for a in args))


def if_(cond: Expr, then: Expr, other: Expr = NULL) -> Expr:
    """``if(cond, then, other)``; ``other`` is taken when ``cond`` is false *or null*."""
    if cond is TRUE or then == other:
        return then
    if cond is FALSE:
        return other
    if other is NULL and then is not NULL:
        # if(isnotnull(x) AND c, x, null()) is if(c, x, null()): a null x gives null either way
        conjuncts = cond.args if isinstance(cond, Op) and cond.op == "AND" else (cond,)
        rest = [c for c in conjuncts if not (isinstance(c, Call) and c.fn == "isnotnull" and c.args[0] == then)]
        if len(rest) < len(conjuncts):
            return if_(and_(*rest), then, other) if rest else then
    return Call("if", (cond, then, other),
                nonempty=(then.nonempty or then is NULL) and (other.nonempty or other is NULL),
                numeric=(then.numeric or then is NULL) and (other.numeric or other is NULL))


def case(pairs: Sequence[Tuple[Expr, Expr]], default: Optional[Expr] = None) -> Expr:
    """``case(c1, v1, ...)``; ``default`` is added as a ``true()`` branch."""
    items = list(pairs)
    if default is not None and default is not NULL:
        items.append((TRUE, default))
    while items and items[-1][1] is NULL:  # trailing null branches change nothing
        items.pop()
    if not items:
        return NULL
    if len(items) == 1:
        return if_(items[0][0], items[0][1])
    args: List[Expr] = []
    for c, v in items:
        args.extend((c, v))
    return Call("case", args, nonempty=all(v.nonempty or v is NULL for _c, v in items),
                numeric=all(v.numeric or v is NULL for _c, v in items))


def _junction(op: str, absorbing: Expr, neutral: Expr, conds: Sequence[Expr]) -> Expr:
    """``op`` over ``conds``: flattened, duplicates and ``neutral`` dropped, ``absorbing`` wins."""
    args: List[Expr] = []
    for c in conds:
        for p in c.args if isinstance(c, Op) and c.op == op else (c,):
            if p is absorbing:
                return absorbing
            if p is not neutral and p not in args:
                args.append(p)
    if not args:
        return neutral
    return args[0] if len(args) == 1 else Op(op, args)


def and_(*conds: Expr) -> Expr:
    """Conjunction (flattened; ``true()`` dropped)."""
    return _junction("AND", FALSE, TRUE, conds)


def or_(*conds: Expr) -> Expr:
    """Disjunction (flattened)."""
    return _junction("OR", TRUE, FALSE, conds)


def concat(*parts: Expr) -> Expr:
    """``a . b . c`` (null if any part is null)."""
    args: List[Expr] = []
    for p in parts:
        if p is NULL:
            return NULL
        args.extend(p.args if isinstance(p, Op) and p.op == "." else (p,))
    return Op(".", args, nonempty=any(a.nonempty for a in args))


def isnotnull(x: Expr) -> Expr:
    return Call("isnotnull", (x,))


def match(x: Expr, pattern: str) -> Expr:
    """``match(x, "pattern")`` (an unanchored PCRE search)."""
    return call("match", x, Lit(pattern))


def replace(x: Expr, pattern: str, replacement: str) -> Expr:
    """``replace(x, "pattern", "replacement")`` (all matches)."""
    return call("replace", x, Lit(pattern), Lit(replacement))


def constant_outputs(x: Expr) -> Optional[List[str]]:
    """Every text ``x`` can yield when it is built from constants (``coalesce``/``if``/``case``), else ``None``."""
    if isinstance(x, Lit):
        return [str(x.value)]
    if x is NULL:
        return []
    if isinstance(x, Call) and x.fn in ("coalesce", "if", "case"):
        parts = x.args if x.fn == "coalesce" else x.args[1:] if x.fn == "if" else x.args[1::2]
        out: List[str] = []
        for p in parts:
            sub = constant_outputs(p)
            if sub is None:
                return None
            out.extend(v for v in sub if v not in out)
        return out
    return None


def eq(x: Expr, value: str, case_insensitive: bool = False) -> Expr:
    """Text equality with a constant; ``match()`` where ``==`` would be ambiguous (numeric-looking)."""
    outs = constant_outputs(x)
    if outs is not None:
        if not any((o.lower() == value.lower()) if case_insensitive else o == value for o in outs):
            return FALSE  # x can never be that value
        if case_insensitive and all(o == o.lower() for o in outs):
            value, case_insensitive = value.lower(), False  # x only yields lower-case constants
    if looks_numeric(value) or value == "":
        flags = "(?i)" if case_insensitive else ""
        return match(x, f"{flags}^{pcre_escape(value)}\\z")
    if case_insensitive:
        return Op("==", (lower(x), Lit(value.lower())))
    return Op("==", (x, Lit(value)))


def lower(x: Expr) -> Expr:
    """``lower(x)`` (not applied twice)."""
    if isinstance(x, Call) and x.fn == "lower":
        return x
    return call("lower", x, nonempty=x.nonempty)


def strip_nullif(x: Expr) -> Expr:
    """``x`` without an outer ``nullif(_, "")``: for functions that map ``""`` to ``""`` anyway."""
    if isinstance(x, Call) and x.fn == "nullif" and x.args[1] == Lit(""):
        return x.args[0]
    return x


def in_(x: Expr, values: Iterable[str], case_insensitive: bool = False) -> Expr:
    """Membership in constant texts (one ``in()``; numeric-looking values through ``match()``)."""
    vals = list(dict.fromkeys(values))
    outs = constant_outputs(x)
    if outs is not None:
        keep = [v for v in vals if any((o.lower() == v.lower()) if case_insensitive else o == v for o in outs)]
        if not keep:
            return FALSE
        if case_insensitive and all(o == o.lower() for o in outs):
            vals, case_insensitive = list(dict.fromkeys(v.lower() for v in keep)), False
        else:
            vals = keep
    plain = [v for v in vals if not looks_numeric(v) and v != ""]
    numeric = [v for v in vals if v not in plain]
    conds: List[Expr] = []
    if plain:
        subject = lower(x) if case_insensitive else x
        keys = [v.lower() for v in plain] if case_insensitive else plain
        keys = list(dict.fromkeys(keys))
        if len(keys) == 1:
            conds.append(Op("==", (subject, Lit(keys[0]))))
        else:
            conds.append(Call("in", (subject, *(Lit(k) for k in keys))))
    if numeric:
        flags = "(?i)" if case_insensitive else ""
        alts = "|".join(pcre_escape(v) for v in numeric)
        conds.append(match(x, f"{flags}^(?:{alts})\\z"))
    return or_(*conds)


def is_true_of(x: Expr) -> Expr:
    """The condition "``x`` is the boolean text ``true``", unwrapping ``if(c, "true", null())`` to ``c``."""
    if isinstance(x, Call) and x.fn == "if" and x.args[1] == Lit("true") and x.args[2] is NULL:
        return x.args[0]
    return Op("==", (x, Lit("true")))


class Switch(Expr):
    """``case()`` on one selector compared with constant texts (the network forms, keyed by event action).

    Each branch lists the selector values it covers; ``guard`` is AND-ed into
    every branch condition. Keeping the structure (instead of a plain ``case``)
    lets the translator push a condition that is itself a switch on the same
    selector into the branches (:meth:`map`, :func:`specialize`), so a value
    guarded by ``$peer`` evaluates the selector once per form instead of twice.
    A *condition* switch (``condition=True``) prints as ``(sel in keys AND c) OR ...``.
    """

    __slots__ = ("selector", "branches", "guard", "condition")

    def __init__(self, selector: Expr, branches: Sequence[Tuple[Tuple[str, ...], Expr]], guard: Expr = TRUE,
                 condition: bool = False) -> None:
        per_key: List[Tuple[str, Expr]] = []
        for keys, value in branches:
            per_key.extend((k, value) for k in keys)
        grouped: List[Tuple[Tuple[str, ...], Expr]] = []
        for key, value in per_key:
            if value is NULL or (condition and value is FALSE):
                continue
            for i, (keys, v) in enumerate(grouped):
                if v == value:
                    grouped[i] = (keys + (key,), v)
                    break
            else:
                grouped.append(((key,), value))
        super().__init__(nonempty=all(v.nonempty for _k, v in grouped),
                         numeric=bool(grouped) and all(v.numeric for _k, v in grouped))
        self.selector = selector
        self.branches: Tuple[Tuple[Tuple[str, ...], Expr], ...] = tuple(grouped)
        self.guard = guard
        self.condition = condition

    @property
    def ident(self) -> Tuple[str, str]:
        return (self.selector.spl(), self.guard.spl())

    def branch(self, key: str) -> Expr:
        for keys, value in self.branches:
            if key in keys:
                return value
        return FALSE if self.condition else NULL

    def keys(self) -> List[str]:
        return [k for keys, _v in self.branches for k in keys]

    def map(self, fn: Callable[[str, Expr], Expr], condition: bool = False) -> Switch:
        """A switch on the same selector with ``fn(key, branch)`` as each key's branch."""
        return Switch(self.selector, [((k,), fn(k, self.branch(k))) for k in self.keys()], self.guard, condition)

    def with_guard(self, cond: Expr) -> Switch:
        """``if(cond, self, null())`` as a switch: ``cond`` joins the guard; branches may assume it."""
        guard = and_(self.guard, cond)
        known = list(guard.args) if isinstance(guard, Op) and guard.op == "AND" else [guard]
        return Switch(self.selector, [(ks, assume(v, known)) for ks, v in self.branches], guard, self.condition)

    def plain(self) -> Expr:
        if not self.branches:
            return FALSE if self.condition else NULL
        tests = [and_(self.guard, in_(self.selector, keys)) for keys, _v in self.branches]
        if self.condition:
            return or_(*[and_(t, v) for t, (_k, v) in zip(tests, self.branches)])
        return case([(t, v) for t, (_k, v) in zip(tests, self.branches)])

    def spl(self) -> str:
        return self.plain().spl()

    @property
    def prec(self) -> int:  # type: ignore[override]
        return self.plain().prec


FALSE = Call("false", ())


def specialize(expr: Expr, switch: Switch, key: str) -> Expr:
    """``expr`` inside the branch ``key`` of ``switch``: every switch with the same identity becomes that branch."""
    if isinstance(expr, Switch):
        if expr.ident == switch.ident:
            return expr.branch(key)
        return Switch(expr.selector, [(ks, specialize(v, switch, key)) for ks, v in expr.branches],
                      specialize(expr.guard, switch, key), expr.condition)
    if isinstance(expr, Call) and expr.args:
        args = [specialize(a, switch, key) for a in expr.args]
        return _rebuild_call(expr, args)
    if isinstance(expr, Op):
        args = [specialize(a, switch, key) for a in expr.args]
        if expr.op == "AND":
            return and_(*args)
        if expr.op == "OR":
            return or_(*args)
        if expr.op == ".":
            return concat(*args)
        return Op(expr.op, args)
    return expr


def _rebuild_call(expr: Call, args: List[Expr]) -> Expr:
    if expr.fn == "coalesce":
        return coalesce(*args)
    if expr.fn == "if":
        if args[0] is FALSE:
            return args[2]
        return if_(*args)
    if expr.fn == "coalesce" and not args:
        return NULL
    if expr.fn == "case":
        pairs = [(args[i], args[i + 1]) for i in range(0, len(args), 2) if args[i] is not FALSE]
        return case(pairs)
    if expr.fn == "nullif" and args[0] is NULL:
        return NULL
    if expr.fn == "isnotnull" and args[0] is NULL:
        return FALSE
    if expr.fn in _NULL_STRICT and any(a is NULL for a in args):
        return NULL
    return Call(expr.fn, args, nonempty=expr.nonempty, numeric=expr.numeric)


def assume(expr: Expr, known: Sequence[Expr]) -> Expr:
    """``expr`` where every condition in ``known`` is true: ``if(k, a, b)`` -> ``a``, ``k AND c`` -> ``c``."""
    if not known or expr is NULL:
        return expr
    texts = {k.spl() for k in known}
    present = {k.args[0].spl() for k in known if isinstance(k, Call) and k.fn == "isnotnull"}

    def walk(e: Expr) -> Expr:
        if e.spl() in texts:
            return TRUE
        if isinstance(e, Call) and e.fn == "isnotnull":
            inner = e.args[0]
            parts = inner.args if isinstance(inner, Call) and inner.fn == "coalesce" else (inner,)
            if any(a.spl() in present for a in parts):
                return TRUE
        if isinstance(e, Switch):
            return Switch(e.selector, [(ks, walk(v)) for ks, v in e.branches], walk(e.guard), e.condition)
        if isinstance(e, Call) and e.args:
            if e.fn == "if" and e.args[0].spl() in texts:
                return walk(e.args[1])
            return _rebuild_call(e, [walk(a) for a in e.args])
        if isinstance(e, Op):
            args = [walk(a) for a in e.args]
            if e.op == "AND":
                return and_(*args)
            if e.op == "OR":
                return or_(*args)
            if e.op == ".":
                return concat(*args)
            return Op(e.op, args)
        return e

    return walk(expr)


def conjuncts(cond: Expr) -> List[Expr]:
    """The terms of an ``AND`` (or the condition itself)."""
    return list(cond.args) if isinstance(cond, Op) and cond.op == "AND" else [cond]


def lift(value: Expr, fn: Callable[[Lit], Expr]) -> Optional[Expr]:
    """``fn`` applied at render time to every constant result of ``value`` (``None`` if one is not constant)."""
    if isinstance(value, Lit):
        return fn(value)
    if value is NULL:
        return NULL
    if isinstance(value, Call) and value.fn == "if":
        a, b = lift(value.args[1], fn), lift(value.args[2], fn)
        return None if a is None or b is None else if_(value.args[0], a, b)
    if isinstance(value, Call) and value.fn == "case":
        pairs = []
        for i in range(0, len(value.args), 2):
            v = lift(value.args[i + 1], fn)
            if v is None:
                return None
            pairs.append((value.args[i], v))
        return case(pairs)
    return None
