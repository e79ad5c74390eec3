"""What a Splunk search head does with one event at search time, for our app (test support).

:class:`SearchTimeApp` loads an app's ``default/props.conf``, ``transforms.conf``,
``eventtypes.conf``, ``tags.conf`` and ``lookups/*.csv`` and runs an event's
``_raw`` through Splunk's search-time order of operations for its sourcetype:

1. ``REPORT-``/``EXTRACT-`` - not emitted by our renderer; their presence is an error;
2. automatic key/value extraction, ``KV_MODE = json`` (:func:`json_fields`);
3. ``FIELDALIAS-`` (``AS`` overwrites, ``ASNEW`` does not; a missing source does nothing);
4. ``EVAL-`` - every expression sees the same fields (none sees another's
   result); a null result removes the field;
5. ``LOOKUP-`` - CSV lookups, which may read ``EVAL`` results;
6. eventtypes (their searches see everything above) and their tags.

``KV_MODE = json`` as modelled: objects flatten to dotted names (``Owner.Name``),
arrays to ``name{}`` (multivalue, order kept), every value is text - numbers keep
their JSON spelling, booleans are ``true``/``false``. ASSUMPTIONS: a JSON
``null`` extracts nothing; an empty string extracts an empty value; a key that
collides case-insensitively with a Splunk default field (``source``, ``host``,
...) is renamed ``extracted_<Key>`` (AccuKnox's own app reads
``extracted_Source``) - ``collisions="keep"`` disables the renaming so tests can
show the mapping works either way.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import SplError
from .conf import Stanzas, parse_conf
from .evallang import Node, parse_eval, run_evals
from .search import Predicate, parse_search

#: Splunk default fields that an extracted key may not shadow (compared case-insensitively).
DEFAULT_FIELDS = frozenset({
    "host", "source", "sourcetype", "index", "splunk_server", "linecount", "punct",
    "timestartpos", "timeendpos", "eventtype", "tag", "_time", "_raw",
})
#: props.conf keys that only matter at index time (line breaking, timestamps) or are modelled by KV_MODE.
INDEX_TIME_KEYS = frozenset({
    "SHOULD_LINEMERGE", "LINE_BREAKER", "TRUNCATE", "TIME_PREFIX", "TIME_FORMAT",
    "MAX_TIMESTAMP_LOOKAHEAD", "TZ", "KV_MODE", "category", "description", "pulldown_type",
})


def _flatten(value: Any, name: str, out: Dict[str, List[str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{name}.{k}" if name else str(k), out)
    elif isinstance(value, list):
        for v in value:
            _flatten(v, f"{name}{{}}", out)
    elif value is None:
        return
    elif isinstance(value, bool):
        out.setdefault(name, []).append("true" if value else "false")
    else:
        out.setdefault(name, []).append(str(value))


def json_fields(raw: str, collisions: str = "rename") -> Dict[str, Any]:
    """Fields ``KV_MODE = json`` extracts from ``raw`` (text or list of texts per name)."""
    try:
        doc = json.loads(raw, parse_int=str, parse_float=str)
    except ValueError as exc:
        raise SplError(f"KV_MODE=json: the event is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise SplError("KV_MODE=json: the event is not a JSON object")
    flat: Dict[str, List[str]] = {}
    _flatten(doc, "", flat)
    out: Dict[str, Any] = {}
    for name, values in flat.items():
        if collisions == "rename" and name.lower() in DEFAULT_FIELDS:
            name = f"extracted_{name}"
        out[name] = values[0] if len(values) == 1 else values
    return out


def _field_list(text: str) -> List[str]:
    # tokens separated by whitespace; "quoted names" allowed
    out: List[str] = []
    token = ""
    quoted = False
    for c in text:
        if c == '"':
            quoted = not quoted
            continue
        if c.isspace() and not quoted:
            if token:
                out.append(token)
                token = ""
            continue
        token += c
    if quoted:
        raise SplError(f"unterminated quote in {text!r}")
    if token:
        out.append(token)
    return out


def parse_fieldalias(value: str) -> List[Tuple[str, str, bool]]:
    """``a AS b c ASNEW d`` -> ``[(a, b, overwrite), ...]``."""
    toks = _field_list(value)
    if len(toks) % 3:
        raise SplError(f"FIELDALIAS: cannot read {value!r}")
    out = []
    for i in range(0, len(toks), 3):
        src, kw, dst = toks[i:i + 3]
        if kw not in ("AS", "ASNEW"):
            raise SplError(f"FIELDALIAS: expected AS/ASNEW in {value!r}")
        out.append((src, dst, kw == "AS"))
    return out


class LookupSpec:
    """``LOOKUP-x = <table> <input> [AS <event_field>] OUTPUT|OUTPUTNEW <out> [AS <event_field>] ...``."""

    def __init__(self, value: str) -> None:
        toks = _field_list(value)
        if len(toks) < 4:
            raise SplError(f"LOOKUP: cannot read {value!r}")
        self.table = toks[0]
        try:
            out_at = next(i for i, t in enumerate(toks) if t in ("OUTPUT", "OUTPUTNEW"))
        except StopIteration:
            raise SplError(f"LOOKUP: no OUTPUT in {value!r}") from None
        self.overwrite = toks[out_at] == "OUTPUT"
        self.inputs = self._pairs(toks[1:out_at], value)
        self.outputs = self._pairs(toks[out_at + 1:], value)

    @staticmethod
    def _pairs(toks: List[str], value: str) -> List[Tuple[str, str]]:
        out: List[Tuple[str, str]] = []
        i = 0
        while i < len(toks):
            name = toks[i].rstrip(",")
            if i + 2 < len(toks) + 1 and i + 1 < len(toks) and toks[i + 1] == "AS":
                out.append((name, toks[i + 2].rstrip(",")))
                i += 3
            else:
                out.append((name, name))
                i += 1
        if not out:
            raise SplError(f"LOOKUP: empty field list in {value!r}")
        return out


class CsvLookup:
    """A file-based lookup table (``transforms.conf`` ``filename``, ``case_sensitive_match``)."""

    def __init__(self, text: str, case_sensitive: bool = True) -> None:
        rows = list(csv.DictReader(io.StringIO(text)))
        self.rows = rows
        self.case_sensitive = case_sensitive

    def find(self, keys: Mapping[str, str]) -> Optional[Dict[str, str]]:
        for row in self.rows:
            ok = True
            for col, val in keys.items():
                cell = row.get(col)
                if cell is None:
                    raise SplError(f"lookup: no column {col!r}")
                if (cell != val) if self.case_sensitive else (cell.lower() != val.lower()):
                    ok = False
                    break
            if ok:
                return row
        return None


class Sourcetype:
    """The search-time configuration of one props.conf stanza."""

    def __init__(self, name: str, keys: Mapping[str, str]) -> None:
        self.name = name
        self.kv_mode = keys.get("KV_MODE", "auto")
        self.aliases: List[Tuple[str, List[Tuple[str, str, bool]]]] = []
        self.evals: List[Tuple[str, Node]] = []
        self.eval_text: Dict[str, str] = {}
        self.lookups: List[Tuple[str, LookupSpec]] = []
        for key, value in keys.items():
            cls, _, suffix = key.partition("-")
            if cls == "FIELDALIAS":
                self.aliases.append((suffix, parse_fieldalias(value)))
            elif cls == "EVAL":
                self.evals.append((suffix, parse_eval(value)))
                self.eval_text[suffix] = value
            elif cls == "LOOKUP":
                self.lookups.append((suffix, LookupSpec(value)))
            elif cls in ("REPORT", "EXTRACT", "SEDCMD", "TRANSFORMS"):
                raise SplError(f"[{name}] {key}: not modelled (our renderer does not emit it)")
            elif key not in INDEX_TIME_KEYS:
                raise SplError(f"[{name}] {key}: unknown props.conf key")
        # Splunk applies aliases and lookups in key-name order
        self.aliases.sort(key=lambda kv: kv[0])
        self.lookups.sort(key=lambda kv: kv[0])
        if self.kv_mode != "json":
            raise SplError(f"[{name}] KV_MODE={self.kv_mode}: only json is modelled")


class SearchTimeApp:
    """An app's search-time knowledge objects, ready to process events."""

    def __init__(self, props: str, transforms: str, eventtypes: str, tags: str,
                 lookup_files: Mapping[str, str]) -> None:
        self.props: Stanzas = parse_conf(props, "props.conf")
        self.transforms: Stanzas = parse_conf(transforms, "transforms.conf")
        self.eventtypes_conf: Stanzas = parse_conf(eventtypes, "eventtypes.conf")
        self.tags_conf: Stanzas = parse_conf(tags, "tags.conf")
        self.sourcetypes = {name: Sourcetype(name, keys) for name, keys in self.props.items() if name != "default"}
        self.lookups: Dict[str, CsvLookup] = {}
        for name, keys in self.transforms.items():
            if "filename" in keys:
                fname = keys["filename"]
                if fname not in lookup_files:
                    raise SplError(f"transforms.conf [{name}]: lookup file {fname} not found")
                cs = keys.get("case_sensitive_match", "true").lower() not in ("false", "0")
                self.lookups[name] = CsvLookup(lookup_files[fname], cs)
        self.eventtypes: List[Tuple[str, Predicate]] = []
        for name, keys in self.eventtypes_conf.items():
            if "search" not in keys:
                raise SplError(f"eventtypes.conf [{name}]: no search")
            self.eventtypes.append((name, parse_search(keys["search"])))
        self.tags: Dict[str, List[str]] = {}
        for stanza, keys in self.tags_conf.items():
            kind, _, value = stanza.partition("=")
            if kind != "eventtype":
                raise SplError(f"tags.conf [{stanza}]: only eventtype=<name> stanzas are modelled")
            self.tags[value] = [t for t, state in keys.items() if state == "enabled"]

    @classmethod
    def from_dir(cls, app_dir: Path) -> SearchTimeApp:
        """Load ``<app>/default/*.conf`` and ``<app>/lookups/*.csv``."""
        default = app_dir / "default"

        def read(name: str) -> str:
            p = default / name
            return p.read_text(encoding="utf-8") if p.exists() else ""

        lookups = {p.name: p.read_text(encoding="utf-8") for p in sorted((app_dir / "lookups").glob("*.csv"))}
        return cls(read("props.conf"), read("transforms.conf"), read("eventtypes.conf"), read("tags.conf"), lookups)

    def process(self, raw: str, sourcetype: str, *, source: str = "accuknox", host: str = "splunk-test",
                collisions: str = "rename") -> Dict[str, Any]:
        """All search-time fields of one event (``eventtype`` and ``tag`` included)."""
        st = self.sourcetypes.get(sourcetype)
        if st is None:
            raise SplError(f"no props.conf stanza for sourcetype {sourcetype!r}")
        fields: Dict[str, Any] = {"_raw": raw, "sourcetype": sourcetype, "source": source, "host": host}
        for name, value in json_fields(raw, collisions).items():
            if name in fields:
                if collisions == "rename":
                    raise SplError(f"extracted field {name!r} shadows a default field")
            fields[name] = value
        for _name, pairs in st.aliases:
            for src, dst, overwrite in pairs:
                if fields.get(src) is not None and (overwrite or dst not in fields):
                    fields[dst] = fields[src]
        fields = run_evals(st.evals, fields)
        for name, spec in st.lookups:
            table = self.lookups.get(spec.table)
            if table is None:
                raise SplError(f"LOOKUP-{name}: no transforms.conf stanza {spec.table!r}")
            keys = {}
            for col, event_field in spec.inputs:
                v = fields.get(event_field)
                if v is None or isinstance(v, list):
                    keys = {}
                    break
                keys[col] = v
            if not keys:
                continue
            row = table.find(keys)
            if row is None:
                # our key expressions only produce keys the CSV holds; a miss is a renderer bug
                raise SplError(f"LOOKUP-{name}: no row for {keys!r}")
            for col, event_field in spec.outputs:
                if spec.overwrite or event_field not in fields:
                    if row.get(col, "") != "":
                        fields[event_field] = row[col]
        eventtypes = [name for name, pred in self.eventtypes if pred(fields)]
        tags: List[str] = []
        for et in eventtypes:
            for t in self.tags.get(et, []):
                if t not in tags:
                    tags.append(t)
        if eventtypes:
            fields["eventtype"] = eventtypes
        if tags:
            fields["tag"] = tags
        return fields
