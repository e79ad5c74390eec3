"""Renderers: pure functions from the mapping definition to artifact contents.

Each artifact module registers ``relative path -> function(definition) -> str``
in :data:`ARTIFACTS` (a registry, so a new artifact touches one module). The
``render`` command is the only place that writes them; ``render --check``
compares them with the committed files. Renderers never import the poller or
the sinks, and the poller and sinks never import renderers.
"""

from __future__ import annotations

import importlib
from typing import Callable, Dict

from integrations.mapping.definition import Definition

Renderer = Callable[[Definition], str]

#: repository-relative path -> renderer; filled by the modules in RENDER_MODULES
ARTIFACTS: Dict[str, Renderer] = {}

#: modules that register artifacts (imported on demand by :func:`all_artifacts`)
RENDER_MODULES = (
    "integrations.render.ecs_pipeline",
    "integrations.render.es_templates",
    "integrations.render.kibana",
    "integrations.render.splunk_props",
    "integrations.render.splunk_knowledge",
)


def artifact(path: str) -> Callable[[Renderer], Renderer]:
    """Decorator: register ``fn`` as the renderer of ``path``."""

    def deco(fn: Renderer) -> Renderer:
        if path in ARTIFACTS and ARTIFACTS[path] is not fn:
            raise ValueError(f"artifact {path} registered twice")
        ARTIFACTS[path] = fn
        return fn

    return deco


def all_artifacts() -> Dict[str, Renderer]:
    """Every registered artifact (imports the render modules that exist)."""
    for name in RENDER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return dict(sorted(ARTIFACTS.items()))
