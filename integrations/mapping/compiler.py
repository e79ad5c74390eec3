"""Compile the mapping definition into straight-line Python, specialised per event class.

Consumes: a :class:`~integrations.mapping.mapper.Mapper` (its validated
definition, tables, settings and the vocabulary callables it built).
Produces: per ``(Type, Operation)`` class, generated functions
``ecs(fields, original) -> dict`` and ``cim(fields) -> dict`` that give exactly
the interpreted mapper's result (a test compares them over the corpus,
generated events and random input).

Why: interpreting ~150 steps through closures costs far more than the JSON
round trip of an event. The generated code reads each field once into a local,
evaluates conditions as inline expressions, folds conditions on ``Type`` and
``Operation`` at compile time for the class being compiled, skips facts that no
emitted target needs, and builds the nested document from pre-allocated
containers. Transform results are cached per input value (bounded, shared by
all classes; only results made of scalars, which the generated code reads but
never changes, and copies before putting lists/dicts into a document): KubeArmor
repeats its images, labels, process names and paths from event to event.
Each class's ``ecs``/``cim`` function is compiled on its first call. Any
unexpected exception falls back to the interpreted mapper, so errors keep
naming their rule id.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from integrations.mapping.definition import Condition, Source, Step
from integrations.mapping.vocabulary import TRANSFORMS

#: classes compiled per mapper; beyond this (garbage Type/Operation values) the generic code runs
MAX_CLASSES = 128
_UNKNOWN = object()


def _ident(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text)
    if not out or out[0].isdigit() or keyword.iskeyword(out):
        out = "_" + out
    return out


class _Gen:
    """Emits the source of one specialised function."""

    def __init__(self, mapper: Any, type_key: Any, op_key: Any, kind: str,
                 memos: Optional[Dict[str, Dict[Any, Any]]] = None) -> None:
        self.m = mapper
        self.memos = memos if memos is not None else {}
        self.defn = mapper.definition
        self.type_key = type_key      # lower-cased Type, None = missing, _UNKNOWN = not folded
        self.op_key = op_key
        self.kind = kind              # "ecs" | "cim"
        self.lines: List[str] = []
        self.consts: Dict[str, Any] = {}
        self.fields: Set[str] = set()
        self.facts_by_name = {f.name: f for f in self.defn.facts}
        self.dead: Set[str] = set()   # facts that can never have a value for this class

    # ---------------------------------------------------------------- constants
    def const(self, value: Any, hint: str = "K") -> str:
        for name, v in self.consts.items():
            if v is value:
                return name
        name = f"{hint}{len(self.consts)}"
        self.consts[name] = value
        return name

    def memo(self, name: str, params: Any) -> str:
        """Name of the result cache shared by every class for transform ``name`` with ``params``."""
        key = f"{name}:{sorted(params.items()) if isinstance(params, dict) else params!r}"
        cache = self.memos.setdefault(key, {})
        return self.const(cache, "M")

    def apply(self, target: str, fn: str, memo: str, depth: int) -> None:
        """``target = fn(target)`` unless None; string inputs go through the transform's cache."""
        self.emit(f"if {target}.__class__ is str or {target}.__class__ is int:", depth)
        self.emit(f"w = {memo}.get({target}, _MISS)", depth + 1)
        self.emit(f"{target} = w if w is not _MISS else _memo({memo}, {fn}, {target})", depth + 1)
        self.emit(f"elif {target}.__class__ is list: {target} = _cm({memo}, {fn}, tuple({target}), {target})", depth)
        self.emit(f"elif {target} is not None: {target} = {fn}({target})", depth)

    def emit(self, line: str, depth: int) -> None:
        self.lines.append("    " * depth + line)

    # ---------------------------------------------------------------- references
    def field_var(self, name: str) -> str:
        self.fields.add(name)
        return f"f_{_ident(name)}"

    def ref(self, src: Source) -> str:
        """A Python expression reading ``src``."""
        if src.kind == "field":
            var = self.field_var(src.path[0])
            if len(src.path) == 1:
                return var
            return f"({var}.get({src.path[1]!r}) if {var}.__class__ is dict else None)"
        if src.kind == "fact":
            if src.path[0] in self.dead:
                return "None"
            var = f"F_{src.path[0]}"
            expr = var
            for key in src.path[1:]:
                expr = f"({expr}.get({key!r}) if {expr}.__class__ is dict else None)"
            return expr
        if src.kind == "value":
            v = src.value
            if isinstance(v, (str, int, float, bool)) or v is None:
                return repr(v)
            return f"_copy({self.const(v)})"
        if src.kind == "setting":
            v = self.m.settings.get(src.value)
            if isinstance(v, (str, int, float, bool)) or v is None:
                return repr(v)
            return f"_copy({self.const(v)})"
        if src.kind == "format":
            return self.format_expr(src) or f"{self.const(self.m._format_getter(src), 'FMT')}(fields, None)"
        if src.kind == "event_time":
            return "T_iso"
        if src.kind == "cim_id":
            return "_cim_id(fields)"
        raise ValueError(f"unknown source kind {src.kind}")

    def format_expr(self, src: Source) -> Optional[str]:
        """Inline expression for a template (same result as ``Mapper._format_getter``); None if too deep."""
        from integrations.mapping.mapper import _PLACEHOLDER

        paths = [tuple(m.group(1).split(".")) for m in _PLACEHOLDER.finditer(src.value)]
        paths += list(src.requires) + [tuple(k.split(".")) for k in src.unless_value]
        if any(len(p) > 2 for p in paths):
            return None
        pieces: List[str] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(src.value):
            if m.start() > pos:
                pieces.append(repr(src.value[pos:m.start()]))
            x = self.ref(Source("field", path=tuple(m.group(1).split("."))))
            pieces.append(f"('' if {x} is None else str({x}))")
            pos = m.end()
        if pos < len(src.value):
            pieces.append(repr(src.value[pos:]))
        skip = [f"not {_ne_expr(self.ref(Source('field', path=p)))}" for p in src.requires]
        skip += [f"str({self.ref(Source('field', path=tuple(k.split('.'))))}) == {str(v)!r}"
                 for k, v in src.unless_value.items()]
        joined = f"(''.join(({', '.join(pieces)},)).strip() or None)"
        return f"(None if ({' or '.join(skip)}) else {joined})" if skip else joined

    # ---------------------------------------------------------------- conditions
    def _folded(self, src: Source) -> Any:
        """Compile-time value (lower-cased) of Type/Operation for this class, else _UNKNOWN."""
        if src.kind == "field" and len(src.path) == 1:
            if src.path[0] == "Type" and self.type_key is not _UNKNOWN:
                return self.type_key
            if src.path[0] == "Operation" and self.op_key is not _UNKNOWN:
                return self.op_key
        if src.kind == "fact" and src.path == ("stream",) and self.type_key not in (_UNKNOWN, None):
            table = self.defn.tables.get("stream_of_type")
            hit = table.get(self.type_key) if table is not None else None
            stream_fact = self.facts_by_name.get("stream")
            if hit is not None and stream_fact is not None and _is_plain_type_lookup(stream_fact):
                return hit
        return _UNKNOWN

    def cond(self, c: Condition) -> Any:
        """Python expression for a condition, or True/False when folded."""
        if c.op == "present_any":
            parts = []
            for s in c.refs:
                folded = self._folded(s)
                if folded is not _UNKNOWN:
                    if folded is not None and folded != "":
                        return True
                    continue
                e = _ne_expr(self.ref(s))
                if e != "False":
                    parts.append(e)
            return " or ".join(parts) if parts else False
        src = c.refs[0]
        folded = self._folded(src)
        if c.op == "eq":
            exp = c.expected
            if folded is not _UNKNOWN:
                if isinstance(exp, str):
                    return isinstance(folded, str) and folded == exp.lower()
                return folded == exp
            x = self.ref(src)
            if isinstance(exp, str):
                return f"_low({x}) == {exp.lower()!r}"
            return f"{x} == {exp!r}"
        lows = frozenset(e.lower() for e in c.expected if isinstance(e, str))
        others = tuple(e for e in c.expected if not isinstance(e, str))
        if folded is not _UNKNOWN:
            if isinstance(folded, str):
                return folded in lows
            return folded in others
        return f"_in({self.ref(src)}, {self.const(lows)}, {self.const(others)})"

    def guard(self, step: Step) -> Optional[str]:
        """Combined condition expression; None when the step can never run for this class."""
        if (step.sources and not step.inputs and step.default is None and step.fallback is None
                and all(s.kind == "fact" and s.path[0] in self.dead for s in step.sources)):
            return None  # reads only facts that are never set for this class
        parts: List[str] = []
        for c in step.when:
            e = self.cond(c)
            if e is False:
                return None
            if e is not True:
                parts.append(f"({e})")
        for c in step.unless:
            e = self.cond(c)
            if e is True:
                return None
            if e is not False:
                parts.append(f"not ({e})")
        return " and ".join(parts) if parts else "True"

    # ---------------------------------------------------------------- steps
    def value(self, step: Step, target: str, depth: int) -> None:
        """Emit code computing ``step``'s value into local ``target`` (None when empty)."""
        chain = [(self.const(TRANSFORMS[n].build(p, self.m._tables), "T"), self.memo(n, p)) for n, p in step.transforms]
        if step.inputs:
            self.emit(f"{target} = ({', '.join(self.ref(s) for s in step.inputs)},)", depth)
            for i, (t, memo) in enumerate(chain):
                if i == 0:
                    self.emit(f"{target} = _cm({memo}, {t}, {target}, {target})", depth)
                else:
                    self.apply(target, t, memo, depth)
        elif (len(step.sources) == 1 and step.sources[0].kind == "event_time" and not step.default
              and [n for n, _ in step.transforms] == ["date"] and step.fallback is None):
            # T_iso comes from parse_time/now_iso: 27 characters means canonical (years >= 1000),
            # and the date transform returns a canonical text unchanged
            t, memo = chain[0]
            self.emit(f"{target} = T_iso if len(T_iso) == 27 else {t}(T_iso)", depth)
            self.emit(f"if not ({target} or {target} == 0): {target} = None", depth)
            return
        else:
            srcs = step.sources
            self.emit(f"{target} = {self.ref(srcs[0])}", depth)
            for s in srcs[1:]:
                self.emit(f"if not ({target} or {target} == 0): {target} = {self.ref(s)}", depth)
            if chain:
                self.emit(f"if not ({target} or {target} == 0): {target} = None", depth)
                for t, memo in chain:
                    self.apply(target, t, memo, depth)
        fb = step.fallback
        if fb is not None:
            tests = " or ".join(_ne_expr(self.ref(self.m._ref_source(r))) for r in fb["present_any"]) or "False"
            self.emit(f"if not ({target} or {target} == 0): {target} = {fb['then']!r} if ({tests}) else {fb['else']!r}",
                      depth)
        elif step.default is not None:
            self.emit(f"if not ({target} or {target} == 0): {target} = {self.ref(Source('value', value=step.default))}",
                      depth)
        elif step.transforms or len(step.sources) > 1 or step.inputs:
            self.emit(f"if not ({target} or {target} == 0): {target} = None", depth)
        else:
            # a plain read: only empty strings/containers need turning into None
            self.emit(f"if {target} is not None and not ({target} or {target} == 0): {target} = None", depth)

    def facts_needed(self, steps: Sequence[Step]) -> List[Step]:
        """Facts the given steps need (transitively), in definition order."""
        need: Set[str] = set()
        todo = [s for s in steps]
        while todo:
            step = todo.pop()
            refs = list(step.sources) + list(step.inputs) + [r for c in step.when + step.unless for r in c.refs]
            if step.fallback:
                refs += [self.m._ref_source(r) for r in step.fallback["present_any"]]
            for src in refs:
                if src.kind == "fact" and src.path[0] not in need:
                    need.add(src.path[0])
                    todo.append(self.facts_by_name[src.path[0]])
        return [f for f in self.defn.facts if f.name in need]

    def open_value(self, r: Step, depth: int) -> Optional[Tuple[str, int]]:
        """Emit the head of a rule: its value and the ``if`` that tests it has one.

        Returns the expression holding the value and the depth of the lines that
        write it (one level below the emitted ``if``), or None when the rule can
        never have a value (a ``pass`` keeps an ``if`` guard above it valid).
        """
        if _is_plain_read(r):
            v = self.ref(r.sources[0])
            if v == "None":
                self.emit("pass", depth)
                return None
            self.emit(f"if {v} or {v} == 0:", depth)
            return v, depth
        lone = self.lone_source(r)
        if lone == "None":
            self.emit("pass", depth)
            return None
        if lone:
            self.emit(f"if {lone} is not None:", depth)
            depth += 1
        self.value(r, "v", depth)
        self.emit("if v is not None:", depth)
        return "v", depth

    def lone_source(self, step: Step) -> Optional[str]:
        """The local a step reads when it has one source and nothing else could give it a value.

        Such a step has no value when that local is None: the generated code then skips
        the step's transforms and checks with one test.
        """
        if (len(step.sources) != 1 or step.inputs or step.default is not None or step.fallback is not None
                or step.sources[0].kind not in ("field", "fact")):
            return None
        ref = self.ref(step.sources[0])
        return ref if ref == "None" or ref.isidentifier() else None

    def text_read(self, step: Step) -> Optional[str]:
        """The local a step reads when, for a non-empty string, its value is that string.

        True for one field/fact source whose transforms all return text unchanged
        (``TransformSpec.keeps_text``: ``string``, ``copy``) and no default or
        fallback: the generated code then writes such a string without calling the
        transforms or testing its type again.
        """
        if not step.transforms or not all(TRANSFORMS[n].keeps_text for n, _ in step.transforms):
            return None
        lone = self.lone_source(step)
        return lone if lone and lone != "None" else None

    def emit_facts(self, steps: Sequence[Step], depth: int) -> None:
        for fact in self.facts_needed(steps):
            g = self.guard(fact)
            var = f"F_{fact.name}"
            if g is None:
                self.dead.add(fact.name)
                continue
            self.emit(f"# fact {fact.id}", depth)
            lone = self.lone_source(fact)
            if g == "True" and lone:
                self.emit(f"{var} = None", depth)
                if lone != "None":
                    self.emit(f"if {lone} is not None:", depth)
                    self.value(fact, var, depth + 1)
            elif g == "True":
                self.value(fact, var, depth)
            else:
                self.emit(f"if {g}:", depth)
                self.value(fact, var, depth + 1)
                self.emit("else:", depth)
                self.emit(f"{var} = None", depth + 1)


