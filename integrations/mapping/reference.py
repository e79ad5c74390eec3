"""Read-only access to the ECS and Splunk CIM reference files.

Consumes the unmodified public files under ``reference/`` (``ecs/ecs_flat*.yml``;
``splunk-cim/data_models/*.json``, ``CommonFields.json``,
``datamodel_tags_cim532.json``). Produces small immutable objects that the
mapping-definition checks (``definition.check_references``), the renderers and
the tests query. Pure data access: no pytest, no network, no writes.

Where it sits: ``errors`` <- ``mapping.reference`` <- ``mapping.definition`` /
render / tests. Parsed files are cached per process (keyed by path, size and
modification time) because the ECS files are large (0.7-1.3 MB of YAML).

The reference folder is found by :func:`default_reference_dir`: the
``ACCUKNOX_REFERENCE_DIR`` environment variable, else ``../shared/reference``
next to the repository.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple, TypeVar, Union

import yaml

from integrations.errors import ConfigError

__all__ = [
    "CimDataset",
    "CimField",
    "CimReference",
    "EcsField",
    "EcsReference",
    "default_reference_dir",
]

PathLike = Union[str, "os.PathLike[str]"]
ENV_REFERENCE_DIR = "ACCUKNOX_REFERENCE_DIR"

_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def default_reference_dir() -> Optional[Path]:
    """The reference folder: ``$ACCUKNOX_REFERENCE_DIR``, else ``<repo>/../shared/reference``, else ``None``.

    An explicit environment setting is returned even when the folder does not
    exist, so a typo fails loudly at load time instead of silently falling back.
    """
    env = os.environ.get(ENV_REFERENCE_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    repo_root = Path(__file__).resolve().parents[2]
    candidate = repo_root.parent / "shared" / "reference"
    return candidate if candidate.is_dir() else None


# --------------------------------------------------------------------------- cache

_T = TypeVar("_T")
_CACHE: Dict[Tuple[str, str, int, int], Any] = {}
_CACHE_LOCK = threading.Lock()


def _cached(kind: str, path: Path, build: Callable[[Path], _T]) -> _T:
    """``build(path)`` once per (kind, resolved path, size, mtime) in this process."""
    try:
        resolved = path.resolve(strict=True)
        st = resolved.stat()
    except OSError as exc:
        raise ConfigError(
            f"reference file or folder {path} not found ({exc.strerror}); set {ENV_REFERENCE_DIR}"
        ) from None
    key = (kind, str(resolved), st.st_size, st.st_mtime_ns)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    value = build(resolved)
    with _CACHE_LOCK:
        _CACHE[key] = value
    return value


def clear_cache() -> None:
    """Forget every parsed reference file (tests that rewrite files use it)."""
    with _CACHE_LOCK:
        _CACHE.clear()


# --------------------------------------------------------------------------- ECS


class EcsField:
    """One field of ``ecs_flat.yml``: only what checks and renderers need.

    ``allowed_values`` is the set of ``allowed_values[].name`` (``None`` when the
    field has no closed list); ``expected_event_types`` maps each
    ``event.category`` value to its expected ``event.type`` values (only on
    ``event.category``); ``object_type`` is the leaf type of an ``object`` field
    with arbitrary keys (``labels`` -> ``keyword``).
    """

    __slots__ = (
        "name", "type", "normalize", "allowed_values", "expected_event_types", "pattern",
        "object_type", "expected_values", "level", "scaling_factor",
    )

    def __init__(
        self,
        name: str,
        type: str,
        normalize: List[str],
        allowed_values: Optional[FrozenSet[str]] = None,
        expected_event_types: Optional[Dict[str, FrozenSet[str]]] = None,
        pattern: Optional[str] = None,
        object_type: Optional[str] = None,
        expected_values: Optional[List[str]] = None,
        level: Optional[str] = None,
        scaling_factor: Optional[float] = None,
    ) -> None:
        self.name = name
        self.type = type
        self.normalize = normalize
        self.allowed_values = allowed_values
        self.expected_event_types = expected_event_types
        self.pattern = pattern
        self.object_type = object_type
        self.expected_values = expected_values
        self.level = level
        self.scaling_factor = scaling_factor

    @property
    def is_array(self) -> bool:
        return "array" in self.normalize

    def __repr__(self) -> str:
        return f"EcsField({self.name!r}, {self.type!r})"


def _ecs_field(name: str, raw: Mapping[str, Any]) -> EcsField:
    allowed = raw.get("allowed_values")
    allowed_names = frozenset(str(a["name"]) for a in allowed) if allowed else None
    expected_types = None
    if allowed and name == "event.category":
        expected_types = {
            str(a["name"]): frozenset(str(t) for t in (a.get("expected_event_types") or ())) for a in allowed
        }
    expected_values = raw.get("expected_values")
    return EcsField(
        name=name,
        type=str(raw.get("type", "")),
        normalize=[str(n) for n in (raw.get("normalize") or ())],
        allowed_values=allowed_names,
        expected_event_types=expected_types,
        pattern=raw.get("pattern"),
        object_type=raw.get("object_type"),
        expected_values=[str(v) for v in expected_values] if expected_values else None,
        level=raw.get("level"),
        scaling_factor=raw.get("scaling_factor"),
    )


class EcsReference:
    """The fields of one ECS version, from its ``ecs_flat.yml``."""

    def __init__(self, fields: Dict[str, EcsField], path: Optional[Path] = None) -> None:
        self._fields = fields
        self.path = path

    @classmethod
    def load(cls, path: PathLike) -> EcsReference:
        """Parse (or take from the cache) an ``ecs_flat*.yml`` file."""
        return _cached("ecs", Path(path), cls._parse)

    @classmethod
    def _parse(cls, path: Path) -> EcsReference:
        try:
            with path.open("rb") as fh:
                raw = yaml.load(fh, Loader=_YamlLoader)  # noqa: S506 - SafeLoader / CSafeLoader only
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read ECS reference {path}: {exc}") from None
        if not isinstance(raw, dict) or not all(isinstance(v, dict) and "type" in v for v in raw.values()):
            raise ConfigError(f"{path} is not an ECS flat file (name -> {{type, ...}})")
        return cls({str(name): _ecs_field(str(name), spec) for name, spec in raw.items()}, path)

    def field(self, name: str) -> Optional[EcsField]:
        """The field definition, or ``None`` when ``name`` is not an ECS field."""
        return self._fields.get(name)

    def is_array(self, name: str) -> bool:
        """Whether ECS allows an array for ``name`` (``normalize: [array]``); unknown names are not."""
        f = self._fields.get(name)
        return f is not None and "array" in f.normalize

    def object_parent(self, name: str) -> Optional[EcsField]:
        """For ``labels.env``: the nearest ``object`` field above ``name`` that declares an ``object_type``."""
        parts = name.split(".")
        for i in range(len(parts) - 1, 0, -1):
            f = self._fields.get(".".join(parts[:i]))
            if f is not None and f.type == "object" and f.object_type:
                return f
        return None

    def names(self) -> List[str]:
        return list(self._fields)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"EcsReference({str(self.path)!r}, {len(self._fields)} fields)"


# --------------------------------------------------------------------------- CIM


class CimField:
    """One field of a CIM dataset as the pytest-splunk-addon data model JSON states it.

    ``condition`` is the JSON's ``type`` (``required``, ``conditional``,
    ``optional`` or ``not_allowed_in_search`` ...); ``required`` is
    ``condition == "required"``. The JSON's own ``condition`` key (an SPL
    fragment saying *when* a conditional field is required, e.g.
    ``transport=tcp OR transport=udp``) is ``when`` (``None`` when absent or empty).
    ``dataset`` names the dataset that declares the field (the parent for
    inherited fields).
    """

    __slots__ = ("name", "condition", "required", "expected_values", "validity", "when",
                 "multi_value", "comment", "dataset")

    def __init__(
        self,
        name: str,
        condition: str,
        expected_values: Optional[List[str]] = None,
        validity: Optional[str] = None,
        when: Optional[str] = None,
        multi_value: bool = False,
        comment: str = "",
        dataset: str = "",
    ) -> None:
        self.name = name
        self.condition = condition
        self.required = condition == "required"
        self.expected_values = expected_values
        self.validity = validity
        self.when = when
        self.multi_value = multi_value
        self.comment = comment
        self.dataset = dataset

    @property
    def type(self) -> str:
        """The JSON's own name for :attr:`condition`."""
        return self.condition

    def __repr__(self) -> str:
        return f"CimField({self.name!r}, {self.condition!r})"


