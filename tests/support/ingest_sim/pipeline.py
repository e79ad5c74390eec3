"""Pipelines, the pipeline store, execution and ``_ingest/pipeline/_simulate``.

Execution mirrors Elasticsearch's ``CompoundProcessor`` / ``IngestDocument#executePipeline``:

* a failing processor inside a compound is wrapped (``IngestProcessorException``)
  with the failing processor's type and tag (for a processor with ``if`` and no own
  ``on_failure`` that is type ``conditional``, as in Elasticsearch), unless the
  exception already carries them (inner failures keep their origin);
* ``ignore_failure`` continues with the next processor; otherwise the compound's
  ``on_failure`` processors run with ``_ingest.on_failure_message`` (root-cause
  message), ``_ingest.on_failure_processor_type``, ``_ingest.on_failure_processor_tag``
  and - for a failure inside a nested pipeline - ``_ingest.on_failure_pipeline`` set,
  then the metadata is removed and the compound ends (remaining processors of that
  compound are skipped);
* ``drop`` ends everything and the document is discarded; ``terminate`` ends the
  current pipeline only;
* ``_ingest.pipeline`` holds the running pipeline id; pipeline cycles fail with
  ``Cycle detected for pipeline: <id>``.

``simulate(body, docs, verbose)`` returns the exact response shape of the simulate API,
including the verbose ``processor_results`` (``processor_type``, ``status``, ``tag``,
``description``, ``if``, ``doc`` / ``error`` / ``ignored_error``) produced the way
``TrackingResultProcessor`` produces them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .document import Clock, IngestDocument, doc_to_xcontent, system_clock
from .errors import (
    IngestError,
    IngestProcessorException,
    ParseError,
    config_error,
    render_failure,
    unwrap,
)
from .processors import (
    CompoundProcessor,
    ConditionalProcessor,
    PipelineProcessor,
    Processor,
    read_processor_configs,
)

SIMULATED_PIPELINE_ID = "_simulate_pipeline"
MAX_PIPELINES = 100


class Pipeline:
    def __init__(self, pipeline_id: str, description: Optional[str], version: Optional[int],
                 compound: CompoundProcessor, meta: Optional[Dict[str, Any]] = None) -> None:
        self.id = pipeline_id
        self.description = description
        self.version = version
        self.compound = compound
        self.meta = meta

    @classmethod
    def create(cls, pipeline_id: str, config: Dict[str, Any]) -> Pipeline:
        """``Pipeline#create``: validates the body the way ``PUT _ingest/pipeline`` does."""
        if not isinstance(config, dict):
            raise config_error(None, None, None, "pipeline body must be an object")
        config = dict(config)
        description = config.pop("description", None)
        version = config.pop("version", None)
        meta = config.pop("_meta", None)
        config.pop("deprecated", None)
        config.pop("created_date_millis", None)
        config.pop("modified_date_millis", None)
        if "processors" not in config or config["processors"] is None:
            raise config_error(None, None, "processors", "required property is missing")
        proc_cfgs = config.pop("processors")
        if not isinstance(proc_cfgs, list):
            raise config_error(None, None, "processors",
                               f"property isn't a list, but of type [{type(proc_cfgs).__name__}]")
        processors = read_processor_configs(proc_cfgs)
        on_failure_cfgs = config.pop("on_failure", None)
        on_failure = read_processor_configs(on_failure_cfgs)
        if config:
            raise ParseError(f"pipeline [{pipeline_id}] doesn't support one or more provided "
                             f"configuration parameters [{', '.join(config.keys())}]")
        if on_failure_cfgs is not None and not on_failure:
            raise ParseError(f"pipeline [{pipeline_id}] cannot have an empty on_failure option defined")
        return cls(pipeline_id, description, version, CompoundProcessor(False, processors, on_failure), meta)


class PipelineStore:
    """In-memory ``PUT/GET/DELETE _ingest/pipeline`` storage."""

    def __init__(self) -> None:
        self.bodies: Dict[str, Dict[str, Any]] = {}
        self.pipelines: Dict[str, Pipeline] = {}

    def put(self, pipeline_id: str, body: Dict[str, Any]) -> Pipeline:
        pipeline = Pipeline.create(pipeline_id, body)
        self.bodies[pipeline_id] = body
        self.pipelines[pipeline_id] = pipeline
        return pipeline

    def get(self, pipeline_id: str) -> Optional[Pipeline]:
        return self.pipelines.get(pipeline_id)

    def delete(self, pipeline_id: str) -> bool:
        self.bodies.pop(pipeline_id, None)
        return self.pipelines.pop(pipeline_id, None) is not None


