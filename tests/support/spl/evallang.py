"""The SPL ``eval`` expression language, as far as our generated ``EVAL-`` keys use it (test support).

Parser (recursive descent) and interpreter. Values are ``None`` (null), ``str``,
``int``/``float`` (numbers made by ``tonumber``/``len``/literals), ``bool``
(only inside conditions) and ``list`` (multivalue). Extracted field values are
text, as in Splunk.

Null semantics (Splunk documentation; ``ASSUMPTION`` marks what could not be
confirmed offline):

* a function of a null argument is null, except ``if``/``case``/``coalesce``/
  ``isnull``/``isnotnull``/``null``/``true``/``false``/``nullif``/``mvappend``;
* ``.`` (concatenation) with a null operand is null;
* a comparison with a null operand is null; ``AND``/``OR``/``NOT`` use
  three-valued logic; ``if``/``case`` take a branch only when its condition is
  exactly true (null counts as not true). ASSUMPTION: Splunk's ``NOT`` of a
  null comparison may differ - our generated code never negates a comparison
  that can be null (it swaps ``if`` branches instead), and :func:`evaluate`
  raises on ``NOT null`` so a regression is caught;
* ``==`` between two texts that both look numeric, or between a number and a
  text, is *ambiguous* in Splunk (it may compare numerically: ``"053"=="53"``);
  the interpreter raises :class:`SplError` instead of guessing, which forces the
  renderer to use ``match()`` for numeric-looking constants.

Multivalue: functions that are only defined on single values raise on a
multivalue argument rather than silently using the first value.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from . import SplError
from .pcre import compile_pcre, translate_replacement

# --------------------------------------------------------------------------- AST


class Node:
    __slots__ = ()


class Lit(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Field(Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Call(Node):
    __slots__ = ("name", "args")

    def __init__(self, name: str, args: List[Node]) -> None:
        self.name = name
        self.args = args


class Bin(Node):
    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Node, right: Node) -> None:
        self.op = op
        self.left = left
        self.right = right


class Not(Node):
    __slots__ = ("arg",)

    def __init__(self, arg: Node) -> None:
        self.arg = arg


# --------------------------------------------------------------------------- lexer

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*")
    | (?P<qfield>'[^']*')
    | (?P<num>\d+(?:\.\d+)?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|>=|<=|=|<|>|\.|\+|-|\*|/|%|\(|\)|,)
    )""",
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = {"AND", "OR", "NOT", "XOR", "LIKE"}


