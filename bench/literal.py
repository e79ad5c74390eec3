"""The ``literal`` row: the cheapest Python that could produce our ECS documents.

For every input shape (``Type``, ``Operation`` and key set) one sample event is
mapped once, untimed, by the project's mapper; from that document a function is
generated that builds a document of the same nested shape as one dict literal:
each leaf equal to an input value is read from the event (``e['Key']``), every
other leaf (values the mapping derives: lookups, basenames, times, ids) is a
constant. The timed loop is decode + that function + encode: no condition, no
transform, no lookup - what any pure-Python mapper emitting documents of this
size must pay at least on this interpreter. ``map_ecs/literal`` tells how
much of the remaining distance to ``floor`` is mapping logic and how much is
just building and encoding the bigger document.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple

from integrations import jsoncodec
from integrations.events import normalize
from integrations.mapping import Mapper


def _literal(doc: Any, sources: Dict[Any, str], consts: List[Any]) -> str:
    if isinstance(doc, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(v, sources, consts)}" for k, v in doc.items()) + "}"
    if isinstance(doc, list):
        return "[" + ", ".join(_literal(v, sources, consts) for v in doc) + "]"
    try:
        key = sources.get(doc) if not isinstance(doc, bool) else None
    except TypeError:
        key = None
    if key is not None:
        return f"e[{key!r}]"
    consts.append(doc)
    return f"C[{len(consts) - 1}]"


def _builder(sample: Dict[str, Any], mapper: Mapper) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
    doc = mapper.to_ecs(normalize(sample))
    sources: Dict[Any, str] = {}
    for k, v in sample.items():
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and v not in sources:
            sources[v] = k
    consts: List[Any] = []
    src = f"def build(e):\n    return {_literal(doc, sources, consts)}\n"
    ns: Dict[str, Any] = {"C": consts}
    exec(compile(src, "<bench literal>", "exec"), ns)  # noqa: S102 - generated here from our own output
    return ns["build"]  # type: ignore[no-any-return]


def _shape(obj: Dict[str, Any]) -> Tuple[Any, ...]:
    return (obj.get("Type"), obj.get("Operation"), tuple(obj))


def literal_fn(lines: Sequence[bytes], mapper: Mapper) -> Callable[[], int]:
    """The timed loop of the ``literal`` row over ``lines`` (builders made before it runs)."""
    loads, dumps = jsoncodec.loads, jsoncodec.dumps
    builders: Dict[Tuple[Any, ...], Callable[[Dict[str, Any]], Dict[str, Any]]] = {}
    for line in lines:
        obj = loads(line)
        shape = _shape(obj)
        if shape not in builders:
            builders[shape] = _builder(obj, mapper)
    get = builders.__getitem__

    def run() -> int:
        for line in lines:
            e = loads(line)
            dumps(get((e.get("Type"), e.get("Operation"), tuple(e)))(e))
        return len(lines)

    return run
