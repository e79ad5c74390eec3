"""Output views of an event, by name: ``ecs``, ``cim``, ``raw`` (a registry used by ``map`` and the sinks)."""

from __future__ import annotations

from typing import Any, Callable, Dict

from integrations.mapping.mapper import Mapper
from integrations.model import ParsedEvent

View = Callable[[ParsedEvent], Any]


def _raw(mapper: Mapper) -> View:
    def view(ev: ParsedEvent) -> Any:
        return ev.original if ev.original is not None else ev.fields

    return view


VIEWS: Dict[str, Callable[[Mapper], View]] = {
    "ecs": lambda m: m.to_ecs,
    "cim": lambda m: m.to_cim,
    "raw": _raw,
}


def get_view(name: str, mapper: Mapper) -> View:
    """The view function for ``name``; ``ValueError`` naming the known views otherwise."""
    try:
        return VIEWS[name](mapper)
    except KeyError:
        raise ValueError(f"unknown view {name!r}; known: {sorted(VIEWS)}") from None