def _unescape(body: str) -> str:
    # SPL string literals: \\ -> \, \" -> "; any other backslash is kept with its character
    out: List[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and body[i + 1] in "\\\"":
            out.append(body[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _tokens(text: str) -> List[Tuple[str, Any]]:
    out: List[Tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SplError(f"eval: cannot read {text[pos:pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)  # type: ignore[arg-type]
        if kind == "str":
            out.append(("lit", _unescape(val[1:-1])))
        elif kind == "qfield":
            out.append(("field", val[1:-1]))
        elif kind == "num":
            out.append(("lit", float(val) if "." in val else int(val)))
        elif kind == "ident":
            out.append(("kw", val) if val in _KEYWORDS else ("ident", val))
        else:
            out.append(("op", val))
    out.append(("end", None))
    return out


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> Tuple[str, Any]:
        return self.toks[self.i]

    def take(self, kind: str, value: Any = None) -> Any:
        k, v = self.toks[self.i]
        if k != kind or (value is not None and v != value):
            raise SplError(f"eval: expected {value or kind} at token {self.i} ({k} {v!r}) in {self.text[:120]!r}")
        self.i += 1
        return v

    def at(self, kind: str, value: Any = None) -> bool:
        k, v = self.toks[self.i]
        return k == kind and (value is None or v == value)

    def parse(self) -> Node:
        node = self.or_()
        self.take("end")
        return node

    def _keyword_chain(self, keyword: str, operand: Callable[[], Node]) -> Node:
        """``operand (keyword operand)*``, left-associative."""
        node = operand()
        while self.at("kw", keyword):
            self.i += 1
            node = Bin(keyword, node, operand())
        return node

    def or_(self) -> Node:
        return self._keyword_chain("OR", self.xor_)

    def xor_(self) -> Node:
        return self._keyword_chain("XOR", self.and_)

    def and_(self) -> Node:
        return self._keyword_chain("AND", self.not_)

    def not_(self) -> Node:
        if self.at("kw", "NOT"):
            self.i += 1
            return Not(self.not_())
        return self.cmp_()

    def cmp_(self) -> Node:
        node = self.concat_()
        while self.at("op") and self.peek()[1] in ("==", "=", "!=", "<", ">", "<=", ">="):
            op = self.take("op")
            node = Bin("==" if op == "=" else op, node, self.concat_())
        if self.at("kw", "LIKE"):
            raise SplError("eval: LIKE is not modelled")
        return node

    def concat_(self) -> Node:
        node = self.add_()
        while self.at("op", "."):
            self.i += 1
            node = Bin(".", node, self.add_())
        return node

    def add_(self) -> Node:
        node = self.primary()
        if self.at("op") and self.peek()[1] in ("+", "-", "*", "/", "%"):
            raise SplError("eval: arithmetic is not modelled (our renderer does not emit it)")
        return node

    def primary(self) -> Node:
        kind, val = self.peek()
        if kind == "lit":
            self.i += 1
            return Lit(val)
        if kind == "field":
            self.i += 1
            return Field(val)
        if kind == "ident":
            self.i += 1
            if self.at("op", "("):
                self.i += 1
                args: List[Node] = []
                if not self.at("op", ")"):
                    args.append(self.or_())
                    while self.at("op", ","):
                        self.i += 1
                        args.append(self.or_())
                self.take("op", ")")
                return Call(val, args)
            return Field(val)
        if kind == "op" and val == "(":
            self.i += 1
            node = self.or_()
            self.take("op", ")")
            return node
        raise SplError(f"eval: unexpected token {kind} {val!r} in {self.text[:120]!r}")


def parse_eval(text: str) -> Node:
    """Parse one ``EVAL-`` value."""
    return _Parser(text).parse()


def fields_referenced(node: Node) -> List[str]:
    """Every field name an expression reads (``mvmap``'s bound name included)."""
    out: List[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Field):
            if n.name not in out:
                out.append(n.name)
        elif isinstance(n, Call):
            for a in n.args:
                walk(a)
        elif isinstance(n, Bin):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Not):
            walk(n.arg)

    walk(node)
    return out


def functions_used(node: Node) -> List[str]:
    """Every function name an expression calls."""
    out: List[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Call):
            if n.name not in out:
                out.append(n.name)
            for a in n.args:
                walk(a)
        elif isinstance(n, Bin):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Not):
            walk(n.arg)

    walk(node)
    return out


# --------------------------------------------------------------------------- values

_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def looks_numeric(v: Any) -> bool:
    """Text Splunk may treat as a number in a comparison."""
    return isinstance(v, str) and bool(_NUMERIC_TEXT.fullmatch(v))


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def to_text(v: Any) -> str:
    """A single value as field text (numbers as Splunk prints them)."""
    if isinstance(v, bool):
        raise SplError("eval: a boolean cannot be used as a value")
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    raise SplError(f"eval: {type(v).__name__} used where a single value is needed")


def _single(v: Any, fn: str) -> Any:
    if isinstance(v, list):
        if len(v) == 1:
            return v[0]
        raise SplError(f"eval: {fn}() of a multivalue field is not modelled")
    return v


def _eq(a: Any, b: Any) -> Optional[bool]:
    if a is None or b is None:
        return None
    a, b = _single(a, "=="), _single(b, "==")
    if isinstance(a, bool) or isinstance(b, bool):
        raise SplError("eval: comparing a boolean")
    if _is_num(a) and _is_num(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        if looks_numeric(a) and looks_numeric(b):
            raise SplError(f"eval: ambiguous comparison of numeric-looking texts {a!r} and {b!r}")
        return a == b
    raise SplError(f"eval: ambiguous comparison of a number and a text ({a!r}, {b!r})")


def _order(op: str, a: Any, b: Any) -> Optional[bool]:
    if a is None or b is None:
        return None
    a, b = _single(a, op), _single(b, op)
    if not (_is_num(a) and _is_num(b)):
        raise SplError(f"eval: {op} is only modelled between numbers ({a!r}, {b!r})")
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def _truth(v: Any, where: str) -> Optional[bool]:
    if v is None or isinstance(v, bool):
        return v
    raise SplError(f"eval: {where} needs a condition, got {v!r}")


# --------------------------------------------------------------------------- functions

Env = Mapping[str, Any]
Fn = Callable[[List[Node], Env], Any]
FUNCTIONS: Dict[str, Fn] = {}


def _fn(name: str) -> Callable[[Fn], Fn]:
    def deco(f: Fn) -> Fn:
        FUNCTIONS[name] = f
        return f

    return deco


def _args(args: List[Node], env: Env, n: Optional[int] = None, name: str = "") -> List[Any]:
    if n is not None and len(args) != n:
        raise SplError(f"eval: {name}() takes {n} argument(s), got {len(args)}")
    return [evaluate(a, env) for a in args]


@_fn("if")
def _if(args: List[Node], env: Env) -> Any:
    if len(args) != 3:
        raise SplError("eval: if() takes 3 arguments")
    cond = _truth(evaluate(args[0], env), "if()")
    return evaluate(args[1] if cond is True else args[2], env)


@_fn("case")
def _case(args: List[Node], env: Env) -> Any:
    if len(args) % 2:
        raise SplError("eval: case() takes condition/value pairs")
    for i in range(0, len(args), 2):
        if _truth(evaluate(args[i], env), "case()") is True:
            return evaluate(args[i + 1], env)
    return None


@_fn("coalesce")
def _coalesce(args: List[Node], env: Env) -> Any:
    for a in args:
        v = evaluate(a, env)
        if v is not None:
            return v
    return None


@_fn("nullif")
def _nullif(args: List[Node], env: Env) -> Any:
    a, b = _args(args, env, 2, "nullif")
    return None if _eq(a, b) is True else a


@_fn("null")
def _null(args: List[Node], env: Env) -> Any:
    _args(args, env, 0, "null")
    return None


@_fn("true")
def _true(args: List[Node], env: Env) -> Any:
    _args(args, env, 0, "true")
    return True


@_fn("false")
def _false(args: List[Node], env: Env) -> Any:
    _args(args, env, 0, "false")
    return False


@_fn("isnull")
def _isnull(args: List[Node], env: Env) -> Any:
    (a,) = _args(args, env, 1, "isnull")
    return a is None


@_fn("isnotnull")
def _isnotnull(args: List[Node], env: Env) -> Any:
    (a,) = _args(args, env, 1, "isnotnull")
    return a is not None


@_fn("match")
def _match(args: List[Node], env: Env) -> Any:
    s, rx = _args(args, env, 2, "match")
    if s is None or rx is None:
        return None
    return compile_pcre(to_text(rx)).search(to_text(_single(s, "match"))) is not None


@_fn("replace")
def _replace(args: List[Node], env: Env) -> Any:
    s, rx, rep = _args(args, env, 3, "replace")
    if s is None or rx is None or rep is None:
        return None
    return compile_pcre(to_text(rx)).sub(translate_replacement(to_text(rep)), to_text(_single(s, "replace")))


@_fn("lower")
def _lower(args: List[Node], env: Env) -> Any:
    (s,) = _args(args, env, 1, "lower")
    return None if s is None else to_text(_single(s, "lower")).lower()


@_fn("upper")
def _upper(args: List[Node], env: Env) -> Any:
    (s,) = _args(args, env, 1, "upper")
    return None if s is None else to_text(_single(s, "upper")).upper()


@_fn("tostring")
def _tostring(args: List[Node], env: Env) -> Any:
    (s,) = _args(args, env, 1, "tostring")
    return None if s is None else to_text(_single(s, "tostring"))


_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")


@_fn("tonumber")
def _tonumber(args: List[Node], env: Env) -> Any:
    (s,) = _args(args, env, 1, "tonumber")
    s = _single(s, "tonumber")
    if s is None or _is_num(s):
        return s
    text = to_text(s)
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return None


@_fn("len")
def _len(args: List[Node], env: Env) -> Any:
    (s,) = _args(args, env, 1, "len")
    return None if s is None else len(to_text(_single(s, "len")))


@_fn("md5")
def _md5(args: List[Node], env: Env) -> Any:
    (s,) = _args(args, env, 1, "md5")
    if s is None:
        return None
    return hashlib.md5(to_text(_single(s, "md5")).encode("utf-8"), usedforsecurity=False).hexdigest()  # noqa: S324


@_fn("in")
def _in(args: List[Node], env: Env) -> Any:
    vals = _args(args, env)
    if len(vals) < 2:
        raise SplError("eval: in() needs a value and a list")
    v = vals[0]
    if v is None:
        return None
    return any(_eq(v, x) is True for x in vals[1:])


@_fn("split")
def _split(args: List[Node], env: Env) -> Any:
    s, sep = _args(args, env, 2, "split")
    if s is None or sep is None:
        return None
    return to_text(_single(s, "split")).split(to_text(sep))


@_fn("mvjoin")
def _mvjoin(args: List[Node], env: Env) -> Any:
    mv, sep = _args(args, env, 2, "mvjoin")
    if mv is None or sep is None:
        return None
    values = mv if isinstance(mv, list) else [mv]
    return to_text(sep).join(to_text(v) for v in values)


@_fn("mvdedup")
def _mvdedup(args: List[Node], env: Env) -> Any:
    # ASSUMPTION: mvdedup keeps the first occurrence of each value, in order (no sorting)
    (mv,) = _args(args, env, 1, "mvdedup")
    if mv is None:
        return None
    out: List[Any] = []
    for v in mv if isinstance(mv, list) else [mv]:
        if v not in out:
            out.append(v)
    return out


@_fn("mvmap")
def _mvmap(args: List[Node], env: Env) -> Any:
    if len(args) != 2 or not isinstance(args[0], Field):
        raise SplError("eval: mvmap(<field>, <expression>) needs a field as its first argument")
    name = args[0].name
    mv = env.get(name)
    if mv is None:
        return None
    out = []
    for v in mv if isinstance(mv, list) else [mv]:
        r = evaluate(args[1], _Overlay(env, name, v))
        if r is not None:
            out.append(to_text(r))
    return out or None


@_fn("mvcount")
def _mvcount(args: List[Node], env: Env) -> Any:
    (mv,) = _args(args, env, 1, "mvcount")
    if mv is None:
        return None
    return len(mv) if isinstance(mv, list) else 1


class _Overlay(Mapping[str, Any]):
    """``env`` with one field rebound (``mvmap``'s current value)."""

    def __init__(self, base: Env, name: str, value: Any) -> None:
        self.base, self.name, self.value = base, name, value

    def __getitem__(self, key: str) -> Any:
        return self.value if key == self.name else self.base[key]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self.value if key == self.name else self.base.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


# --------------------------------------------------------------------------- interpreter


def evaluate(node: Node, env: Env) -> Any:
    """The value of ``node`` for the fields in ``env`` (missing fields are null)."""
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Field):
        return env.get(node.name)
    if isinstance(node, Call):
        fn = FUNCTIONS.get(node.name)
        if fn is None:
            raise SplError(f"eval: function {node.name}() is not modelled")
        return fn(node.args, env)
    if isinstance(node, Not):
        v = _truth(evaluate(node.arg, env), "NOT")
        if v is None:
            raise SplError("eval: NOT of a null condition (Splunk's result is not confirmed; avoid it)")
        return not v
    if isinstance(node, Bin):
        op = node.op
        if op in ("AND", "OR", "XOR"):
            a = _truth(evaluate(node.left, env), op)
            if op == "AND" and a is False:
                return False
            if op == "OR" and a is True:
                return True
            b = _truth(evaluate(node.right, env), op)
            if op == "AND":
                return False if b is False else (None if a is None or b is None else True)
            if op == "OR":
                return True if b is True else (None if a is None or b is None else False)
            return None if a is None or b is None else a != b
        left, right = evaluate(node.left, env), evaluate(node.right, env)
        if op == ".":
            if left is None or right is None:
                return None
            return to_text(_single(left, ".")) + to_text(_single(right, "."))
        if op == "==":
            return _eq(left, right)
        if op == "!=":
            r = _eq(left, right)
            return None if r is None else not r
        return _order(op, left, right)
    raise SplError(f"eval: unknown node {node!r}")


def field_value(v: Any) -> Any:
    """An eval result as a field value: text, a list of texts, or ``None`` (field removed)."""
    if v is None:
        return None
    if isinstance(v, list):
        vals = [to_text(x) for x in v if x is not None]
        if not vals:
            return None
        return vals[0] if len(vals) == 1 else vals
    return to_text(v)


def run_evals(evals: Sequence[Tuple[str, Node]], fields: Mapping[str, Any]) -> Dict[str, Any]:
    """Apply ``EVAL-`` keys as Splunk does: every expression sees the same input; then all results are set."""
    results = {name: field_value(evaluate(node, fields)) for name, node in evals}
    out = dict(fields)
    for name, v in results.items():
        if v is None:
            out.pop(name, None)  # an EVAL that yields null removes the field
        else:
            out[name] = v
    return out