def _ne_expr(x: str) -> str:
    """Inline form of ``_ne(x)`` (a call costs more than the tests); ``False`` for a dead read."""
    if x == "None":
        return "False"
    if x.isidentifier():
        # a truthy value answers at once; the tests only run for falsy ones (0 and False count)
        return f"({x} or ({x} is not None and {x} != '' and {x} != [] and {x} != {{}}))"
    return f"_ne({x})"


def _is_plain_read(step: Step) -> bool:
    """One field or fact, no transform, default, fallback or inputs: the value is the read itself."""
    return (len(step.sources) == 1 and not step.transforms and not step.inputs and step.default is None
            and step.fallback is None and step.sources[0].kind in ("field", "fact") and len(step.sources[0].path) == 1)


def _read_fields(g: _Gen) -> List[str]:
    """Function head: every field the body reads, in one C-level ``map`` over ``fields.get``."""
    names = sorted(g.fields)
    out = []
    if len(names) == 1:
        out.append(f"    f_{_ident(names[0])} = fields.get({names[0]!r})")
    elif names:
        out.append(f"    {', '.join('f_' + _ident(n) for n in names)}, = _map(fields.get, {tuple(names)!r})")
    out.append("    T_iso = _time(fields)")
    return out


def _is_plain_type_lookup(step: Step) -> bool:
    return (len(step.sources) == 1 and step.sources[0].kind == "field" and step.sources[0].path == ("Type",)
            and [n for n, _ in step.transforms] == ["lookup"] and not step.when and not step.unless)


