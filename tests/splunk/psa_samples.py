"""Generate pytest-splunk-addon's requirement samples from the corpus and the Python CIM mapper.

    python -m tests.splunk.psa_samples            # rewrite the files below
    python -m tests.splunk.psa_samples --check    # exit 1 naming the stale files, write nothing

Writes ``splunk_app/tests/knowledge/pytest-splunk-addon-data.conf`` and one requirement
sample per sourcetype, ``splunk_app/tests/knowledge/samples/<sourcetype>.xml``, in the form
pytest-splunk-addon 6.4.0 reads (``requirement_test_sample = 1``; the XML is validated
against the plugin's ``sample_generation/schema.xsd``).

Each sample holds, for every (sourcetype, CIM dataset) pair the corpus produces, one raw
event taken verbatim from ``shared/corpus`` (a JSON line in the canonical PascalCase
shape, i.e. what the add-on's modular input writes and props.conf is written for), and:

* ``<models>``: every dataset the mapper routes that event to, spelled as pytest-splunk-addon
  names them (:data:`PSA_MODELS`);
* ``<cim_fields>``: ``Mapper.to_cim(event)`` without Splunk's own ``eventtype``/``tag``;
  multivalue fields go to ``<exceptions>`` (the requirement test compares single values);
* ``<missing_recommended_fields>``: the fields pytest-splunk-addon recommends for those
  models (``requirement_datamodel_fields_by_cim_version.json``, ``latest``: a dump of the
  plugin's ``CIM_Models/datamodel_definition.py``) that the mapper does not produce for
  the event. Each one must be a known gap: :data:`KNOWN_GAPS` of
  ``tests/mapping/test_corpus_mapping.py`` (fields the CIM data model JSON demands that
  KubeArmor cannot provide) or :data:`RECOMMENDED_NOT_PROVIDED` (fields only pytest-splunk-addon's
  recommended list asks for; the data model JSON does not demand them for our events).
  Anything else stops the generator: a mapping regression must not turn into a
  silently declared "missing" field.

The event chosen for a pair is the one that shows the most known gaps the plugin asks
about (so that, per dataset, the declared gaps cover every such entry of ``KNOWN_GAPS``),
then the fewest other missing fields, then the most CIM fields, real corpus before
synthetic, then corpus order. :func:`check_gaps` states the rules the tests assert.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple
from xml.sax.saxutils import escape, quoteattr

from integrations.events import parse_object
from integrations.mapping import Mapper, load_definition
from integrations.mapping.reference import CimReference
from integrations.model import ParsedEvent
from tests.conftest import CORPUS, CORPUS_JSONL, REFERENCE, REPO
from tests.mapping.test_corpus_mapping import KNOWN_GAPS
from tests.support.cim_validator import validate_cim_record

KNOWLEDGE = REPO / "splunk_app" / "tests" / "knowledge"
DATA_CONF = KNOWLEDGE / "pytest-splunk-addon-data.conf"
SAMPLES = KNOWLEDGE / "samples"

#: Delivery.stream -> sourcetype (integrations/splunk/modinput.py, cim-mapping.md section 5).
SOURCETYPES = {"alert": "accuknox:kubearmor:alert", "log": "accuknox:kubearmor:log"}

#: Our CIM dataset -> the ``<model>`` text pytest-splunk-addon 6.4.0 expects: ``Model`` or
#: ``Model:Dataset``; with ``:`` replaced by ``_`` it must be a key of the plugin's
#: ``dict_datamodel_tag`` (live ``test_datamodels``), and ``Model`` / ``Dataset`` select the
#: recommended field lists (offline ``test_cim_fields_recommended``).
PSA_MODELS = {
    "Alerts.Alerts": "Alerts",
    "Intrusion_Detection.IDS_Attacks": "Intrusion_Detection",
    "Endpoint.Processes": "Endpoint:Processes",
    "Endpoint.Filesystem": "Endpoint:Filesystem",
    "Network_Traffic.All_Traffic": "Network_Traffic",
}

#: CIM version of the samples: the plugin's default, ``latest`` (cim-mapping.md).
CIM_VERSION = "latest"

#: Fields pytest-splunk-addon 6.4.0 *recommends* for a dataset that KubeArmor never reports,
#: but that the CIM data model JSON does not demand for our events (optional, or conditional
#: on fields we do not have), which is why they are not in KNOWN_GAPS.
RECOMMENDED_NOT_PROVIDED: Dict[str, Dict[str, str]] = {
    "Network_Traffic.All_Traffic": {
        "bytes": "KubeArmor network events carry no byte counters",
        "bytes_in": "KubeArmor network events carry no byte counters",
        "bytes_out": "KubeArmor network events carry no byte counters",
        "packets": "KubeArmor network events carry no packet counters",
        "packets_in": "KubeArmor network events carry no packet counters",
        "packets_out": "KubeArmor network events carry no packet counters",
    },
    "Endpoint.Filesystem": {
        "file_acl": "KubeArmor reports the path accessed, never the file's ACL",
        "file_modify_time": "KubeArmor never reports file metadata (times, size)",
    },
}

_SECRET_KEY = re.compile(r"secret|token|passw|api_?key", re.I)
#: Not allowed in XML 1.0, or rejected by pytest-splunk-addon (zero-width characters).
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\u200b-\u200e\ufeff\u202c\u202d\u2062\u2063]")


class SampleError(Exception):
    """The samples cannot be generated as the rules demand; the message says why."""


@dataclass
class Candidate:
    location: str               # e.g. real/alerts-file.jsonl:3
    raw: str                    # the corpus line, verbatim
    stream: str                 # alert | log
    datasets: Tuple[str, ...]   # routed CIM datasets, definition order
    record: Dict[str, Any]      # Mapper.to_cim without eventtype/tag
    order: int                  # corpus order
    synthetic: bool             # from corpus/synthetic (invented), not corpus/real
    missing: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # dataset -> recommended, not produced


def recommended_fields(dataset: str, table: Optional[Mapping[str, Any]] = None) -> Set[str]:
    """What pytest-splunk-addon 6.4.0's ``splunk_dm_recommended_fields`` returns for our ``<model>`` text."""
    if table is None:
        table = json.loads((REFERENCE / "splunk-cim" / "requirement_datamodel_fields_by_cim_version.json").read_text())
    model, *datasets = PSA_MODELS[dataset].split(":")
    objects = table[CIM_VERSION].get(model, {})
    return {f for name, fields in objects.items() if name in ("BaseEvent", model, *datasets) for f in fields}