# ------------------------------------------------------------------------- execution


def _new_compound_exception(e: BaseException, processor: Processor, doc: IngestDocument) -> IngestProcessorException:
    if isinstance(e, IngestProcessorException) and "processor_type" in e.headers:
        return e
    ipe = IngestProcessorException(e)
    ipe.headers["processor_type"] = [processor.type]
    if processor.tag is not None:
        ipe.headers["processor_tag"] = [processor.tag]
    stack = doc.pipeline_stack()
    if len(stack) > 1:
        ipe.headers["pipeline_origin"] = stack
    return ipe


def _root_message(e: BaseException) -> Optional[str]:
    root = e.root_cause() if isinstance(e, IngestError) else e
    if isinstance(root, IngestError):
        return root.reason
    return str(root)


def _put_failure_metadata(doc: IngestDocument, cause: IngestProcessorException) -> None:
    doc.ingest["on_failure_message"] = _root_message(cause)
    doc.ingest["on_failure_processor_type"] = (cause.headers.get("processor_type") or [None])[0]
    doc.ingest["on_failure_processor_tag"] = (cause.headers.get("processor_tag") or [None])[0]
    origin = cause.headers.get("pipeline_origin")
    if origin:
        doc.ingest["on_failure_pipeline"] = origin[0]


def _remove_failure_metadata(doc: IngestDocument) -> None:
    for key in ("on_failure_message", "on_failure_processor_type", "on_failure_processor_tag",
                "on_failure_pipeline"):
        doc.ingest.pop(key, None)


class _Tracker:
    """Collects verbose ``processor_results`` (``TrackingResultProcessor``)."""

    def __init__(self) -> None:
        self.results: List[Dict[str, Any]] = []

    def add(self, processor: Processor, cond: Optional[Tuple[str, bool]], doc: Optional[IngestDocument] = None,
            error: Optional[BaseException] = None, force_status: Optional[str] = None) -> None:
        out: Dict[str, Any] = {}
        ptype = processor.type
        out["processor_type"] = ptype
        if cond is not None and not cond[1]:
            status = "skipped"
        elif error is not None:
            status = "error" if doc is None else "error_ignored"
        elif doc is None and ptype != "pipeline":
            status = "dropped"
        else:
            status = "success"
        out["status"] = force_status or status
        if processor.description is not None:
            out["description"] = processor.description
        if processor.tag is not None:
            out["tag"] = processor.tag
        if cond is not None:
            out["if"] = {"condition": cond[0], "result": cond[1]}
        if error is not None and doc is not None:
            out["ignored_error"] = {"error": render_failure(error)}
        elif error is not None:
            out["error"] = render_failure(error)
        if doc is not None:
            out["doc"] = doc_to_xcontent(doc)
        self.results.append(out)


