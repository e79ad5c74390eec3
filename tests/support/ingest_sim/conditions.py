"""The Painless subset allowed in processor ``if`` conditions.

Grammar (anything else is rejected when the pipeline is loaded)::

    expr     := or
    or       := and ( '||' and )*
    and      := equality ( '&&' equality )*
    equality := relation ( ('==' | '!=') relation )*
    relation := unary ( ('<' | '<=' | '>' | '>=') unary | 'instanceof' TYPE )*
    unary    := '!' unary | '-' NUMBER | postfix
    postfix  := primary ( ('.' | '?.') NAME [ '(' [ expr ] ')' ] | '[' (STRING | INT) ']' )*
    primary  := 'ctx' | STRING | NUMBER | 'true' | 'false' | 'null' | '(' expr ')'

* ``ctx.a.b`` reads map keys; on a null receiver it throws (Painless
  ``NullPointerException``), ``ctx?.a?.b`` yields null instead; ``ctx['a']``
  and ``list[0]`` index maps and lists.
* methods: ``contains``, ``startsWith``, ``endsWith``, ``equalsIgnoreCase``,
  ``isEmpty``, ``size``, ``toLowerCase`` - each only on the receiver types Java
  defines it for (``contains`` on String and List, ``size`` on List and Map ...).
* ``instanceof`` String, List, Map, Number, Integer, Long, Double, Float, Boolean,
  Object, Collection, CharSequence.
* ``==`` / ``!=`` follow Painless ``def`` equality (numbers by value across types,
  otherwise ``equals``); ``<``, ``<=``, ``>``, ``>=`` need two numbers (the
  relational operators go beyond the subset listed in ``ecs-mapping.md``; they are
  here because Elasticsearch's own terminate test uses ``ctx.number < 50``).
* ``&&``, ``||`` and ``!`` need booleans (a null there is an error, as in Painless)
  and short-circuit; the whole condition must produce a boolean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

from .errors import IngestError
from .javacompat import JavaFloat, JavaLong, is_number, java_class_name, java_equals

ALLOWED_METHODS = ("contains", "startsWith", "endsWith", "equalsIgnoreCase", "isEmpty", "size", "toLowerCase")
ALLOWED_TYPES = ("String", "List", "Map", "Number", "Integer", "Long", "Double", "Float", "Boolean",
                 "Object", "Collection", "CharSequence")


class ConditionSyntaxError(ValueError):
    """The condition uses syntax outside the supported subset."""


def script_error(msg: str, source: str) -> IngestError:
    err = IngestError("script_exception", "runtime error", cause=IngestError(_runtime_type(msg), msg))
    err.metadata["script"] = source
    err.metadata["lang"] = "painless"
    return err


def _runtime_type(msg: str) -> str:
    if msg.startswith("Cannot invoke") or "null" in msg.split(" ")[:3]:
        return "null_pointer_exception"
    if msg.startswith("Cannot cast") or msg.startswith("class "):
        return "class_cast_exception"
    return "illegal_argument_exception"


# ---------------------------------------------------------------- lexer

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+\.\d+|\d+)(?![\w.])
      | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>\?\.|&&|\|\||==|!=|<=|>=|[<>!().\[\]\-])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.X,
)


@dataclass
class Tok:
    kind: str
    text: str
    pos: int


def _lex(src: str) -> List[Tok]:
    toks: List[Tok] = []
    pos = 0
    while pos < len(src):
        if src[pos:].strip() == "":
            break
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            bad = src[pos:].lstrip()[:20]
            raise ConditionSyntaxError(f"unsupported syntax at offset {pos}: {bad!r}")
        kind = m.lastgroup or ""
        toks.append(Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    toks.append(Tok("eof", "", len(src)))
    return toks


def _unquote(text: str) -> str:
    body = text[1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 1
            nxt = body[i]
            if nxt not in "\\'\"":
                raise ConditionSyntaxError(f"unsupported escape \\{nxt} in string literal {text}")
            out.append(nxt)
        else:
            out.append(c)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------- AST

Node = Tuple[Any, ...]


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = _lex(src)
        self.i = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self, text: Optional[str] = None, kind: Optional[str] = None) -> Tok:
        t = self.toks[self.i]
        if (text is not None and t.text != text) or (kind is not None and t.kind != kind):
            want = text or kind
            got = t.text or "end of condition"
            raise ConditionSyntaxError(f"expected {want!r} at offset {t.pos}, found {got!r}")
        self.i += 1
        return t

    def accept(self, text: str) -> bool:
        if self.peek().text == text and self.peek().kind in ("op", "name"):
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.expr()
        if self.peek().kind != "eof":
            t = self.peek()
            raise ConditionSyntaxError(f"unsupported syntax at offset {t.pos}: {t.text!r}")
        return node

    def expr(self) -> Node:
        node = self.and_()
        while self.accept("||"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.equality()
        while self.accept("&&"):
            node = ("and", node, self.equality())
        return node

    def equality(self) -> Node:
        node = self.relation()
        while self.peek().text in ("==", "!=") and self.peek().kind == "op":
            op = self.take().text
            node = (op, node, self.relation())
        return node

    def relation(self) -> Node:
        node = self.unary()
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in ("<", "<=", ">", ">="):
                self.i += 1
                node = (t.text, node, self.unary())
            elif t.kind == "name" and t.text == "instanceof":
                self.i += 1
                typ = self.take(kind="name")
                if typ.text not in ALLOWED_TYPES:
                    raise ConditionSyntaxError(f"unsupported instanceof type [{typ.text}]")
                node = ("instanceof", node, typ.text)
            else:
                return node

    def unary(self) -> Node:
        if self.accept("!"):
            return ("not", self.unary())
        if self.peek().text == "-" and self.peek().kind == "op":
            self.i += 1
            t = self.take(kind="num")
            return ("lit", -_number(t.text))
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in (".", "?."):
                self.i += 1
                name = self.take(kind="name").text
                safe = t.text == "?."
                if self.peek().text == "(" and self.peek().kind == "op":
                    self.i += 1
                    if name not in ALLOWED_METHODS:
                        raise ConditionSyntaxError(f"unsupported method [{name}()]")
                    args: List[Node] = []
                    if not self.accept(")"):
                        args.append(self.expr())
                        self.take(")")
                    want = 1 if name in ("contains", "startsWith", "endsWith", "equalsIgnoreCase") else 0
                    if len(args) != want:
                        raise ConditionSyntaxError(f"method [{name}] takes {want} argument(s)")
                    node = ("call", node, name, args, safe)
                else:
                    node = ("field", node, name, safe)
            elif t.kind == "op" and t.text == "[":
                self.i += 1
                key = self.peek()
                if key.kind == "str":
                    self.i += 1
                    node = ("index", node, _unquote(key.text))
                elif key.kind == "num" and "." not in key.text:
                    self.i += 1
                    node = ("index", node, int(key.text))
                else:
                    raise ConditionSyntaxError("only string or integer literals are supported inside [...]")
                self.take("]")
            else:
                return node

    def primary(self) -> Node:
        t = self.peek()
        if t.kind == "op" and t.text == "(":
            self.i += 1
            node = self.expr()
            self.take(")")
            return node
        if t.kind == "str":
            self.i += 1
            return ("lit", _unquote(t.text))
        if t.kind == "num":
            self.i += 1
            return ("lit", _number(t.text))
        if t.kind == "name":
            self.i += 1
            if t.text == "ctx":
                return ("ctx",)
            if t.text == "true":
                return ("lit", True)
            if t.text == "false":
                return ("lit", False)
            if t.text == "null":
                return ("lit", None)
            raise ConditionSyntaxError(f"unsupported identifier [{t.text}] (only ctx and literals are allowed)")
        got = t.text or "end of condition"
        raise ConditionSyntaxError(f"unexpected {got!r} at offset {t.pos}")


def _number(text: str) -> Any:
    if "." in text:
        return float(text)
    v = int(text)
    if v > 2**31 - 1:
        raise ConditionSyntaxError(f"integer literal {text} out of range (int)")
    return v


# ---------------------------------------------------------------- evaluation


class Condition:
    """A compiled ``if`` condition; ``evaluate(ctx)`` returns a bool or raises IngestError."""

    def __init__(self, source: str) -> None:
        if not isinstance(source, str):
            raise ConditionSyntaxError("only inline string conditions are supported")
        self.source = source
        self.ast = _Parser(source).parse()

    def evaluate(self, ctx: Any) -> bool:
        result = self._eval(self.ast, ctx)
        if not isinstance(result, bool):
            if result is None:
                raise script_error("Cannot cast null to a primitive type [boolean]", self.source)
            raise script_error(f"Cannot cast from [{_painless_type(result)}] to [boolean].", self.source)
        return result

    def _bool(self, v: Any) -> bool:
        if isinstance(v, bool):
            return v
        if v is None:
            raise script_error("Cannot cast null to a primitive type [boolean]", self.source)
        raise script_error(f"Cannot cast from [{_painless_type(v)}] to [boolean].", self.source)

    def _eval(self, node: Node, ctx: Any) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ctx":
            return ctx
        if kind == "or":
            return self._bool(self._eval(node[1], ctx)) or self._bool(self._eval(node[2], ctx))
        if kind == "and":
            return self._bool(self._eval(node[1], ctx)) and self._bool(self._eval(node[2], ctx))
        if kind == "not":
            return not self._bool(self._eval(node[1], ctx))
        if kind in ("==", "!="):
            eq = _painless_eq(self._eval(node[1], ctx), self._eval(node[2], ctx))
            return eq if kind == "==" else not eq
        if kind in ("<", "<=", ">", ">="):
            a, b = self._eval(node[1], ctx), self._eval(node[2], ctx)
            if not (is_number(a) and is_number(b)):
                if a is None or b is None:
                    raise script_error("Cannot invoke a comparison on a null value", self.source)
                raise script_error(f"Cannot apply [{kind}] operation to types [{_painless_type(a)}] and "
                                   f"[{_painless_type(b)}].", self.source)
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[kind]
        if kind == "instanceof":
            return _instanceof(self._eval(node[1], ctx), node[2])
        if kind == "field":
            recv = self._eval(node[1], ctx)
            return self._field(recv, node[2], node[3])
        if kind == "index":
            recv = self._eval(node[1], ctx)
            return self._index(recv, node[2])
        if kind == "call":
            recv = self._eval(node[1], ctx)
            if recv is None:
                if node[4]:
                    return None
                raise script_error(f"Cannot invoke \"{node[2]}()\" because the receiver is null", self.source)
            args = [self._eval(a, ctx) for a in node[3]]
            return self._call(recv, node[2], args)
        raise AssertionError(kind)  # pragma: no cover

    def _field(self, recv: Any, name: str, safe: bool) -> Any:
        if recv is None:
            if safe:
                return None
            raise script_error(f"Cannot invoke \"Object.get()\" because the receiver is null (field [{name}])",
                               self.source)
        if isinstance(recv, dict):
            return recv.get(name)
        if isinstance(recv, list) and name in ("length",):
            return len(recv)
        raise script_error(f"dynamic getter [{java_class_name(recv)}, {name}] not found", self.source)

    def _index(self, recv: Any, key: Any) -> Any:
        if recv is None:
            raise script_error("Cannot invoke \"Object.get()\" because the receiver is null", self.source)
        if isinstance(recv, dict):
            return recv.get(key)
        if isinstance(recv, list):
            if not isinstance(key, int):
                raise script_error(f"Illegal list shortcut value [{key}].", self.source)
            if not 0 <= key < len(recv):
                raise script_error(f"Index {key} out of bounds for length {len(recv)}", self.source)
            return recv[key]
        raise script_error(f"Attempting to address a non-array-like type [{java_class_name(recv)}] as an array.",
                           self.source)

    def _call(self, recv: Any, name: str, args: List[Any]) -> Any:
        missing = script_error(f"dynamic method [{java_class_name(recv)}, {name}/{len(args)}] not found", self.source)
        if isinstance(recv, str):
            if name == "isEmpty":
                return recv == ""
            if name == "toLowerCase":
                return recv.lower()
            if name == "equalsIgnoreCase":
                arg = args[0]
                return isinstance(arg, str) and len(arg) == len(recv) and (
                    arg.upper() == recv.upper() or arg.lower() == recv.lower())
            if name in ("contains", "startsWith", "endsWith"):
                arg = args[0]
                if arg is None:
                    raise script_error(f"Cannot invoke \"{name}\" with a null argument", self.source)
                if not isinstance(arg, str):
                    raise script_error(f"Cannot cast from [{_painless_type(arg)}] to [java.lang.String].",
                                       self.source)
                return {"contains": arg in recv, "startsWith": recv.startswith(arg),
                        "endsWith": recv.endswith(arg)}[name]
            raise missing
        if isinstance(recv, list):
            if name == "contains":
                return any(_painless_list_eq(x, args[0]) for x in recv)
            if name == "isEmpty":
                return not recv
            if name == "size":
                return len(recv)
            raise missing
        if isinstance(recv, dict):
            if name == "isEmpty":
                return not recv
            if name == "size":
                return len(recv)
            raise missing
        raise missing


def _painless_type(v: Any) -> str:
    return java_class_name(v)


def _painless_eq(a: Any, b: Any) -> bool:
    """Painless ``==`` on ``def`` values: numbers compare by value, otherwise ``equals``."""
    if a is None or b is None:
        return a is None and b is None
    if is_number(a) and is_number(b):
        if isinstance(a, float) or isinstance(b, float):
            return float(a) == float(b)
        return int(a) == int(b)
    return java_equals(a, b)


def _painless_list_eq(item: Any, arg: Any) -> bool:
    """``List#contains`` uses ``equals``: Integer 3 does not equal Long 3 or Double 3.0."""
    if is_number(item) and is_number(arg):
        if isinstance(item, float) != isinstance(arg, float):
            return False
        if isinstance(item, JavaLong) != isinstance(arg, JavaLong) and isinstance(item, int):
            return False
        if isinstance(item, JavaFloat) != isinstance(arg, JavaFloat):
            return False
        return item == arg
    return java_equals(item, arg)


def _instanceof(v: Any, typ: str) -> bool:
    if v is None:
        return False
    if typ == "Object":
        return True
    if typ in ("String", "CharSequence"):
        return isinstance(v, str)
    if typ in ("List",):
        return isinstance(v, list)
    if typ == "Collection":
        return isinstance(v, list)
    if typ == "Map":
        return isinstance(v, dict)
    if typ == "Boolean":
        return isinstance(v, bool)
    if typ == "Number":
        return is_number(v)
    name = java_class_name(v)
    return name == f"java.lang.{typ}"


_cache: dict = {}


def compile_condition(source: str) -> Condition:
    cond = _cache.get(source)
    if cond is None:
        cond = Condition(source)
        _cache[source] = cond
    return cond


Evaluator = Callable[[Any], bool]