def _mapper() -> Mapper:
    # fixed ingestion clock: the output must not depend on when it was generated
    return Mapper(load_definition(), clock=lambda: ("2026-01-01T00:00:00.000000Z", 1767225600.0))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _canonical(raw: Dict[str, Any], fields: Mapping[str, Any]) -> bool:
    """The raw JSON already has the canonical keys: Splunk's KV_MODE=json sees what the mapper sees.

    Allowed differences: numbers given as strings (``"Severity": "1"``) and keys the parser
    drops because they are empty. Never a line with a credential-like key.
    """
    if any(_SECRET_KEY.search(k) for k in raw):
        return False
    for key, value in fields.items():
        if key not in raw or str(raw[key]) != str(value):
            return False
    return all(_empty(v) for k, v in raw.items() if k not in fields)


def candidates(mapper: Optional[Mapper] = None) -> List[Candidate]:
    """Every corpus JSON line usable as a requirement sample, with its routes and CIM record."""
    if mapper is None:
        return list(_default_candidates())
    return _candidates(mapper)


@functools.lru_cache(maxsize=1)
def _default_candidates() -> Tuple[Candidate, ...]:
    return tuple(_candidates(_mapper()))


def _candidates(mapper: Mapper) -> List[Candidate]:
    rec_table = json.loads((REFERENCE / "splunk-cim" / "requirement_datamodel_fields_by_cim_version.json").read_text())
    out = []
    for path in CORPUS_JSONL:
        rel = path.relative_to(CORPUS).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or _BAD_XML.search(line):
                continue
            raw = json.loads(line)
            items = parse_object(raw, f"{rel}:{n}")
            if not isinstance(raw, dict) or len(items) != 1 or not isinstance(items[0], ParsedEvent):
                continue
            ev = items[0]
            if not _canonical(raw, ev.fields):
                continue
            record = mapper.to_cim(ev)
            record.pop("eventtype", None)
            record.pop("tag", None)
            if any(_BAD_XML.search(str(v)) for v in record.values()):
                continue
            datasets = tuple(r.dataset for r in mapper.routes(ev.fields))
            unknown = [ds for ds in datasets if ds not in PSA_MODELS]
            if unknown:
                raise SampleError(f"{rel}:{n}: dataset(s) {unknown} have no pytest-splunk-addon model name; "
                                  "add them to PSA_MODELS")
            cand = Candidate(f"{rel}:{n}", line, mapper.stream(ev.fields), datasets, record,
                             order=len(out), synthetic=not rel.startswith("real/"))
            for ds in datasets:
                cand.missing[ds] = tuple(sorted(recommended_fields(ds, rec_table) - set(record)))
            out.append(cand)
    return out


