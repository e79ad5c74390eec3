"""Offline Elasticsearch ingest-pipeline simulator (test support).

Executes ingest pipelines with Elasticsearch's semantics, so the project's
pipelines can be proven without a cluster. Its fidelity is itself checked by
running Elasticsearch's own REST YAML tests (``yaml_runner``).

Entry points:

* :func:`simulate` - the ``_ingest/pipeline/_simulate`` response for a pipeline body and docs;
* :class:`Pipeline`, :class:`PipelineStore`, :func:`execute` - run pipelines directly;
* :class:`IngestDocument`, :func:`fixed_clock` - documents and a deterministic ``_ingest.timestamp``;
* :data:`REGISTRY` - implemented processors; :data:`NOT_IMPLEMENTED` - rejected at load time.
"""

from .conditions import Condition, ConditionSyntaxError, compile_condition
from .document import IngestDocument, IngestTimestamp, fixed_clock, system_clock
from .errors import IngestError, ParseError, UnsupportedBySimulator, error_response, render_failure
from .pipeline import SIMULATED_PIPELINE_ID, Pipeline, PipelineStore, Runtime, execute, simulate
from .processors import NOT_IMPLEMENTED, REGISTRY, fingerprint, murmur3_x64_128, read_processor

__all__ = [
    "NOT_IMPLEMENTED", "REGISTRY", "SIMULATED_PIPELINE_ID", "Condition", "ConditionSyntaxError", "IngestDocument",
    "IngestError", "IngestTimestamp", "ParseError", "Pipeline", "PipelineStore", "Runtime", "UnsupportedBySimulator",
    "compile_condition", "error_response", "execute", "fingerprint", "fixed_clock", "murmur3_x64_128",
    "read_processor", "render_failure", "simulate", "system_clock",
]