class CimDataset:
    """A dataset (``Model.Dataset[.Child]``) with the fields it has, inherited ones included.

    ``fields`` keeps the parent's fields first (Splunk data model inheritance);
    a child field of the same name overrides the parent's. ``tags`` is the list
    of tag sets (any one set selects the dataset); ``fields_clusters`` the
    groups that must be all present or all absent (inherited too);
    ``constraints`` the search constraints from the root dataset down to this one.
    """

    __slots__ = ("path", "model", "name", "parent", "children", "tags", "fields", "own_fields",
                 "fields_clusters", "search_constraint", "constraints")

    def __init__(
        self,
        path: str,
        model: str,
        name: str,
        parent: Optional[str],
        tags: List[FrozenSet[str]],
        fields: Dict[str, CimField],
        own_fields: Dict[str, CimField],
        fields_clusters: List[Tuple[str, ...]],
        search_constraint: str,
        constraints: Tuple[str, ...],
    ) -> None:
        self.path = path
        self.model = model
        self.name = name
        self.parent = parent
        self.children: List[str] = []
        self.tags = tags
        self.fields = fields
        self.own_fields = own_fields
        self.fields_clusters = fields_clusters
        self.search_constraint = search_constraint
        self.constraints = constraints

    def field(self, name: str) -> Optional[CimField]:
        return self.fields.get(name)

    def required_fields(self) -> List[str]:
        return [f.name for f in self.fields.values() if f.required]

    def __repr__(self) -> str:
        return f"CimDataset({self.path!r}, {len(self.fields)} fields)"