def _score(c: Candidate, dataset: str) -> Tuple[int, int, bool, int, int]:
    missing = set(c.missing[dataset])
    gaps = missing & set(KNOWN_GAPS.get(dataset, ()))
    return (-len(gaps), len(missing - gaps), c.synthetic, -len(c.record), c.order)


def select(cands: Sequence[Candidate]) -> Dict[str, List[Candidate]]:
    """sourcetype -> the chosen events (one per dataset of that sourcetype, shared when the same event wins)."""
    pairs: Dict[Tuple[str, str], List[Candidate]] = defaultdict(list)
    for c in cands:
        for ds in c.datasets:
            pairs[(c.stream, ds)].append(c)
    chosen: Dict[str, List[Candidate]] = defaultdict(list)
    for (stream, ds), group in sorted(pairs.items(), key=lambda kv: (kv[0][0], list(PSA_MODELS).index(kv[0][1]))):
        best = min(group, key=lambda c: _score(c, ds))
        if best not in chosen[SOURCETYPES[stream]]:
            chosen[SOURCETYPES[stream]].append(best)
    return {st: sorted(events, key=lambda c: c.order) for st, events in sorted(chosen.items())}


def check_gaps(samples: Mapping[str, Sequence[Tuple[Sequence[str], Mapping[str, Any], Sequence[str]]]],
               cim: CimReference) -> List[str]:
    """Problems with the declared gaps of ``samples``: sourcetype -> [(datasets, cim record, missing fields)].

    * every declared missing field of a dataset is in KNOWN_GAPS or RECOMMENDED_NOT_PROVIDED;
    * a RECOMMENDED_NOT_PROVIDED field is not demanded by the CIM data model JSON for that
      event (else it belongs in KNOWN_GAPS) and the two tables do not overlap;
    * every KNOWN_GAPS field pytest-splunk-addon recommends, and every RECOMMENDED_NOT_PROVIDED
      field, is declared missing by some sample of its dataset (no stale or hidden entry);
    * each sample's record passes the CIM validator with exactly KNOWN_GAPS allowed missing.
    """
    problems = []
    declared: Dict[str, Set[str]] = defaultdict(set)
    seen_datasets: Set[str] = set()
    for ds, extra in RECOMMENDED_NOT_PROVIDED.items():
        overlap = set(extra) & set(KNOWN_GAPS.get(ds, ()))
        if overlap:
            problems.append(f"{ds}: {sorted(overlap)} in both KNOWN_GAPS and RECOMMENDED_NOT_PROVIDED")
    for st, events in samples.items():
        for datasets, record, missing in events:
            union_recommended = set().union(*(recommended_fields(ds) for ds in datasets))
            expected_missing = sorted(union_recommended - set(record))
            if sorted(missing) != expected_missing:
                problems.append(f"{st} {list(datasets)}: missing_recommended_fields {sorted(missing)} != "
                                f"recommended fields not in the record {expected_missing}")
            for ds in datasets:
                seen_datasets.add(ds)
                gaps = set(KNOWN_GAPS.get(ds, ()))
                extra = set(RECOMMENDED_NOT_PROVIDED.get(ds, {}))
                ds_missing = recommended_fields(ds) - set(record)
                declared[ds] |= ds_missing
                unexplained = sorted(ds_missing - gaps - extra)
                if unexplained:
                    problems.append(f"{st} [{ds}]: {unexplained} recommended by pytest-splunk-addon but not produced, "
                                    "and not a known gap (KNOWN_GAPS / RECOMMENDED_NOT_PROVIDED)")
                demanded = validate_cim_record(dict(record), ds, cim)
                for name in sorted(extra & ds_missing):
                    if any(p.startswith(f"{ds}: {name}: missing") for p in demanded):
                        problems.append(f"{st} [{ds}]: {name} is demanded by the data model JSON; "
                                        "it belongs in KNOWN_GAPS, not RECOMMENDED_NOT_PROVIDED")
                for p in validate_cim_record(dict(record), ds, cim, allow_missing=tuple(gaps)):
                    problems.append(f"{st}: {p}")
    for ds in sorted(seen_datasets):
        want = (set(KNOWN_GAPS.get(ds, ())) & recommended_fields(ds)) | set(RECOMMENDED_NOT_PROVIDED.get(ds, {}))
        hidden = sorted(want - declared[ds])
        if hidden:
            problems.append(f"{ds}: known gaps {hidden} are declared by no sample of this dataset")
    stale = sorted(set(RECOMMENDED_NOT_PROVIDED) - seen_datasets)
    if stale:
        problems.append(f"RECOMMENDED_NOT_PROVIDED names datasets without a sample: {stale}")
    return problems