_HELPERS = '''
def _ne(v):
    return v is not None and v != "" and v != [] and v != {}

def _low(v):
    return v.lower() if v.__class__ is str else v

def _in(v, lows, others):
    return v.lower() in lows if v.__class__ is str else v in others

def _copy(v):
    return list(v) if v.__class__ is list else (dict(v) if v.__class__ is dict else v)

def _own(v):
    # a computed value goes into the document as its own list/dict (cached results are shared)
    return dict(v) if v.__class__ is dict else list(v)

def _memo(cache, fn, v, key=_MISS):
    # fn(v) computed on a cache miss, kept under key (default v) when it can be shared
    r = fn(v)
    if _cacheable(r):
        if len(cache) >= 4096:
            cache.clear()
        cache[v if key is _MISS else key] = r
    return r

def _cacheable(r):
    # results shared between events: scalars, or tuples/lists/dicts of them: the generated
    # code only reads facts, and copies the lists/dicts it puts into a document
    c = r.__class__
    if c in _IMMUTABLE:
        return True
    if c is tuple or c is list:
        return all(x.__class__ in _IMMUTABLE for x in r)
    if c is dict:
        for x in r.values():
            xc = x.__class__
            if xc in _IMMUTABLE:
                continue
            if (xc is tuple or xc is list) and all(y.__class__ in _IMMUTABLE for y in x):
                continue
            return False
        return True
    return False

def _cm(cache, fn, key, v):
    # cached fn(v) under a key that may turn out unhashable (a tuple holding a dict)
    try:
        w = cache.get(key, _MISS)
    except TypeError:
        key = _frozen(key)
        if key is None:
            return fn(v)
        w = cache.get(key, _MISS)
    return w if w is not _MISS else _memo(cache, fn, v, key)

def _frozen(key):
    # a tuple key whose dicts (parsed key=value text: every value a string) become their
    # items; None when something else in it cannot be hashed
    out = []
    for x in key:
        c = x.__class__
        if c is dict:
            for y in x.values():
                if y.__class__ is not str:
                    return None
            out.append((_FROZEN, tuple(x.items())))
        elif c in _IMMUTABLE:
            out.append(x)
        else:
            return None
    return tuple(out)

def _app(obj, key, v):
    cur = obj.get(key)
    if cur is None:
        cur = obj[key] = []
    for x in (v if v.__class__ in (list, tuple) else (v,)):
        if x not in cur:
            cur.append(x)
'''