class CimReference:
    """The 23 CIM data models of pytest-splunk-addon, plus common fields and the tag table."""

    def __init__(
        self,
        datasets: Dict[str, CimDataset],
        common: Dict[str, str],
        tag_table: List[Tuple[str, FrozenSet[str]]],
        path: Optional[Path] = None,
    ) -> None:
        self._datasets = datasets
        self._common = common
        self._tag_table = tag_table
        self.path = path
        # "Model.Name" -> full path, for children addressed without their parent
        short: Dict[str, List[str]] = {}
        for full, ds in datasets.items():
            short.setdefault(f"{ds.model}.{ds.name}", []).append(full)
        self._short = {k: v[0] for k, v in short.items() if len(v) == 1}

    @classmethod
    def load(cls, directory: PathLike) -> CimReference:
        """Parse (or take from the cache) a ``splunk-cim`` folder (or its ``data_models`` folder)."""
        return _cached("cim", Path(directory), cls._parse)

    @classmethod
    def _parse(cls, directory: Path) -> CimReference:
        models_dir = directory / "data_models" if (directory / "data_models").is_dir() else directory
        base = models_dir.parent if models_dir.name == "data_models" else directory
        files = sorted(models_dir.glob("*.json"))
        datasets: Dict[str, CimDataset] = {}
        for fn in files:
            raw = _read_json(fn)
            if not isinstance(raw, dict) or "model_name" not in raw or "objects" not in raw:
                continue  # CommonFields.json, DatamodelSchema.json when given the parent folder
            model = str(raw["model_name"])
            for obj in raw["objects"]:
                _add_dataset(datasets, model, obj, None, fn)
        if not datasets:
            raise ConfigError(f"no CIM data model JSON found in {models_dir}; set {ENV_REFERENCE_DIR}")
        common: Dict[str, str] = {}
        common_file = base / "CommonFields.json"
        if common_file.is_file():
            for f in _read_json(common_file).get("fields", []):
                common[str(f["name"])] = str(f.get("type", ""))
        tag_table: List[Tuple[str, FrozenSet[str]]] = []
        tags_file = base / "datamodel_tags_cim532.json"
        if tags_file.is_file():
            for key, tags in _read_json(tags_file).items():
                tag_table.append((str(key), frozenset(str(t) for t in tags)))
        return cls(datasets, common, tag_table, directory)

    # -- datasets

    def dataset(self, path: str) -> CimDataset:
        """``"Endpoint.Processes"``, ``"Network_Traffic.All_Traffic.Allowed_Traffic"`` (or
        ``"Network_Traffic.Allowed_Traffic"``) -> the dataset; :class:`KeyError` when unknown."""
        ds = self._datasets.get(path)
        if ds is None:
            full = self._short.get(path)
            if full is not None:
                ds = self._datasets[full]
        if ds is None:
            model = path.split(".", 1)[0]
            known = [p for p in self._datasets if p.split(".", 1)[0] == model] or sorted(
                {p.split(".", 1)[0] for p in self._datasets}
            )
            raise KeyError(f"unknown CIM dataset {path!r}; known: {', '.join(known)}")
        return ds

    def has_dataset(self, path: str) -> bool:
        return path in self._datasets or path in self._short

    def datasets(self) -> List[str]:
        """Every dataset path, parents before children, in file order."""
        return list(self._datasets)

    def has_field(self, dataset: str, name: str) -> bool:
        """Whether ``name`` is a field of ``dataset`` (inherited fields count)."""
        return name in self.dataset(dataset).fields

    # -- common fields and tags

    def common_fields(self) -> FrozenSet[str]:
        """Names Enterprise Security fills itself (``CommonFields.json``); never extract them."""
        return frozenset(self._common)

    def common_field_types(self) -> Dict[str, str]:
        """``CommonFields.json`` name -> its ``not_allowed_in_*`` type."""
        return dict(self._common)

    def datamodel_for_tags(self, tags: Iterable[str]) -> List[str]:
        """Entries of ``datamodel_tags_cim532.json`` whose whole tag set is within ``tags``.

        Returns the table's names (``Endpoint_Processes``, ``Network_Traffic``,
        ``Intrusion_Detection``, ``Alerts`` ...), in file order, without the
        ``.2`` suffix the table uses for a second tag set of the same entry.
        """
        have = set(tags)
        out: List[str] = []
        for key, needed in self._tag_table:
            name = key.split(".", 1)[0]
            if needed and needed <= have and name not in out:
                out.append(name)
        return out

    def __repr__(self) -> str:
        return f"CimReference({str(self.path)!r}, {len(self._datasets)} datasets)"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read CIM reference {path}: {exc}") from None