# --------------------------------------------------------------------------- rendering

def _field(name: str, value: Any) -> str:
    return f"<field name={quoteattr(name)} value={quoteattr(str(value))}/>"


def _event_xml(c: Candidate, sourcetype: str) -> Tuple[str, List[str]]:
    models = [PSA_MODELS[ds] for ds in c.datasets]
    missing = sorted(set().union(*(set(c.missing[ds]) for ds in c.datasets)))
    single: List[Tuple[str, Any]] = []
    multi: List[Tuple[str, List[Any]]] = []
    for name, value in sorted(c.record.items()):
        if isinstance(value, (list, tuple)):
            if len(value) == 1:
                single.append((name, value[0]))
            else:
                multi.append((name, list(value)))
        else:
            single.append((name, value))
    fields = json.loads(c.raw)
    name = " ".join(str(fields.get(k)) for k in ("Type", "Operation") if fields.get(k)) or "event"
    lines = [
        f'  <event code={quoteattr(c.location)} name={quoteattr(name)} format="json">',
        f'    <transport type="modinput" sourcetype={quoteattr(sourcetype)}/>',
        "    <source>",
        f"      <comment>{escape(_provenance(c.location))}; routed to {', '.join(c.datasets)}</comment>",
        "    </source>",
        f"    <raw>{escape(c.raw)}</raw>",
        "    <cim>",
        "      <models>",
        *(f"        <model>{escape(m)}</model>" for m in models),
        "      </models>",
        "      <cim_fields>",
        *(f"        {_field(n, v)}" for n, v in single),
        "      </cim_fields>",
        "      <missing_recommended_fields>",
        *(f"        <field>{escape(m)}</field>" for m in missing),
        "      </missing_recommended_fields>",
    ]
    if multi:
        lines.append("      <exceptions>")
        for n, v in multi:
            reason = "multivalue field; the requirement test compares single values"
            lines.append(f"        <field name={quoteattr(n)} value={quoteattr(','.join(map(str, v)))} "
                         f"reason={quoteattr(reason)}/>")
        lines.append("      </exceptions>")
    lines += ["    </cim>", "  </event>"]
    return "\n".join(lines), missing