def _emit_ecs_writes(g: _Gen, r: Step, v: str, depth: int, cvar: Dict[Tuple[str, ...], str],
                     written: Set[Tuple[str, ...]], appended: Set[Tuple[str, ...]], scalar: bool) -> None:
    """Write the rule's value ``v`` (a local) to its ECS targets, one level below ``depth``.

    ``scalar``: ``v`` is known to be a string (no copy or sequence test).
    """
    plain: List[str] = []
    copied: List[str] = []
    for t in r.ecs:
        p = tuple(t.split("."))
        holder = cvar[p[:-1]]
        test = f"if {p[-1]!r} not in {holder}: " if p in written else ""
        written.add(p)
        plain.append(f"{test}{holder}[{p[-1]!r}] = {v}")
        copied.append(f"{test}{holder}[{p[-1]!r}] = _own({v})")
    if plain and (scalar or (_is_plain_read(r) and r.sources[0].kind == "field"
                             and not any(tuple(t.split(".")) in appended for t in r.ecs))):
        # a string, or an input value (never a tuple from JSON) that no append rule extends: no copy
        for line in plain:
            g.emit(line, depth + 1)
    elif plain:
        # lists are copied per target (an append rule may extend one of them later)
        g.emit(f"if {v}.__class__ not in _OWNED:", depth + 1)
        for line in plain:
            g.emit(line, depth + 2)
        g.emit("else:", depth + 1)
        for line in copied:
            g.emit(line, depth + 2)
    for t in r.ecs_append:
        p = tuple(t.split("."))
        holder = cvar[p[:-1]]
        # inline for one scalar value (the usual case): a list of one, or added when new
        if not scalar:
            g.emit(f"if {v}.__class__ in _SEQ: _app({holder}, {p[-1]!r}, {v})", depth + 1)
        g.emit(f"{'if' if scalar else 'elif'} {p[-1]!r} not in {holder}: {holder}[{p[-1]!r}] = [{v}]", depth + 1)
        g.emit(f"elif {v} not in {holder}[{p[-1]!r}]: {holder}[{p[-1]!r}].append({v})", depth + 1)


