"""Names of the Elasticsearch and Kibana assets, derived from the mapping definition.

Consumes: a :class:`~integrations.mapping.definition.Definition` (the data stream
type and module constants, the ``stream`` fact's values and the format of the rule
that writes ``data_stream.dataset``) and the package version. Produces: an
:class:`ElasticNames` with every name ``ecs-mapping.md`` §8 lists, so the
renderers (templates, pipelines, Kibana objects) spell a name in one place and
follow the definition when it changes.

    type      data_stream.type constant             logs
    dataset   format of the data_stream.dataset rule accuknox.alert, accuknox.log
    data stream  <type>-<dataset>-<namespace>        logs-accuknox.alert-default
    ILM policy   <type>-<dataset>-default_policy
    component    <type>-<dataset>@package / @custom
    index tmpl   <type>-<dataset>
    pipelines    <type>-<dataset>-<version>, <type>-<module>.common-<version>
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from integrations import __version__
from integrations.errors import MappingDefinitionError
from integrations.mapping.definition import Definition
from integrations.mapping.vocabulary import Table

__all__ = ["ElasticNames", "names_for"]

_TYPE_FIELD = "data_stream.type"
_MODULE_FIELD = "event.module"
_DATASET_FIELD = "data_stream.dataset"
_STREAM_FACT = "stream"


class ElasticNames:
    """Every asset name for one definition and package version."""

    def __init__(self, ds_type: str, module: str, datasets: Dict[str, str], version: str, namespace: str) -> None:
        self.type = ds_type
        self.module = module
        self.datasets = dict(datasets)  # stream -> dataset
        self.version = version
        self.default_namespace = namespace

    @property
    def streams(self) -> Tuple[str, ...]:
        return tuple(sorted(self.datasets))

    def dataset(self, stream: str) -> str:
        try:
            return self.datasets[stream]
        except KeyError:
            raise MappingDefinitionError(
                f"unknown stream {stream!r}; the definition's streams are {list(self.streams)}") from None

    def base(self, stream: str) -> str:
        """``logs-accuknox.alert``: the index template name and the prefix of everything else."""
        return f"{self.type}-{self.dataset(stream)}"

    def index_pattern(self, stream: str) -> str:
        return f"{self.base(stream)}-*"

    def data_stream(self, stream: str, namespace: Optional[str] = None) -> str:
        return f"{self.base(stream)}-{namespace or self.default_namespace}"

    def ilm_policy(self, stream: str) -> str:
        return f"{self.base(stream)}-default_policy"

    def package_template(self, stream: str) -> str:
        return f"{self.base(stream)}@package"

    def custom_template(self, stream: str) -> str:
        return f"{self.base(stream)}@custom"

    def index_template(self, stream: str) -> str:
        return self.base(stream)

    def pipeline(self, stream: str) -> str:
        return f"{self.base(stream)}-{self.version}"

    def common_pipeline(self) -> str:
        return f"{self.type}-{self.module}.common-{self.version}"

    def pipelines(self) -> List[str]:
        """Common first, then one per stream (the order setup installs them)."""
        return [self.common_pipeline()] + [self.pipeline(s) for s in self.streams]

    def data_view_pattern(self) -> str:
        """``logs-accuknox.*``: every data stream of the module."""
        return f"{self.type}-{self.module}.*"


def _stream_values(defn: Definition) -> List[str]:
    fact = next((f for f in defn.facts if f.name == _STREAM_FACT), None)
    if fact is None:
        raise MappingDefinitionError(f"the definition has no fact named {_STREAM_FACT!r} (alert/log routing)")
    values = set()
    for name, params in fact.transforms:
        table = defn.tables.get(params.get("table", "")) if name == "lookup" else None
        if isinstance(table, Table):
            values.update(str(v) for v in table.rows.values() if v is not None)
            if table.default is not None:
                values.add(str(table.default))
    if fact.fallback:
        values.update(str(fact.fallback[k]) for k in ("then", "else"))
    if fact.default is not None:
        values.add(str(fact.default))
    if not values:
        raise MappingDefinitionError(f"fact {fact.id}: cannot tell the stream names from its tables")
    return sorted(values)


def _dataset_format(defn: Definition) -> str:
    for rule in defn.rules:
        if _DATASET_FIELD in rule.ecs:
            for name, params in rule.transforms:
                if name == "format":
                    return str(params["template"])
            raise MappingDefinitionError(
                f"rule {rule.id}: {_DATASET_FIELD} must come from a `format` transform (e.g. 'accuknox.{{0}}')")
    raise MappingDefinitionError(f"no rule writes {_DATASET_FIELD}")


def names_for(defn: Definition, version: Optional[str] = None) -> ElasticNames:
    """The asset names for ``defn`` at ``version`` (default: the package version)."""
    consts = defn.constants_ecs
    for key in (_TYPE_FIELD, _MODULE_FIELD):
        if not consts.get(key):
            raise MappingDefinitionError(f"constants.ecs.{key} is required to name the Elasticsearch assets")
    fmt = _dataset_format(defn)
    datasets = {s: fmt.format(s) for s in _stream_values(defn)}
    for stream, ds in datasets.items():
        if "-" in ds or ds != ds.lower():
            raise MappingDefinitionError(f"dataset {ds!r} (stream {stream}) must be lower case without '-'")
    namespace = str(defn.settings.get("data_stream_namespace") or "default")
    return ElasticNames(str(consts[_TYPE_FIELD]), str(consts[_MODULE_FIELD]), datasets,
                        version or __version__, namespace)