_PROVENANCE: Dict[str, str] = {}


def _provenance(location: str) -> str:
    if not _PROVENANCE:
        prov = CORPUS / "real" / "provenance.jsonl"
        for line in prov.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                _PROVENANCE[f"real/{rec['file']}:{rec['line']}"] = rec.get("url", "")
    url = _PROVENANCE.get(location)
    if url:
        return f"shared/corpus/{location}, from {url}"
    return f"shared/corpus/{location} (synthetic, invented edge case)"


HEADER = ("Generated by `python -m tests.splunk.psa_samples` from shared/corpus and the Python CIM mapper.\n"
          "Do not edit: change the mapping or the generator and re-run it.")


def render(cands: Optional[Sequence[Candidate]] = None) -> Dict[Path, str]:
    """The files to write: path -> text."""
    chosen = select(cands if cands is not None else candidates())
    files: Dict[Path, str] = {}
    conf = ["# " + line for line in HEADER.splitlines()]
    conf += ["# pytest-splunk-addon 6.4.0 sample configuration: one requirement sample per sourcetype",
             "# (samples/<stanza>); run with --splunk-data-generator=splunk_app/tests/knowledge.", ""]
    for sourcetype, events in chosen.items():
        sample = sourcetype.replace(":", "_") + ".xml"
        conf += [
            f"[{sample}]",
            f"sourcetype = {sourcetype}",
            "source = accuknox:psa_requirement_sample",
            "input_type = modinput",
            "host_type = plugin",
            "timestamp_type = plugin",
            "sample_count = 1",
            "requirement_test_sample = 1",
            "",
        ]
        body = ['<?xml version="1.0" encoding="UTF-8"?>', "<!--", *HEADER.splitlines(), "-->", "<device>",
                "  <vendor>AccuKnox</vendor>", "  <product>KubeArmor</product>",
                '  <version id="kubearmor-json-pascalcase"/>']
        for c in events:
            xml, _ = _event_xml(c, sourcetype)
            body.append(xml)
        body.append("</device>")
        files[SAMPLES / sample] = "\n".join(body) + "\n"
    files[DATA_CONF] = "\n".join(conf).rstrip("\n") + "\n"
    return files


def sample_gaps(cands: Optional[Sequence[Candidate]] = None) -> Dict[str, List[Tuple[Tuple[str, ...], Dict[str, Any],
                                                                                    List[str]]]]:
    """sourcetype -> [(datasets, record, declared missing)] of the chosen events (input of :func:`check_gaps`)."""
    chosen = select(cands if cands is not None else candidates())
    return {st: [(c.datasets, c.record, _event_xml(c, st)[1]) for c in events] for st, events in chosen.items()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.splunk.psa_samples", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only report stale files (exit 1), write nothing")
    args = p.parse_args(argv)
    cands = candidates()
    problems = check_gaps(sample_gaps(cands), CimReference.load(REFERENCE / "splunk-cim"))
    if problems:
        print("requirement samples violate the gap rules:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    files = render(cands)
    stale = [path for path, text in files.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
    extra = sorted(set(SAMPLES.glob("*.xml")) - set(files)) if SAMPLES.is_dir() else []
    if args.check:
        for path in [*stale, *extra]:
            print(f"stale: {path.relative_to(REPO)}")
        return 1 if stale or extra else 0
    for path in extra:
        path.unlink()
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