def _ecs_source(mapper: Any, type_key: Any, op_key: Any,
                memos: Optional[Dict[str, Dict[Any, Any]]] = None) -> Tuple[str, Dict[str, Any]]:
    g = _Gen(mapper, type_key, op_key, "ecs", memos)
    defn = mapper.definition
    rules = [r for r in defn.rules if r.ecs or r.ecs_append]
    body: List[str] = []
    g.lines = body
    # containers: every object path that holds a target
    paths: List[Tuple[str, ...]] = [tuple(k.split(".")) for k in defn.constants_ecs]
    paths += [("ecs", "version"), ("event", "id"), ("event", "ingested"), ("event", "original"), ("kubearmor", "extra")]
    for r in rules:
        paths += [tuple(t.split(".")) for t in r.ecs + r.ecs_append]
    containers: List[Tuple[str, ...]] = [()]
    for p in paths:
        for i in range(1, len(p)):
            if p[:i] not in containers:
                containers.append(p[:i])
    cvar = {c: "o" + "".join("_" + _ident(k) for k in c) for c in containers}
    # constants go into the containers' literals; containers are created (and linked) below,
    # once the rules show which ones this class can fill
    preset: Dict[Tuple[str, ...], List[str]] = {}
    for key, value in defn.constants_ecs.items():
        p = tuple(key.split("."))
        preset.setdefault(p[:-1], []).append(f"{p[-1]!r}: {g.ref(Source('value', value=value))}")
    preset.setdefault(("ecs",), []).append(f"'version': {defn.ecs_version!r}")
    live = [r for r in rules if g.guard(r) is not None]
    appended = {tuple(t.split(".")) for r in rules for t in r.ecs_append}
    g.emit_facts(live, 1)
    written: Set[Tuple[str, ...]] = {tuple(k.split(".")) for k in defn.constants_ecs} | {("ecs", "version")}
    for r in live:
        guard = g.guard(r)
        if guard is None:
            continue  # became dead once the facts were emitted
        g.emit(f"# rule {r.id}", 1)  # the rule id in a traceback or a line profile
        depth = 1
        if guard != "True":
            g.emit(f"if {guard}:", 1)
            depth = 2
        text = g.text_read(r)
        if text is not None:
            # the usual case, a non-empty string, written as it is: no transform call, no copy test
            g.emit(f"if {text}.__class__ is str:", depth)
            g.emit(f"if {text}:", depth + 1)
            _emit_ecs_writes(g, r, text, depth + 1, cvar, set(written), appended, scalar=True)
            g.emit(f"elif {text} is not None:", depth)
            depth += 1
        opened = g.open_value(r, depth)
        if opened is None:
            continue
        v, depth = opened
        _emit_ecs_writes(g, r, v, depth, cvar, written, appended, scalar=False)
    # identity, ingestion, original, extras
    g.emit("# event-id", 1)
    g.emit("o_event['id'] = _event_id(fields)", 1)
    g.emit("o_event['ingested'] = _clock()[0]", 1)
    keep = mapper.settings.get("keep_original", {})
    g.emit(f"if original is not None and {g.const(keep)}.get(F_stream_for_original, False):", 1)
    g.emit("o_event['original'] = original if original.__class__ is str else _original_text(original)", 2)
    # the set test runs in C; the comprehension only for the rare event with unknown keys
    g.emit("if not _CANONICAL.issuperset(fields):", 1)
    g.emit("o_kubearmor['extra'] = {k: x for k, x in fields.items() if k not in _CANONICAL}", 2)
    # only the containers some live rule of this class writes (and their parents) exist
    text = "\n".join(body)
    needed = {()} | {c for c in preset}
    for c in containers[1:]:
        if re.search(rf"\b{cvar[c]}\b", text):
            needed.update(c[:i] for i in range(len(c) + 1))
    # containers with a constant (and event: its id) are never empty: linked without a test
    full = {c[:i] for c in list(preset) + [("event",)] for i in range(len(c) + 1)}
    create = [f"    {cvar[c]} = {{{', '.join(preset.get(c, []))}}}" for c in containers if c in needed]
    body[:0] = create
    g.emit("# link", 1)
    for c in sorted((c for c in containers[1:] if c in needed), key=len, reverse=True):
        link = f"{cvar[c[:-1]]}[{c[-1]!r}] = {cvar[c]}"
        g.emit(link if c in full else f"if {cvar[c]}: {link}", 1)
    g.emit("return o", 1)
    if "stream" in g.facts_by_name and not any(f.name == "stream" for f in g.facts_needed(live)):
        # the original is kept per stream: make sure the stream fact is computed
        pre: List[str] = []
        g.lines = pre
        g.emit_facts([g.facts_by_name["stream"]], 1)
        body[:0] = pre
        g.lines = body
    head = ["def _ecs(fields, original):"] + _read_fields(g)
    src = "\n".join(head + body).replace("F_stream_for_original", "F_stream")
    return _HELPERS + "\n" + src + "\n", g.consts