class Runtime:
    """Executes pipelines against documents, with an optional verbose tracker."""

    def __init__(self, store: Optional[PipelineStore] = None, tracker: Optional[_Tracker] = None,
                 cycle_check: bool = True) -> None:
        self.store = store or PipelineStore()
        self.tracker = tracker
        self.cycle_check = cycle_check

    def get_pipeline(self, name: str) -> Optional[Pipeline]:
        return self.store.get(name)

    # -- pipelines

    def run_pipeline(self, pipeline: Pipeline, doc: IngestDocument) -> Optional[IngestDocument]:
        """``IngestDocument#executePipeline``."""
        if not pipeline.compound.processors and not pipeline.compound.on_failure:
            return doc
        if pipeline.id in doc.executed_pipelines:
            raise IngestError("graph_structure_exception", f"Cycle detected for pipeline: {pipeline.id}")
        if len(doc.executed_pipelines) >= MAX_PIPELINES:
            raise IngestError("graph_structure_exception",
                              f"Too many nested pipelines: cannot exceed {MAX_PIPELINES} pipelines")
        doc.executed_pipelines.append(pipeline.id)
        previous = doc.ingest.get("pipeline")
        doc.ingest["pipeline"] = pipeline.id
        try:
            return self.run_compound(pipeline.compound, doc, None)
        finally:
            doc.executed_pipelines.pop()
            if previous is not None:
                doc.ingest["pipeline"] = previous
            else:
                doc.ingest.pop("pipeline", None)
            doc.terminated = False

    # -- compounds

    def run_compound(self, compound: CompoundProcessor, doc: IngestDocument,
                     parent_cond: Optional[ConditionalProcessor]) -> Optional[IngestDocument]:
        for processor in compound.processors:
            if doc.terminated:
                return doc
            try:
                result = self._run_child(processor, doc, compound.ignore_failure, parent_cond)
            except IngestError as e:
                if compound.ignore_failure:
                    continue
                identity = self._identity(processor)
                wrapped = _new_compound_exception(e, identity, doc)
                if not compound.on_failure:
                    raise wrapped from None
                return self._run_on_failure(compound, doc, wrapped)
            if result is None:
                return None
            doc = result
        return doc

    def _identity(self, processor: Processor) -> Processor:
        """The processor whose type/tag a compound reports for a failure of ``processor``.

        In verbose mode Elasticsearch strips ``ConditionalProcessor`` wrappers while
        decorating, so the leaf reports its own type; otherwise it is ``conditional``.
        """
        if self.tracker is not None and isinstance(processor, ConditionalProcessor):
            return processor.inner
        return processor

    def _run_on_failure(self, compound: CompoundProcessor, doc: IngestDocument,
                        wrapped: IngestProcessorException) -> Optional[IngestDocument]:
        _put_failure_metadata(doc, wrapped)
        for processor in compound.on_failure:
            try:
                result = self._run_child(processor, doc, compound.ignore_failure, None)
            except IngestError as e2:
                _remove_failure_metadata(doc)
                raise _new_compound_exception(e2, self._identity(processor), doc) from None
            if result is None:
                _remove_failure_metadata(doc)
                return None
        _remove_failure_metadata(doc)
        return doc

    def _run_child(self, processor: Processor, doc: IngestDocument, ignore_failure: bool,
                   parent_cond: Optional[ConditionalProcessor]) -> Optional[IngestDocument]:
        if self.tracker is None:
            return self.run_plain(processor, doc)
        cond = parent_cond
        if isinstance(processor, ConditionalProcessor):
            cond = processor
            processor = processor.inner
        if isinstance(processor, CompoundProcessor):
            return self.run_compound(processor, doc, cond)
        return self._run_tracked(processor, doc, ignore_failure, cond)

    def run_plain(self, processor: Processor, doc: IngestDocument) -> Optional[IngestDocument]:
        """Execute without tracking (also used for ``foreach``'s inner processor)."""
        if isinstance(processor, ConditionalProcessor):
            if not processor.condition.evaluate(doc.ctx):
                return doc
            return self.run_plain(processor.inner, doc)
        if isinstance(processor, CompoundProcessor):
            plain = self if self.tracker is None else Runtime(self.store)
            return plain.run_compound(processor, doc, None)
        if self.tracker is not None:
            return processor.execute(doc, Runtime(self.store))
        return processor.execute(doc, self)

    # -- verbose tracking

    def _run_tracked(self, processor: Processor, doc: IngestDocument, ignore_failure: bool,
                     cond_proc: Optional[ConditionalProcessor]) -> Optional[IngestDocument]:
        tracker = self.tracker
        assert tracker is not None
        cond: Optional[Tuple[str, bool]] = None
        if cond_proc is not None:
            matched = cond_proc.condition.evaluate(doc.ctx)
            cond = (cond_proc.condition.source, matched)
            if not matched:
                tracker.add(processor, cond)
                return doc
        if isinstance(processor, PipelineProcessor):
            return self._run_tracked_pipeline(processor, doc, ignore_failure, cond)
        try:
            result = processor.execute(doc, Runtime(self.store))
        except IngestError as e:
            tracker.add(processor, cond, doc.copy() if ignore_failure else None, error=e)
            raise
        if result is None:
            tracker.add(processor, cond)
            return None
        tracker.add(processor, cond, result.copy())
        return result

    def _run_tracked_pipeline(self, processor: PipelineProcessor, doc: IngestDocument, ignore_failure: bool,
                              cond: Optional[Tuple[str, bool]]) -> Optional[IngestDocument]:
        tracker = self.tracker
        assert tracker is not None
        name = processor.pipeline_name(doc)
        pipeline = self.store.get(name)
        if pipeline is None:
            err = IngestError("illegal_argument_exception",
                              f"Pipeline processor configured for non-existent pipeline [{name}]")
            tracker.add(processor, cond, doc.copy() if processor.ignore_missing_pipeline else None, error=err)
            if processor.ignore_missing_pipeline:
                return doc
            raise err
        if self.cycle_check:
            try:
                Runtime(self.store).run_pipeline(pipeline, doc.copy())
            except IngestError as e:
                if isinstance(unwrap(e), IngestError) and unwrap(e).es_type == "graph_structure_exception":  # type: ignore[union-attr]
                    tracker.add(processor, cond, doc.copy() if ignore_failure else None, error=e)
                    raise
        tracker.add(processor, cond)  # the pipeline processor itself: status success, no doc
        nested = Runtime(self.store, tracker, cycle_check=False)
        return nested.run_pipeline(pipeline, doc)