def _cim_field(raw: Mapping[str, Any], dataset: str) -> CimField:
    expected = raw.get("expected_values")
    return CimField(
        name=str(raw["name"]),
        condition=str(raw.get("type") or "required"),  # pytest-splunk-addon's default
        expected_values=[str(v) for v in expected] if expected else None,
        validity=raw.get("validity") or None,
        when=(str(raw["condition"]).strip() or None) if raw.get("condition") else None,
        multi_value=bool(raw.get("multi_value", False)),
        comment=str(raw.get("comment", "")),
        dataset=dataset,
    )


def _add_dataset(
    datasets: Dict[str, CimDataset], model: str, obj: Mapping[str, Any], parent: Optional[CimDataset], source: Path
) -> None:
    name = str(obj["name"])
    path = f"{parent.path}.{name}" if parent else f"{model}.{name}"
    own = {}
    for raw in obj.get("fields") or ():
        f = _cim_field(raw, path)
        own[f.name] = f
    fields = dict(parent.fields) if parent else {}
    fields.update(own)
    clusters = list(parent.fields_clusters) if parent else []
    for cluster in obj.get("fields_cluster") or ():
        group = tuple(str(c) for c in cluster)
        missing = [c for c in group if c not in fields]
        if missing:
            raise ConfigError(f"{source}: dataset {path}: fields_cluster names unknown fields {missing}")
        if group not in clusters:
            clusters.append(group)
    constraint = str(obj.get("search_constraints") or "")
    ds = CimDataset(
        path=path,
        model=model,
        name=name,
        parent=parent.path if parent else None,
        tags=[frozenset(str(t) for t in group) for group in obj.get("tags") or ()],
        fields=fields,
        own_fields=own,
        fields_clusters=clusters,
        search_constraint=constraint,
        constraints=(parent.constraints if parent else ()) + ((constraint,) if constraint else ()),
    )
    if path in datasets:
        raise ConfigError(f"{source}: duplicate CIM dataset {path}")
    datasets[path] = ds
    if parent is not None:
        parent.children.append(path)
    for child in obj.get("child_dataset") or ():
        _add_dataset(datasets, model, child, ds, source)