def _cim_source(mapper: Any, type_key: Any, op_key: Any,
                memos: Optional[Dict[str, Dict[Any, Any]]] = None) -> Tuple[str, Dict[str, Any]]:
    g = _Gen(mapper, type_key, op_key, "cim", memos)
    defn = mapper.definition
    rules = [r for r in defn.rules if r.cim]
    body: List[str] = []
    g.lines = body
    live = [r for r in rules if g.guard(r) is not None]
    routes = []
    for route in defn.routes:
        fake = Step(route.id)
        fake.when, fake.unless = route.when, route.unless
        if g.guard(fake) is not None:
            routes.append((route, fake))
    g.emit("rec = {}", 1)
    g.emit_facts(live + [f for _, f in routes], 1)
    written: Set[str] = set()
    for r in live:
        guard = g.guard(r)
        if guard is None:
            continue
        g.emit(f"# rule {r.id}", 1)
        pending = [t for t in r.cim]
        check = " or ".join(f"{t!r} not in rec" for t in pending if t in written)
        all_written = all(t in written for t in pending)
        full = [x for x in (guard if guard != "True" else None, check if all_written else None) if x]
        depth = 1
        if full:
            g.emit(f"if {' and '.join(f'({x})' for x in full)}:", 1)
            depth = 2
        opened = g.open_value(r, depth)
        if opened is None:
            continue
        v, depth = opened
        if v == "v":
            g.emit("if v.__class__ in _OWNED: v = _copy(v)", depth + 1)
        for t in pending:
            if t in written:
                g.emit(f"if {t!r} not in rec: rec[{t!r}] = {v}", depth + 1)
            else:
                g.emit(f"rec[{t!r}] = {v}", depth + 1)
        written.update(pending)
    g.emit("et = []", 1)
    g.emit("tg = []", 1)
    for route, fake in routes:
        guard = g.guard(fake)
        if guard is None:
            continue
        g.emit(f"if {guard}:", 1)
        g.emit(f"et.append({route.eventtype!r})", 2)
        g.emit(f"tg.extend({route.tags!r})", 2)
    g.emit("rec['eventtype'] = et", 1)
    g.emit("rec['tag'] = tg", 1)
    g.emit("return rec", 1)
    head = ["def _cim(fields):"] + _read_fields(g)
    return _HELPERS + "\n" + "\n".join(head + body) + "\n", g.consts