# ------------------------------------------------------------------------- public helpers


def execute(pipeline: Pipeline, doc: IngestDocument, store: Optional[PipelineStore] = None) -> Optional[IngestDocument]:
    """Run ``pipeline`` on ``doc``; returns the document, ``None`` if dropped; raises on failure."""
    return Runtime(store).run_pipeline(pipeline, doc)


def _parse_sim_docs(docs: Any, clock: Clock) -> List[IngestDocument]:
    if not isinstance(docs, list):
        raise config_error(None, None, "docs", "required property is missing" if docs is None else
                           f"property isn't a list, but of type [{type(docs).__name__}]")
    if not docs:
        raise illegal_argument_empty()
    out = []
    for item in docs:
        if not isinstance(item, dict):
            raise config_error(None, None, None, "property isn't a map")
        if "_source" not in item or item["_source"] is None:
            raise config_error(None, None, "_source", "required property is missing")
        source = item["_source"]
        index = item.get("_index", "_index")
        doc_id = item.get("_id", "_id")
        extra = {k: item[k] for k in ("_if_seq_no", "_if_primary_term", "_dynamic_templates") if k in item}
        out.append(IngestDocument(
            dict(source), index=str(index), id=str(doc_id), version=item.get("_version", -3),
            routing=item.get("_routing"), version_type=item.get("_version_type"), extra_metadata=extra,
            clock=clock,
        ))
    return out


def illegal_argument_empty() -> IngestError:
    return config_error(None, None, "docs", "must specify at least one document in [docs]")


def simulate(
    pipeline_body: Optional[Dict[str, Any]],
    docs: Any,
    verbose: bool = False,
    *,
    store: Optional[PipelineStore] = None,
    pipeline_id: Optional[str] = None,
    clock: Clock = system_clock,
) -> Dict[str, Any]:
    """The ``_ingest/pipeline/_simulate`` response for ``docs`` (the request's ``docs`` list).

    ``pipeline_body`` is the inline pipeline; alternatively ``pipeline_id`` names a
    pipeline in ``store`` (``POST _ingest/pipeline/<id>/_simulate``). Configuration
    errors raise :class:`IngestError` (HTTP 400 in the API).
    """
    store = store or PipelineStore()
    if pipeline_id is not None:
        pipeline = store.get(pipeline_id)
        if pipeline is None:
            raise IngestError("illegal_argument_exception", f"pipeline [{pipeline_id}] does not exist")
    else:
        if pipeline_body is None:
            raise config_error(None, None, "pipeline", "required property is missing")
        if not isinstance(pipeline_body, dict):
            raise config_error(None, None, "pipeline", "property isn't a map")
        pipeline = Pipeline.create(SIMULATED_PIPELINE_ID, pipeline_body)
    documents = _parse_sim_docs(docs, clock)
    results: List[Any] = []
    for doc in documents:
        if verbose:
            tracker = _Tracker()
            try:
                Runtime(store, tracker).run_pipeline(pipeline, doc)
            except IngestError:
                pass
            results.append({"processor_results": tracker.results})
        else:
            try:
                result = Runtime(store).run_pipeline(pipeline, doc)
            except IngestError as e:
                results.append({"error": render_failure(e)})
                continue
            results.append(None if result is None else {"doc": doc_to_xcontent(result)})
    return {"docs": results}