class CompiledMapper:
    """Per-class generated ``ecs``/``cim`` functions for one :class:`Mapper`."""

    def __init__(self, mapper: Any) -> None:
        from integrations.jsoncodec import dumps_str
        from integrations.mapping.mapper import _original_text
        from integrations.model import CANONICAL_FIELDS

        self.mapper = mapper
        self._classes: Dict[Tuple[Any, Any], List[Callable]] = {}
        self._by_spelling: Dict[Tuple[Any, Any], List[Callable]] = {}
        clock = mapper.clock

        from integrations.mapping.mapper import event_timestamp
        from integrations.mapping.timefmt import is_canonical

        def _time(fields: Any) -> str:
            ut = fields.get("UpdatedTime")
            if ut.__class__ is str and is_canonical(ut):
                return ut  # KubeArmor's own form is the output form: no parse needed
            ts = event_timestamp(fields)
            return ts[0] if ts is not None else clock()[0]

        self._globals = {
            "_event_id": mapper.event_id, "_cim_id": mapper.cim_id, "_clock": clock, "_dumps_str": dumps_str,
            "_CANONICAL": frozenset(CANONICAL_FIELDS), "_time": _time, "_original_text": _original_text,
            "_MISS": _UNKNOWN, "_map": map, "_SEQ": frozenset((list, tuple)),
            "_OWNED": frozenset((list, tuple, dict)), "_IMMUTABLE": frozenset((str, int, float, bool, type(None))),
            "_FROZEN": _UNKNOWN,  # marks a dict's items in a cache key (no JSON value is this object)
        }
        #: per-transform result caches (string input -> immutable result), shared by all classes
        self._memos: Dict[str, Dict[Any, Any]] = {}
        # Only classes the definition knows get their own code: garbage Type/Operation values
        # (fuzzing, broken producers) run the generic function instead of compiling new code.
        tables = mapper.definition.tables
        types = tables.get("stream_of_type")
        cats = tables.get("categorization")
        self._known_types = {str(k).lower() for k in types.rows} if types is not None else set()
        self._known_ops = {str(k).split("/", 1)[0].lower() for k in cats.rows} if cats is not None else set()
        self._generic = self._build(_UNKNOWN, _UNKNOWN)

    def _compile(self, kind: int, type_key: Any, op_key: Any) -> Callable:
        make, name = ((_ecs_source, "_ecs"), (_cim_source, "_cim"))[kind]
        src, consts = make(self.mapper, type_key, op_key, self._memos)
        ns: Dict[str, Any] = dict(self._globals)
        ns.update(consts)
        code = compile(src, f"<accuknox-mapping {name} {type_key!r}/{op_key!r}>", "exec")
        exec(code, ns)  # noqa: S102 - our own generated code from the validated definition
        return ns[name]  # type: ignore[no-any-return]

    def _build(self, type_key: Any, op_key: Any) -> List[Callable]:
        """``[ecs, cim]`` for a class; each is compiled on its first call (a poller uses one view).

        The placeholders replace themselves in the list, so later lookups get
        the compiled function with no extra call.
        """
        pair: List[Callable] = []

        def placeholder(kind: int) -> Callable:
            def first_call(*args: Any) -> Any:
                fn = pair[kind]
                if fn is stub[kind]:
                    fn = pair[kind] = self._compile(kind, type_key, op_key)
                return fn(*args)
            return first_call

        stub = [placeholder(0), placeholder(1)]
        pair.extend(stub)
        return pair

    def functions(self, fields: Any) -> List[Callable]:
        """The (ecs, cim) functions for this event's class."""
        t = fields.get("Type")
        o = fields.get("Operation")
        try:
            # the usual case: this exact (Type, Operation) spelling was seen before
            return self._by_spelling[(t, o)]
        except (KeyError, TypeError):
            pass
        key = (t.lower() if t.__class__ is str else (None if t is None else _UNKNOWN),
               o.lower() if o.__class__ is str else (None if o is None else _UNKNOWN))
        fns = self._classes.get(key)
        if fns is None:
            if (key[0] is _UNKNOWN or key[1] is _UNKNOWN or len(self._classes) >= MAX_CLASSES
                    or (key[0] is not None and key[0] not in self._known_types)
                    or (key[1] is not None and key[1] not in self._known_ops)):
                return self._generic
            fns = self._classes[key] = self._build(*key)
        if t.__class__ is str and o.__class__ is str and len(self._by_spelling) < 4 * MAX_CLASSES:
            self._by_spelling[(t, o)] = fns
        return fns

    def source(self, kind: str, type_key: Any = _UNKNOWN, op_key: Any = _UNKNOWN) -> str:
        """Generated source (for inspection and tests)."""
        return (_ecs_source if kind == "ecs" else _cim_source)(self.mapper, type_key, op_key)[0]
